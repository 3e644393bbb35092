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

"""Which Nova is installed, and which patch file was made for it.

A Nova from PyPI (a virtualenv, a container image) is known by the version
in its ``nova-<version>.dist-info`` (or ``.egg-info``) next to the package
and gets ``nova-<version>.patch``. A distribution's package (Debian's
``python3-nova`` in ``/usr/lib/python3/dist-packages``) may carry the
distribution's own changes, so it gets a patch of its own, named after the
distribution release: ``debian_12-nova-26.2.2.patch``. dpkg says whether
the package belongs to such a package and what its version is.
"""

import dataclasses
import glob
import importlib.metadata
import importlib.util
import os
import pathlib
import re
import shutil
import sys

from oslo_concurrency import processutils
from oslo_log import log as logging

from nova_fpga.patching import exception

LOG = logging.getLogger(__name__)

#: The nova package came from PyPI (or any Python installer).
PYTHON_DIST = 'python'
#: The nova package belongs to a dpkg package (Debian, Ubuntu).
DPKG = 'dpkg'

_OS_RELEASE_FILES = ('/etc/os-release', '/usr/lib/os-release')
# Debian's stable updates and backports name the release they were built
# for in the package revision: 1~deb12u5, 1+deb12u1, 1~bpo11+1.
_DEBIAN_RELEASE_IN_REVISION = re.compile(r'[~+](?:deb|bpo)(\d+)')


def patch_file_name(version, packaging=PYTHON_DIST, os_release=None):
    """Return the name of the patch file made for a Nova release.

    :param version: the version as its packaging spells it: ``34.0.0`` for
        a Python distribution, ``2:26.2.2-1~deb12u5`` for a dpkg package.
    :param packaging: :data:`PYTHON_DIST` or :data:`DPKG`.
    :param os_release: the fields of os-release(5), used for a dpkg package
        whose revision does not say which release it was built for.
    :raises NovaVersionUnknown: when the distribution release of a dpkg
        package cannot be told.
    """
    if packaging == PYTHON_DIST:
        return 'nova-%s.patch' % version
    upstream, revision = _split_dpkg_version(version)
    debian_release = _DEBIAN_RELEASE_IN_REVISION.search(revision)
    if debian_release:
        distro = 'debian_%s' % debian_release.group(1)
    elif os_release and os_release.get('ID') and os_release.get(
            'VERSION_ID'):
        distro = '%s_%s' % (os_release['ID'], os_release['VERSION_ID'])
    else:
        raise exception.NovaVersionUnknown(
            'cannot tell which distribution release the nova package %s '
            'was built for: its revision does not say and os-release names '
            'none' % version)
    return '%s-nova-%s.patch' % (distro, upstream)


def _split_dpkg_version(version):
    """Split ``[epoch:]upstream[-revision]`` into upstream and revision."""
    without_epoch = version.split(':', 1)[-1] if ':' in version else version
    upstream, _sep, revision = without_epoch.rpartition('-')
    if not upstream:
        # A native package has no revision.
        return without_epoch, ''
    return upstream, revision


@dataclasses.dataclass(frozen=True)
class NovaInstall:
    """An installed nova package."""

    #: The directory that holds the ``nova`` package: ``patch -p1`` runs
    #: here.
    nova_dir: str
    #: The version as its packaging spells it (see :func:`patch_file_name`).
    package_version: str
    #: :data:`PYTHON_DIST` or :data:`DPKG`.
    packaging: str
    #: What the version was read from, for messages.
    version_source: str
    #: os-release(5) fields, for naming the patch of a dpkg package.
    os_release: dict = dataclasses.field(default_factory=dict)

    @property
    def patch_file_name(self):
        return patch_file_name(self.package_version, self.packaging,
                               self.os_release)

    def describe(self):
        return 'Nova %s (%s) in %s' % (self.package_version,
                                       self.version_source, self.nova_dir)


