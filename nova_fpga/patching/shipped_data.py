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

"""The patch files and the rootwrap filter file shipped with nova_fpga.

An installed nova_fpga carries them as data files below the installation
prefix (``<prefix>/share/nova_fpga/patches/*.patch`` and
``<prefix>/etc/nova/rootwrap.d/fpga.filters``). Run from a source checkout
(or an editable install of one), the checkout's own ``patches/`` and
``etc/nova/rootwrap.d/`` are used instead, so that a patch being worked on
is the one applied.
"""

import dataclasses
import os
import re
import site
import sys
import sysconfig

import nova_fpga
from nova_fpga.patching import exception

PATCHES_DIR = os.path.join('share', 'nova_fpga', 'patches')
FILTERS_FILE_NAME = 'fpga.filters'
FILTERS_FILE = os.path.join('etc', 'nova', 'rootwrap.d', FILTERS_FILE_NAME)

# What patch_file_name() produces: nova-34.0.0.patch,
# debian_12-nova-26.2.2.patch.
_PATCH_FILE_NAME = re.compile(
    r'^(?:(?P<distro>[A-Za-z0-9.]+_[A-Za-z0-9.]+)-)?nova-(?P<version>.+)'
    r'\.patch$')


def checkout_root():
    """Return the source checkout nova_fpga runs from, or None."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(
        nova_fpga.__file__)))
    if (os.path.isfile(os.path.join(root, 'setup.cfg'))
            and os.path.isdir(os.path.join(root, 'patches'))):
        return root
    return None


def install_prefixes():
    """Return the prefixes pip may have put nova_fpga's data files under."""
    prefixes = []
    # The default scheme's data path is sys.prefix in a virtualenv and
    # /usr/local for a system-wide pip install on Debian; --user installs
    # go below the user base.
    for prefix in (sysconfig.get_path('data'), sys.prefix, site.USER_BASE):
        if prefix and prefix not in prefixes:
            prefixes.append(prefix)
    return prefixes


def candidates(relative_path, checkout_relative_path):
    """Return where a shipped file may be, the checkout first."""
    found = []
    root = checkout_root()
    if root is not None:
        found.append(os.path.join(root, checkout_relative_path))
    found.extend(os.path.join(prefix, relative_path)
                 for prefix in install_prefixes())
    return found


def find_patches_dir():
    """Return the directory of the shipped patch files."""
    tried = candidates(PATCHES_DIR, 'patches')
    for path in tried:
        if os.path.isdir(path):
            return path
    raise exception.ShippedDataNotFound(
        'cannot find the patch files of nova_fpga (looked in %s); '
        'reinstall nova_fpga or name the directory with --patches-dir'
        % ', '.join(tried))


def find_filters_file():
    """Return the shipped rootwrap filter file for fpga-cli."""
    tried = candidates(FILTERS_FILE, FILTERS_FILE)
    for path in tried:
        if os.path.isfile(path):
            return path
    raise exception.ShippedDataNotFound(
        'cannot find the rootwrap filter file %s of nova_fpga (looked in '
        '%s); reinstall nova_fpga or name the file with --filters-file'
        % (FILTERS_FILE_NAME, ', '.join(tried)))


@dataclasses.dataclass(frozen=True)
class SupportedRelease:
    """A Nova release a patch file exists for."""

    file_name: str
    version: str
    distro: str | None

    @property
    def description(self):
        if self.distro:
            return '%s (%s package)' % (self.version, self.distro)
        return self.version


def _version_key(release):
    # Numeric parts compare as numbers, so 34.0.0 sorts after 4.0.0.
    return (release.distro or '',
            [(0, int(part), '') if part.isdigit() else (1, 0, part)
             for part in re.split(r'[.~+-]', release.version)])


def supported_releases(patches_dir):
    """Return the releases ``patches_dir`` holds patch files for."""
    releases = []
    try:
        names = os.listdir(patches_dir)
    except OSError:
        return releases
    for name in names:
        match = _PATCH_FILE_NAME.match(name)
        if match and os.path.isfile(os.path.join(patches_dir, name)):
            releases.append(SupportedRelease(
                file_name=name, version=match.group('version'),
                distro=match.group('distro')))
    return sorted(releases, key=_version_key)
