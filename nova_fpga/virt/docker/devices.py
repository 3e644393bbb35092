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

"""Which host devices a container gets.

A container gets:

* the device of its instance's own FPGA region (``fpga_device``, the
  region id ``fpga-cli burn`` printed), when that id is a device path;
* each entry of the image property ``docker_devices`` (comma-separated
  absolute paths) that ``[docker] allowed_devices`` allows.

An FPGA region's device is never passed unless it is the instance's own
region, whatever the image asks for and whatever the allowlist says. A
device is a region's when

1. its path, as written or with symlinks resolved, matches
   ``[docker] fpga_device_patterns`` (``/dev/fpga*`` for the reference
   fpga-cli), or is the region of another container on the daemon (the
   driver labels every container with its region, whichever compute
   service created it); or
2. it is the same device node (type and device numbers) as one of those
   region devices present on the host.

``docker_devices`` entries of kind 1 are how images of the 2016 design
asked for "the FPGA" (``/dev/fpga0,/dev/fpga1,...``): they are served by
the instance's own region and otherwise dropped, except an entry naming
the very region of another container, which fails the build. An allowed
entry of kind 2 only (another name for a region's device node) fails the
build too.

Entries are refused when they are not plain absolute paths: docker's
``host:container[:permissions]`` mapping syntax, ``..`` components and
non-normalized paths would let an image choose a host path the allowlist
never saw. Directories are refused too (docker would pass every device
below one).

This module needs neither Nova nor Docker; the driver maps its errors to
Nova's.
"""

import collections
import fnmatch
import glob
import os
import stat

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

#: What a container may do with a device: read, write, mknod (cgroup).
CGROUP_PERMISSIONS = 'rwm'


class DeviceRequestError(Exception):
    """A device cannot be given to the container; names the device."""

    def __init__(self, device, reason):
        super().__init__('device %s %s' % (device, reason))
        self.device = device
        self.reason = reason


class DeviceNotAllowed(DeviceRequestError):
    """The image asks for a device the host's policy refuses."""


class MalformedDeviceRequest(DeviceRequestError):
    """A docker_devices entry is not a plain absolute path."""


class DeviceUnavailable(DeviceRequestError):
    """A device that may be passed is not usable on this host."""


DeviceMapping = collections.namedtuple(
    'DeviceMapping', 'path_on_host path_in_container')


def parse_docker_devices(value):
    """The entries of a docker_devices property, in order, without repeats.

    None or an empty string means no device.
    """
    entries = []
    for entry in (value or '').split(','):
        entry = entry.strip()
        if entry and entry not in entries:
            entries.append(entry)
    return entries


def path_matches(path, pattern):
    """Whether a path matches a glob pattern, one component at a time.

    ``*``, ``?`` and ``[...]`` never match ``/``, as in a shell; this is
    also what ``glob.glob`` finds on the host for the same pattern.
    """
    path_parts = path.split('/')
    pattern_parts = pattern.split('/')
    if len(path_parts) != len(pattern_parts):
        return False
    return all(fnmatch.fnmatchcase(part, pattern_part)
               for part, pattern_part in zip(path_parts, pattern_parts))


def matches_any(path, patterns):
    return any(path_matches(path, pattern) for pattern in patterns)


def check_plain_path(entry):
    """Raise MalformedDeviceRequest unless entry is a plain absolute path."""
    if ':' in entry:
        raise MalformedDeviceRequest(
            entry, "uses the host:container mapping syntax, which is not "
                   "allowed: name the host device only; it appears at the "
                   "same path in the container")
    if not entry.startswith('/'):
        raise MalformedDeviceRequest(entry, 'is not an absolute path')
    if '..' in entry.split('/'):
        raise MalformedDeviceRequest(entry, "has a '..' component")
    if os.path.normpath(entry) != entry or entry.startswith('//'):
        raise MalformedDeviceRequest(
            entry, 'is not a normalized path (%s)' % os.path.normpath(entry))


def _stat(path):
    """os.stat of path (following symlinks), or None if it is missing."""
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _device_number(status):
    """(type, device numbers) of a device node's stat, else None."""
    if status is None:
        return None
    if stat.S_ISCHR(status.st_mode) or stat.S_ISBLK(status.st_mode):
        return (stat.S_IFMT(status.st_mode), status.st_rdev)
    return None


