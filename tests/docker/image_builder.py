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

"""Docker images for the tests, built without a registry.

A root file system holding Debian's statically linked busybox is imported
into the test daemon (``docker import``) and written out as a ``docker
save`` archive, the form images take in Glance.
"""

import io
import shutil
import tarfile

BUSYBOX_CANDIDATES = ('/bin/busybox', '/usr/bin/busybox')
APPLETS = ('sh', 'sleep', 'cat', 'head', 'wc', 'echo', 'test', 'true',
           'hostname', 'ls', 'od', 'env')


def busybox_path():
    for candidate in BUSYBOX_CANDIDATES:
        if shutil.which(candidate):
            return candidate
    raise RuntimeError("busybox not found: install Debian's busybox-static "
                       "(the docker tox environment does)")


def root_file_system(extra_files=None):
    """A tar (bytes) of a root file system: busybox, its applets, /tmp."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode='w') as root:
        root.add(busybox_path(), arcname='bin/busybox')
        for applet in APPLETS:
            link = tarfile.TarInfo('bin/' + applet)
            link.type = tarfile.SYMTYPE
            link.linkname = 'busybox'
            root.addfile(link)
        for directory in ('tmp', 'dev', 'proc', 'sys', 'data'):
            info = tarfile.TarInfo(directory)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if directory == 'tmp' else 0o755
            root.addfile(info)
        for name, content in sorted((extra_files or {}).items()):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            root.addfile(info, io.BytesIO(content))
    return data.getvalue()


def build_image(client, reference, changes=(), extra_files=None):
    """Import a busybox root file system as reference; return its id."""
    repository, tag = reference.rsplit(':', 1)
    client.api.import_image_from_data(
        root_file_system(extra_files), repository=repository, tag=tag,
        changes=list(changes))
    return client.images.get(reference).id


def save_archive(client, reference):
    """``docker save reference`` as bytes (names included)."""
    return b''.join(client.api.get_image(reference))


def build_archive(client, reference, changes=(), extra_files=None):
    """Build an image, save it, and take it out of the daemon again.

    The daemon is left as it was, so that the driver loads the archive
    for real. Returns the archive (bytes).
    """
    build_image(client, reference, changes, extra_files)
    try:
        return save_archive(client, reference)
    finally:
        client.images.remove(reference)
