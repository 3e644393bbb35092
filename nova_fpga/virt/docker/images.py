# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Glance images (``docker save`` archives) loaded into the daemon.

An image with container format ``docker`` is downloaded from Glance
through Nova's image API, loaded into the daemon once, and tagged
``glance-image:<glance image id>``: that tag is the cache. A later boot of
the same image finds the tag and downloads nothing; every use tags the
image again, so that the tag's time (``LastTagTime``) is its last use,
which is what the image cache pass ages unused images by.

The archive's own names (``RepoTags`` of ``manifest.json``, the legacy
``repositories`` file, OCI image-name annotations) are removed before
loading: an image uploaded by a tenant must never replace the meaning of
a name on the compute host, say ``debian:latest`` or an image another
service runs.
"""

import io
import json
import os
import re
import tarfile
import tempfile

from docker import errors as docker_errors
from nova import exception as nova_exception
from oslo_concurrency import lockutils
from oslo_log import log as logging
from oslo_utils import timeutils
from oslo_utils import units
from oslo_utils import uuidutils

from nova_fpga.virt.docker import exception

LOG = logging.getLogger(__name__)

IMAGE_REPOSITORY = 'glance-image'
CONTAINER_FORMAT = 'docker'

_MANIFEST = 'manifest.json'
_LEGACY_NAMES = 'repositories'
_OCI_INDEX = 'index.json'
_OCI_NAME_ANNOTATIONS = ('io.containerd.image.name',
                         'org.opencontainers.image.ref.name')
_LOADED_ID_RE = re.compile(r'^Loaded image ID: (\S+)')
#: Largest manifest.json or index.json read into memory: a real one lists
#: one image in a few hundred bytes.
MAX_INDEX_BYTES = units.Mi


def cache_reference(image_id):
    """The daemon's name for the cached copy of a Glance image."""
    return '%s:%s' % (IMAGE_REPOSITORY, image_id)


def _unacceptable(image_id, reason):
    return nova_exception.ImageUnacceptable(image_id=image_id, reason=reason)


def _member_name(member):
    return os.path.normpath(member.name)


def _nameless_manifest(image_id, data):
    """manifest.json without image names; exactly one image required."""
    try:
        manifest = json.loads(data)
    except ValueError as e:
        raise _unacceptable(image_id, 'its %s is not JSON: %s'
                            % (_MANIFEST, e))
    if (not isinstance(manifest, list)
            or not all(isinstance(entry, dict) and 'Config' in entry
                       for entry in manifest)):
        raise _unacceptable(image_id, 'its %s does not list images'
                            % _MANIFEST)
    if len(manifest) != 1:
        raise _unacceptable(
            image_id, 'it holds %d images; an instance image must hold '
                      'exactly one (docker save one image)' % len(manifest))
    for entry in manifest:
        entry['RepoTags'] = None
    return json.dumps(manifest).encode()


def _nameless_oci_index(data):
    try:
        index = json.loads(data)
    except ValueError:
        # Only newer daemons read it, and they validate it themselves.
        return data
    for descriptor in (index.get('manifests') or []
                       if isinstance(index, dict) else []):
        annotations = (descriptor.get('annotations')
                       if isinstance(descriptor, dict) else None)
        if isinstance(annotations, dict):
            for key in _OCI_NAME_ANNOTATIONS:
                annotations.pop(key, None)
    return json.dumps(index).encode()


def write_nameless_archive(image_id, source_path, target_path):
    """Copy a docker save archive (tar, maybe compressed), minus names.

    Raises ImageUnacceptable naming the image when the archive is not a
    readable ``docker save`` archive of one image.
    """
    try:
        with tarfile.open(source_path, 'r:*') as source:
            members = {_member_name(member): member
                       for member in source.getmembers()}
            if _MANIFEST not in members:
                raise _unacceptable(
                    image_id, 'it is not a docker save archive (no %s)'
                    % _MANIFEST)
            for name in (_MANIFEST, _OCI_INDEX):
                if name in members and members[name].size > MAX_INDEX_BYTES:
                    raise _unacceptable(
                        image_id, 'its %s is larger than %d bytes'
                        % (name, MAX_INDEX_BYTES))
            replaced = {
                _MANIFEST: _nameless_manifest(
                    image_id, source.extractfile(members[_MANIFEST]).read()),
            }
            if _OCI_INDEX in members and members[_OCI_INDEX].isfile():
                replaced[_OCI_INDEX] = _nameless_oci_index(
                    source.extractfile(members[_OCI_INDEX]).read())
            with tarfile.open(target_path, 'w') as target:
                for member in source.getmembers():
                    name = _member_name(member)
                    if name == _LEGACY_NAMES:
                        continue
                    if name in replaced:
                        info = tarfile.TarInfo(member.name)
                        info.size = len(replaced[name])
                        info.mtime = member.mtime
                        info.mode = member.mode
                        target.addfile(info, io.BytesIO(replaced[name]))
                    elif member.isfile():
                        target.addfile(member, source.extractfile(member))
                    else:
                        target.addfile(member)
    except (tarfile.TarError, EOFError) as e:
        raise _unacceptable(image_id, 'it is not a readable tar archive '
                            '(%s)' % (e or type(e).__name__))


def _last_use(image):
    stamp = (image.attrs.get('Metadata') or {}).get('LastTagTime')
    if not stamp or stamp.startswith('0001-'):
        stamp = image.attrs.get('Created')
    try:
        return timeutils.normalize_time(timeutils.parse_isotime(stamp))
    except (ValueError, TypeError):
        return None