def find_nova_install(nova_dir=None):
    """Find the nova package and read its version.

    :param nova_dir: the directory holding the ``nova`` package; by default
        the one ``import nova`` loads in the interpreter running this code.
    :raises NovaNotFound: when there is no nova package there.
    :raises NovaVersionUnknown: when its version cannot be read.
    """
    if nova_dir is None:
        nova_dir = _imported_nova_dir()
    else:
        nova_dir = os.path.abspath(nova_dir)
        if not os.path.isfile(os.path.join(nova_dir, 'nova', '__init__.py')):
            raise exception.NovaNotFound(
                'there is no nova package in %s (no %s); --nova-dir names '
                'the directory that holds the nova package, for example a '
                'site-packages directory'
                % (nova_dir, os.path.join(nova_dir, 'nova', '__init__.py')))
    package = dpkg_package_of(os.path.join(nova_dir, 'nova', '__init__.py'))
    if package is not None:
        name, version = package
        return NovaInstall(nova_dir=nova_dir, package_version=version,
                           packaging=DPKG,
                           version_source='dpkg package %s' % name,
                           os_release=read_os_release())
    version, source = _python_dist_version(nova_dir)
    return NovaInstall(nova_dir=nova_dir, package_version=version,
                       packaging=PYTHON_DIST, version_source=source)


def _imported_nova_dir():
    # find_spec locates the package the way "import nova" would without
    # running Nova's __init__ (which patches eventlet).
    spec = importlib.util.find_spec('nova')
    if spec is None or not spec.origin or not os.path.isfile(spec.origin):
        raise exception.NovaNotFound(
            'this Python (%s) cannot import a nova package; run the tool with '
            'the Python that runs Nova, or name the directory holding the '
            'nova package with --nova-dir' % sys.executable)
    return os.path.dirname(os.path.dirname(os.path.abspath(spec.origin)))


def _python_dist_version(nova_dir):
    """Read the version from nova's dist-info or egg-info in ``nova_dir``."""
    found = {}
    for pattern in ('*.dist-info', '*.egg-info'):
        for metadata_dir in sorted(glob.glob(os.path.join(nova_dir, pattern))):
            dist = importlib.metadata.PathDistribution(
                pathlib.Path(metadata_dir))
            if (dist.metadata['Name'] or '').lower() == 'nova':
                found[os.path.basename(metadata_dir)] = dist.version
    if not found:
        raise exception.NovaVersionUnknown(
            'found the nova package in %s but no nova-*.dist-info or '
            'nova-*.egg-info next to it, so its version is unknown; install '
            'Nova with pip or the distribution packages' % nova_dir)
    if len(set(found.values())) > 1:
        raise exception.NovaVersionUnknown(
            'the package metadata in %s names several nova versions (%s); '
            'remove the stale ones'
            % (nova_dir, ', '.join(sorted(found))))
    source, version = next(iter(found.items()))
    return version, source


def dpkg_package_of(path):
    """Return (package, version) of the dpkg package owning ``path``.

    Returns None where there is no dpkg or no package owns the file (pip
    installs, virtualenvs).
    """
    if shutil.which('dpkg-query') is None:
        return None
    try:
        out, _err = processutils.execute('dpkg-query', '--search', path)
    except processutils.ProcessExecutionError:
        return None
    package = None
    for line in out.splitlines():
        # "python3-nova: /usr/lib/python3/dist-packages/nova/__init__.py";
        # diversion lines look different and are skipped.
        packages, sep, owned = line.partition(': ')
        if sep and owned == path and not packages.startswith('diversion'):
            # Several packages may share a path; the first is enough, and
            # an architecture qualifier is not part of the name.
            package = packages.split(',')[0].strip().split(':')[0]
            break
    if package is None:
        return None
    try:
        version, _err = processutils.execute(
            'dpkg-query', '--show', '--showformat=${Version}', package)
    except processutils.ProcessExecutionError as error:
        raise exception.NovaVersionUnknown(
            'dpkg says %s belongs to the package %s, but cannot give its '
            'version: %s' % (path, package, error.stderr.strip()))
    LOG.debug('%s belongs to the dpkg package %s %s', path, package, version)
    return package, version.strip()


def read_os_release():
    """Return the fields of os-release(5), or an empty dict."""
    for candidate in _OS_RELEASE_FILES:
        try:
            with open(candidate, encoding='utf-8') as os_release:
                return parse_os_release(os_release.read())
        except OSError:
            continue
    return {}


def parse_os_release(text):
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition('=')
        if sep and key and not key.startswith('#'):
            fields[key] = value.strip().strip('"\'')
    return fields
