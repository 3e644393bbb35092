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

"""An instance's FPGA region: programmed at build, erased at delete.

The fpga_hooks plug-ins call these two functions and nothing else, so the
rules live here, tested once for every Nova release.

A build burns its region (:func:`program_instance_region`), then saves it
on the instance (:func:`record_region`), before the driver spawns the
guest. Between the burn and the save, a region is programmed but no
instance records it yet. :data:`BUILDS` keeps those builds in view, so
that the reaping of orphaned regions (:mod:`nova_fpga.reconcile`) never
takes such a region for an orphan.
"""

import collections
import contextlib
import threading

from oslo_log import log as logging

from nova_fpga import conf as fpga_conf
from nova_fpga import exception
from nova_fpga import fpga_cli
from nova_fpga import specs

LOG = logging.getLogger(__name__)

# Nova copies every image property into the instance's system metadata
# under this prefix, so the image's properties are known without Glance.
IMAGE_PROPERTY_PREFIX = 'image_'


class BuildsInProgress(object):
    """The region programming builds running in this process, per host.

    A build is in progress from before its burn until its region is
    recorded on the instance (or erased again). The reaper takes a
    snapshot before it looks at the FPGA and reaps only if no build was in
    progress and none started or ended since (:meth:`reaping`), holding
    the lock while it erases so that no burn starts meanwhile: a vendor
    tool may hand out an erased region's id again.
    """

    def __init__(self):
        self._lock = threading.Lock()
        # (host, instance uuid) -> the region its burn returned, or None.
        self._builds = {}
        # host -> number of build starts and ends, ever.
        self._changes = collections.Counter()

    def begin(self, host, instance_uuid):
        with self._lock:
            self._builds[(host, instance_uuid)] = None
            self._changes[host] += 1

    def end(self, host, instance_uuid):
        """End the build; ending it again does nothing."""
        with self._lock:
            if self._builds.pop((host, instance_uuid), False) is not False:
                self._changes[host] += 1

    def record(self, host, instance_uuid, region_id):
        """Note the region a build got.

        Returns the uuid of another instance whose build on the host got
        the same region id, or None.
        """
        with self._lock:
            for (other_host, other_uuid), other_region in \
                    self._builds.items():
                if (other_host == host and other_uuid != instance_uuid
                        and other_region == region_id):
                    return other_uuid
            self._builds[(host, instance_uuid)] = region_id
        return None

    def snapshot(self, host):
        """An opaque marker of the host's builds, for :meth:`reaping`."""
        with self._lock:
            busy = any(build_host == host for build_host, _ in self._builds)
            return self._changes[host], busy

    @contextlib.contextmanager
    def reaping(self, host, snapshot):
        """Yield whether orphans seen since snapshot may be reaped now.

        True only when no build was in progress at the snapshot, and none
        started or ended since; the lock is held while the body runs.
        """
        changes, busy = snapshot
        with self._lock:
            yield not busy and self._changes[host] == changes


#: The builds of this process (one per nova-compute service).
BUILDS = BuildsInProgress()


def image_properties(instance):
    """The instance image's properties, from its system metadata."""
    system_metadata = getattr(instance, 'system_metadata', None) or {}
    return {key[len(IMAGE_PROPERTY_PREFIX):]: value
            for key, value in system_metadata.items()
            if key.startswith(IMAGE_PROPERTY_PREFIX)}


def requested_ip_id(instance, conf=None):
    """The IP core the instance asks for, or None."""
    conf = conf or fpga_conf.CONF
    return specs.get_ip_id(instance.flavor.extra_specs,
                           image_properties(instance),
                           conf.fpga.allow_image_ip_id)


def program_instance_region(instance, conf=None):
    """Burn the IP core the instance asks for; set instance.fpga_device.

    Returns the region id, or None when the instance asks for no IP core.
    Raises FpgaBuildFailed (a FatalHookException, so Nova stops the build
    and reschedules it) naming fpga-cli's error.

    The region is not saved on the instance yet (:func:`record_region`
    does that), and the build stays in :data:`BUILDS` until the caller
    calls :func:`end_build`, after releasing the region if the build
    failed.
    """
    conf = conf or fpga_conf.CONF
    try:
        ip_id = requested_ip_id(instance, conf)
        if ip_id is None:
            return None
        if not conf.fpga_access:
            raise exception.FpgaConfigError(
                'instance asks for IP core %s but this host has no FPGA '
                '(fpga_access is False)' % ip_id)
        client = fpga_cli.FpgaCli.from_conf(conf)
    except exception.FpgaError as e:
        raise exception.FpgaBuildFailed(
            'Cannot program an FPGA region: %s' % e.message)
    host = getattr(instance, 'host', None)
    BUILDS.begin(host, instance.uuid)
    try:
        try:
            region_id = client.burn(ip_id)
        except exception.FpgaError as e:
            # Short: an instance fault keeps 255 characters.
            raise exception.FpgaBuildFailed(
                'Cannot program an FPGA region: %s' % e.message)
        except Exception as e:
            # The hook facility ignores any other error: the instance
            # would start without its region.
            LOG.exception('fpga-cli burn %s failed unexpectedly', ip_id)
            raise exception.FpgaBuildFailed(
                'Cannot program an FPGA region: %s' % e)
        holder = BUILDS.record(host, instance.uuid, region_id)
        if holder is not None:
            # Not erased: that would take it from the build holding it.
            raise exception.FpgaBuildFailed(exception.RegionInUse(
                region_id, holder, instance.uuid).message)
    except BaseException:
        BUILDS.end(host, instance.uuid)
        raise
    LOG.info('Programmed FPGA region %(region)s with IP core %(ip)s '
             'for instance %(instance)s',
             {'region': region_id, 'ip': ip_id, 'instance': instance.uuid})
    instance.fpga_device = region_id
    return region_id


def record_region(instance):
    """Save the build's new region on its instance.

    Raises FpgaBuildFailed naming the region and the error; the region
    stays on the instance object, for the build's failure handling to
    erase.
    """
    try:
        instance.save()
    except Exception as e:
        raise exception.FpgaBuildFailed(
            'Cannot record FPGA region %s on instance %s: %s'
            % (instance.fpga_device, instance.uuid, e))


def end_build(instance):
    """End the instance's build in BUILDS (after any release)."""
    BUILDS.end(getattr(instance, 'host', None), instance.uuid)


def erase_instance_region(instance, conf=None):
    """Erase the instance's region, if it has one.

    Never raises: a failed erase is logged with the instance and the
    region, and must not block the delete.
    Returns whether a region was erased.
    """
    region_id = getattr(instance, 'fpga_device', None)
    if not region_id:
        return False
    return _erase(instance, region_id, conf or fpga_conf.CONF)


def _erase(instance, region_id, conf):
    try:
        fpga_cli.FpgaCli.from_conf(conf).erase(region_id)
    except exception.FpgaError as e:
        LOG.error('Cannot erase FPGA region %(region)s of instance '
                  '%(instance)s: %(error)s',
                  {'region': region_id, 'instance': instance.uuid,
                   'error': e.message})
        return False
    LOG.info('Erased FPGA region %(region)s of instance %(instance)s',
             {'region': region_id, 'instance': instance.uuid})
    return True