class ImageCache(object):
    """Glance images in one daemon, by Glance image id.

    :param daemon: a :class:`nova_fpga.virt.docker.daemon.DockerDaemon`
    :param image_api: Nova's image API (``nova.image.glance.API()``)
    :param download_dir: where archives are downloaded (None: TMPDIR)
    """

    def __init__(self, daemon, image_api, download_dir=None):
        self._daemon = daemon
        self._image_api = image_api
        self._download_dir = download_dir

    def cached(self, image_id):
        """The daemon's image for a Glance image id, or None."""
        client = self._daemon.client
        try:
            with self._daemon.calling('look up image %s' % image_id):
                return client.images.get(cache_reference(image_id))
        except docker_errors.NotFound:
            return None

    def ensure(self, context, image_id, container_format=None):
        """Load the image unless cached; return (docker image id, loaded).

        :param container_format: the image's container format when the
            caller knows it (an instance's image metadata); a cached image
            is used only when it is ``docker``.
        """
        if not uuidutils.is_uuid_like(image_id):
            raise _unacceptable(image_id, 'it is not a Glance image id')
        if container_format is not None and \
                container_format != CONTAINER_FORMAT:
            raise self._wrong_format(image_id, container_format)
        with lockutils.lock('nova-fpga-docker-image-%s' % image_id):
            image = self.cached(image_id)
            if image is not None:
                self._tag(image.id, image_id)
                LOG.debug('Image %(image)s is cached as %(docker_id)s',
                          {'image': image_id, 'docker_id': image.id})
                return image.id, False
            return self._load(context, image_id), True

    def _wrong_format(self, image_id, container_format):
        return _unacceptable(
            image_id, "its container format is %r; the Docker driver boots "
                      "only images with container format %r (a docker save "
                      "archive)" % (container_format, CONTAINER_FORMAT))

    def _load(self, context, image_id):
        record = self._image_api.get(context, image_id)
        if record.get('container_format') != CONTAINER_FORMAT:
            raise self._wrong_format(image_id,
                                     record.get('container_format'))
        if self._download_dir:
            os.makedirs(self._download_dir, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix='glance-image-',
                                         dir=self._download_dir) as work:
            downloaded = os.path.join(work, 'downloaded.tar')
            nameless = os.path.join(work, 'image.tar')
            LOG.info('Downloading image %(image)s (%(name)s) from Glance',
                     {'image': image_id, 'name': record.get('name')})
            self._image_api.download(context, image_id,
                                     dest_path=downloaded)
            write_nameless_archive(image_id, downloaded, nameless)
            os.unlink(downloaded)
            docker_id = self._load_archive(image_id, nameless)
        self._tag(docker_id, image_id)
        LOG.info('Loaded image %(image)s into the Docker daemon as '
                 '%(docker_id)s',
                 {'image': image_id, 'docker_id': docker_id})
        return docker_id

    def _load_archive(self, image_id, path):
        client = self._daemon.client
        loaded = []
        try:
            with open(path, 'rb') as archive, \
                    self._daemon.calling('load image %s' % image_id):
                for progress in client.api.load_image(archive):
                    if 'errorDetail' in progress:
                        raise _unacceptable(
                            image_id, 'the Docker daemon cannot load it: %s'
                            % progress['errorDetail'].get('message'))
                    match = _LOADED_ID_RE.match(progress.get('stream', ''))
                    if match:
                        loaded.append(match.group(1))
        except exception.DockerApiError as e:
            raise _unacceptable(image_id, 'the Docker daemon cannot load '
                                'it: %s' % e.explanation)
        if len(loaded) != 1:
            raise _unacceptable(
                image_id, 'the Docker daemon loaded %d images from it, '
                          'expected one' % len(loaded))
        return loaded[0]

    def _tag(self, docker_id, image_id):
        client = self._daemon.client
        with self._daemon.calling('tag image %s' % image_id):
            client.api.tag(docker_id, IMAGE_REPOSITORY, tag=image_id,
                           force=True)

    def remove(self, image_id):
        """Forget a cached image unless a container uses it.

        Returns whether it was removed.
        """
        client = self._daemon.client
        try:
            with self._daemon.calling('remove image %s' % image_id):
                client.images.remove(cache_reference(image_id))
        except docker_errors.NotFound:
            return False
        except exception.DockerApiError as e:
            if e.status_code != 409:
                raise
            # 409: a container was made from it.
            LOG.debug('Keeping cached image %(image)s: %(reason)s',
                      {'image': image_id, 'reason': e.explanation})
            return False
        LOG.info('Removed cached image %s from the Docker daemon', image_id)
        return True

    def cached_image_ids(self):
        """{Glance image id: docker Image} of every cached image."""
        client = self._daemon.client
        with self._daemon.calling('list cached images'):
            images = client.images.list(name=IMAGE_REPOSITORY)
        cached = {}
        prefix = IMAGE_REPOSITORY + ':'
        for image in images:
            for tag in image.tags:
                if tag.startswith(prefix):
                    cached[tag[len(prefix):]] = image
        return cached

    def remove_unused(self, min_age_seconds, in_use):
        """Remove cached images unused for at least min_age_seconds.

        :param in_use: Glance ids of the images containers on the daemon
            (whichever compute service made them) were made from; they
            are kept.
        :returns: the Glance ids of the removed images
        """
        now = timeutils.utcnow()
        removed = []
        for image_id, image in sorted(self.cached_image_ids().items()):
            if image_id in in_use:
                continue
            last_use = _last_use(image)
            if last_use is not None and \
                    (now - last_use).total_seconds() < min_age_seconds:
                continue
            if self.remove(image_id):
                removed.append(image_id)
        return removed
