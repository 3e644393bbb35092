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

"""FPGA IP-core packages: a zip holding a bitstream, extra files and
``manifest.json``.

The manifest (also stored as the Glance image property ``manifest``)::

    {
      "name": "lzo_compression",        # required, the IP core's name
      "version": "1.0.0",               # required
      "bitstream": "lzo.bit",           # required, file in the zip
      "sha256": "<64 hex digits>",      # required, sha256 of the bitstream
      "board": "simulated",             # optional, FPGA it is built for
      "vendor": "Example Corp",         # optional
      "description": "LZO compression", # optional
      "files": ["lzo-tools.tar"]        # optional, extra files in the zip
    }

A package is only ever read in memory, never extracted, but member names
that would escape an extraction directory are refused all the same: such
a package was built by mistake or with intent.
"""

import dataclasses
import hashlib
import io
import json
import posixpath
import re
import zipfile

from nova_fpga import exception

MANIFEST_NAME = 'manifest.json'
CONTAINER_FORMAT = 'fpga'
MANIFEST_PROPERTY = 'manifest'

_SHA256_RE = re.compile(r'[0-9a-f]{64}\Z')
_REQUIRED = ('name', 'version', 'bitstream', 'sha256')
_OPTIONAL_TEXT = ('board', 'vendor', 'description')


@dataclasses.dataclass(frozen=True)
class Manifest(object):
    name: str
    version: str
    bitstream: str
    sha256: str
    board: str = None
    vendor: str = None
    description: str = None
    files: tuple = ()

    def to_dict(self):
        data = {key: value for key, value in dataclasses.asdict(self).items()
                if value not in (None, ())}
        if self.files:
            data['files'] = list(self.files)
        return data


def parse_manifest(text, where='manifest'):
    """Parse and check a manifest.

    text is JSON text or an already decoded dict; where names it in errors.
    """
    if isinstance(text, (str, bytes)):
        try:
            data = json.loads(text)
        except ValueError as e:
            raise exception.InvalidIpPackage(
                '%s is not valid JSON: %s' % (where, e))
    else:
        data = text
    if not isinstance(data, dict):
        raise exception.InvalidIpPackage(
            '%s must be a JSON object, got %r' % (where, data))
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise exception.InvalidIpPackage(
            '%s lacks the field(s) %s' % (where, ', '.join(missing)))
    for key in _REQUIRED + _OPTIONAL_TEXT:
        value = data.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            raise exception.InvalidIpPackage(
                '%s field %r must be a non-empty string, got %r'
                % (where, key, value))
    if not _SHA256_RE.match(data['sha256']):
        raise exception.InvalidIpPackage(
            '%s field sha256 %r is not 64 lower-case hex digits'
            % (where, data['sha256']))
    files = data.get('files', [])
    if (not isinstance(files, list)
            or not all(isinstance(f, str) and f for f in files)):
        raise exception.InvalidIpPackage(
            '%s field files must be a list of file names, got %r'
            % (where, files))
    for member in [data['bitstream']] + files:
        _check_member_name(member, where)
    return Manifest(files=tuple(files),
                    **{key: data.get(key) for key in
                       _REQUIRED + _OPTIONAL_TEXT})


def _check_member_name(name, where):
    normalized = posixpath.normpath(name)
    if (name.startswith('/') or '\\' in name or normalized == '..'
            or normalized.startswith('../') or ':' in name.split('/')[0]):
        raise exception.InvalidIpPackage(
            '%s names %r, which escapes the package directory'
            % (where, name))


@dataclasses.dataclass(frozen=True)
class IpPackage(object):
    manifest: Manifest
    bitstream: bytes

    @classmethod
    def from_bytes(cls, data, where='package'):
        """Open a package and verify it.

        Checks: safe member names, a manifest, every listed file present,
        the bitstream matching its sha256.
        """
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as e:
            raise exception.InvalidIpPackage(
                '%s is not a zip archive: %s' % (where, e))
        with archive:
            names = archive.namelist()
            for name in names:
                _check_member_name(name, where)
            if MANIFEST_NAME not in names:
                raise exception.InvalidIpPackage(
                    '%s has no %s' % (where, MANIFEST_NAME))
            manifest = parse_manifest(
                _read(archive, MANIFEST_NAME, where),
                where='%s %s' % (where, MANIFEST_NAME))
            for name in (manifest.bitstream,) + manifest.files:
                if name not in names:
                    raise exception.InvalidIpPackage(
                        '%s lacks %r, which its manifest lists'
                        % (where, name))
            bitstream = _read(archive, manifest.bitstream, where)
        digest = hashlib.sha256(bitstream).hexdigest()
        if digest != manifest.sha256:
            raise exception.InvalidIpPackage(
                '%s bitstream %r has sha256 %s, but its manifest says %s'
                % (where, manifest.bitstream, digest, manifest.sha256))
        return cls(manifest, bitstream)


def _read(archive, name, where):
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise exception.InvalidIpPackage(
            '%s member %r cannot be read: %s' % (where, name, e))


def verify_image(image, data):
    """Check a Glance image is a usable IP core; return its IpPackage.

    ``image`` has ``id``, ``container_format`` and ``properties``; ``data``
    is the image's content.
    """
    where = 'image %s' % image.id
    if image.container_format != CONTAINER_FORMAT:
        raise exception.InvalidIpPackage(
            '%s has container format %r, not %r'
            % (where, image.container_format, CONTAINER_FORMAT))
    package = IpPackage.from_bytes(data, where=where)
    stored = image.properties.get(MANIFEST_PROPERTY)
    if stored is not None:
        declared = parse_manifest(
            stored, where='%s property %s' % (where, MANIFEST_PROPERTY))
        if declared != package.manifest:
            raise exception.InvalidIpPackage(
                '%s property %s does not match the package\'s %s'
                % (where, MANIFEST_PROPERTY, MANIFEST_NAME))
    return package


def build_package(bitstream, name, version, bitstream_name='bitstream.bit',
                  extra_files=None, **optional):
    """Return (zip bytes, Manifest) of a package holding bitstream.

    extra_files maps file names in the package to their content;
    optional holds board, vendor and description.
    """
    extra_files = extra_files or {}
    manifest = Manifest(name=name, version=version,
                        bitstream=bitstream_name,
                        sha256=hashlib.sha256(bitstream).hexdigest(),
                        files=tuple(sorted(extra_files)), **optional)
    parse_manifest(manifest.to_dict())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST_NAME,
                         json.dumps(manifest.to_dict(), indent=2,
                                    sort_keys=True) + '\n')
        archive.writestr(bitstream_name, bitstream)
        for file_name, content in sorted(extra_files.items()):
            archive.writestr(file_name, content)
    return buffer.getvalue(), manifest