class DevicePolicy(object):
    """Decides the devices of one container.

    :param allowed_patterns: ``[docker] allowed_devices``
    :param region_patterns: ``[docker] fpga_device_patterns``
    """

    def __init__(self, allowed_patterns, region_patterns):
        self.allowed_patterns = list(allowed_patterns or [])
        self.region_patterns = list(region_patterns or [])

    def is_region_path(self, path, other_regions):
        """Whether a path names a region's device (rule 1)."""
        return (matches_any(path, self.region_patterns)
                or path in other_regions)

    def plan(self, own_region, requested, other_regions):
        """The device mappings of a container.

        :param own_region: the instance's ``fpga_device`` (or None)
        :param requested: the image's docker_devices entries
        :param other_regions: region ids of the containers of other
            instances on the daemon
        :returns: a list of :class:`DeviceMapping`
        :raises: DeviceRequestError subclasses naming the device
        """
        other_regions = set(other_regions)
        if own_region and own_region in other_regions:
            raise DeviceUnavailable(
                own_region, 'is the FPGA region of this instance but also '
                            'of another container on the Docker daemon')
        mappings = []
        own_path = self._own_region_path(own_region)
        if own_path:
            mappings.append(DeviceMapping(own_path, own_path))
        region_numbers = None
        for entry in requested:
            check_plain_path(entry)
            if entry == own_path:
                continue
            if entry in other_regions:
                # Not a 2016-style "the FPGA" (/dev/fpga0): the very region
                # another instance holds.
                raise DeviceNotAllowed(
                    entry, 'is the FPGA region of another instance')
            if self.is_region_path(entry, other_regions):
                LOG.info('Not passing %(entry)s: it names an FPGA region '
                         'device, and a container gets only its own '
                         'region (%(own)s)',
                         {'entry': entry, 'own': own_path or 'none'})
                continue
            if not matches_any(entry, self.allowed_patterns):
                raise DeviceNotAllowed(
                    entry, 'is not allowed on this host ([docker] '
                           'allowed_devices = %s)'
                           % (','.join(self.allowed_patterns) or '(empty)'))
            resolved = os.path.realpath(entry)
            status = _stat(resolved)
            if status is None:
                raise DeviceUnavailable(entry, 'does not exist on this host')
            number = _device_number(status)
            if number is None:
                raise DeviceNotAllowed(
                    entry, 'is not a device node (%s)'
                           % ('a directory' if stat.S_ISDIR(status.st_mode)
                              else 'a regular or special file'))
            if resolved == own_path:
                continue
            if resolved in other_regions:
                raise DeviceNotAllowed(
                    entry, 'is a link to %s, the FPGA region of another '
                           'instance' % resolved)
            if self.is_region_path(resolved, other_regions):
                LOG.info('Not passing %(entry)s: it is a link to the FPGA '
                         'region device %(resolved)s',
                         {'entry': entry, 'resolved': resolved})
                continue
            if region_numbers is None:
                region_numbers = self._region_device_numbers(
                    own_path, other_regions)
            if number in region_numbers:
                raise DeviceNotAllowed(
                    entry, 'is the same device node as FPGA region %s, '
                           'which belongs to another instance'
                           % region_numbers[number])
            mapping = DeviceMapping(resolved, entry)
            if mapping not in mappings:
                mappings.append(mapping)
        return mappings

    def _own_region_path(self, own_region):
        """The instance's region device path, or None when it has none."""
        if not own_region or not own_region.startswith('/'):
            # No region, or a vendor's region id that is not a device
            # path: there is nothing to pass.
            return None
        try:
            check_plain_path(own_region)
        except MalformedDeviceRequest as e:
            raise DeviceUnavailable(
                own_region, 'is the FPGA region of this instance but %s'
                % e.reason)
        if _device_number(_stat(own_region)) is None:
            raise DeviceUnavailable(
                own_region, 'is the FPGA region of this instance but not a '
                            'device node on this host')
        return own_region

    def _region_device_numbers(self, own_path, other_regions):
        """{device number: region path} of the other regions present."""
        paths = set(other_regions)
        for pattern in self.region_patterns:
            paths.update(glob.glob(pattern))
        paths.discard(own_path)
        numbers = {}
        for path in sorted(paths):
            number = _device_number(_stat(path))
            if number is not None:
                numbers.setdefault(number, path)
        return numbers


def docker_device_dicts(mappings):
    """The mappings in the form of the Docker API's HostConfig.Devices.

    Dicts rather than docker's "host:container:permissions" strings: a
    region id may contain ':'.
    """
    return [{'PathOnHost': mapping.path_on_host,
             'PathInContainer': mapping.path_in_container,
             'CgroupPermissions': CGROUP_PERMISSIONS}
            for mapping in mappings]
