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

"""The compute manager's hook points: ``build_instance``, ``delete_instance``.

The patched ``nova.compute.manager`` calls:

* ``build_instance_hooks(context, instance)`` around ``driver.spawn``,
  after the resource claim: the ``build_instance`` pre-hooks (fpga_hooks
  burns the region and sets ``instance.fpga_device``) run before the
  guest is spawned, the post-hooks after it. When anything fails after a
  region was burned, the region is erased before Nova reschedules, so the
  host leaks nothing. Before any hook runs, what must never be burned is
  refused (:func:`check_before_burn`); after them, beside the spawn, a
  region another instance of the host holds is refused, and the region
  is saved on the instance (:func:`nova_fpga.regions.start_recording`).
* ``hook_failed_on_last_host(exc, host_list)`` when a build
  is about to be rescheduled: a build hook, the Docker driver's daemon,
  or a device the driver refused, that failed on the last host with no
  alternate left ends the build on the compute host, with its message
  as the instance fault, instead of the conductor's generic "Exhausted
  all hosts" fault.
* ``run_delete_instance_hooks(context, instance)`` once the driver
  destroyed the guest: the ``delete_instance`` hooks (fpga_hooks erases
  the region). They never block a delete.
"""

import contextlib
import functools
import threading

from nova import exception as nova_exception
from nova.image import glance as nova_glance
from nova import objects
from oslo_log import log as logging

from nova_fpga import conf as fpga_conf
from nova_fpga import exception
from nova_fpga import hooks
from nova_fpga import image_trust
from nova_fpga.nova import resource_tracker
from nova_fpga import regions
from nova_fpga import specs
from nova_fpga.virt.docker import exception as docker_exception

LOG = logging.getLogger(__name__)

# Failures that end a build on the last host with their own message as
# the fault: a build hook's, the Docker driver's daemon being away, and a
# device the driver will not pass (another container holds it).
_BUILD_ENDING_FAILURES = (
    hooks.FatalHookException,
    docker_exception.DockerUnavailable,
    docker_exception.DockerApiError,
    docker_exception.DeviceUnavailable,
)


@hooks.add_hook('build_instance')
def _build_instance_hook_point(context=None, instance=None):
    """Nothing of its own: the build_instance hooks run around this call."""


@hooks.add_hook('delete_instance')
def _delete_instance_hook_point(context=None, instance=None):
    """Nothing of its own: the delete_instance hooks run around this call."""


@contextlib.contextmanager
def build_instance_hooks(context, instance):
    """Run the build_instance hooks around the body (the driver's spawn).

    A FatalHookException from a hook propagates, so that Nova's build
    error handling reschedules the build (with the hook's message as the
    reason). The region a hook programmed is checked (no other instance
    of the host may hold it) and saved on the instance beside the body;
    the Docker driver waits for that before it starts the container, and
    this before it returns. Any failure erases the region, and stores the
    host's region counts before this returns. After a build that
    succeeded, a thread of its own stores them.
    """
    recording = None
    try:
        try:
            check_before_burn(context, instance)
            _build_instance_hook_point(context=context, instance=instance)
            if _region_of(instance):
                recording = regions.start_recording(
                    instance, functools.partial(
                        _refuse_region_held_by_another, context))
            yield
            if recording is not None:
                recording.wait()
        finally:
            # Before the region is released: never erase it mid-save.
            regions.stop_recording(instance)
    except Exception:
        if release_region_of_failed_build(instance):
            resource_tracker.refresh_region_counts(context, instance)
        raise
    finally:
        regions.end_build(instance)
    if _region_of(instance):
        # Not waited for: storing the counts (an fpga-cli status, the
        # resource tracker's lock, a compute node read and save) takes
        # about as long as the rest of the FPGA work of a boot, and
        # beside the spawn it still competes with it for the CPU.
        # Placement, not these counts, keeps builds off a used region:
        # FpgaFilter may only count the new region as free a moment
        # longer. A delete, which frees one, stores them before it ends.
        threading.Thread(target=resource_tracker.refresh_region_counts,
                         args=(context, instance), daemon=True).start()


def check_before_burn(context, instance, conf=None):
    """Refuse what an FPGA build must not burn, before anything is.

    Raises what Nova's build ends with, without trying other hosts (the
    same request fails on every host), naming the bad value:

    * ImageUnacceptable: the instance's image asks for an IP core but
      images may not choose one (``[fpga] allow_image_ip_id``);
    * InvalidInput: hw:fpga_ip_id is not an image UUID;
    * ImageUnacceptable: the IP-core image is missing, not visible to the
      request, not an ``fpga`` package, or its owner is not trusted
      (:mod:`nova_fpga.image_trust`).
    """
    conf = conf or fpga_conf.CONF
    extra_specs = instance.flavor.extra_specs
    properties = regions.image_properties(instance)
    refused = specs.refused_image_ip_id(extra_specs, properties,
                                        conf.fpga.allow_image_ip_id)
    if refused is not None:
        error = exception.ImageIpIdNotAllowed(instance.image_ref, refused)
        raise nova_exception.ImageUnacceptable(
            image_id=instance.image_ref, reason=error.reason)
    try:
        ip_id = regions.requested_ip_id(instance, conf)
    except exception.InvalidFpgaIpId as e:
        raise nova_exception.InvalidInput(reason=e.message)
    if (ip_id is None or not conf.fpga_access
            or image_trust.trusts_every_owner(
                conf.fpga.trusted_image_owners)):
        return
    try:
        image = nova_glance.API().get(context, ip_id)
    except (nova_exception.ImageNotFound,
            nova_exception.ImageNotAuthorized):
        raise nova_exception.ImageUnacceptable(
            image_id=ip_id, reason='no such FPGA IP core (hw:fpga_ip_id) '
            'in Glance for project %s' % context.project_id)
    try:
        image_trust.check_burnable(ip_id, image,
                                   conf.fpga.trusted_image_owners,
                                   context.project_id, context.is_admin)
    except exception.UnusableFpgaImage as e:
        raise nova_exception.ImageUnacceptable(image_id=ip_id,
                                               reason=e.reason)


def _refuse_region_held_by_another(context, instance):
    """Refuse a region another live instance of the host holds.

    fpga-cli never hands out a region in use, but a vendor tool that
    reuses regions could get it wrong: the region is then left to its
    holder, not erased, and the build fails.
    """
    region_id = _region_of(instance)
    for other in objects.InstanceList.get_by_host(
            context.elevated(), instance.host, expected_attrs=[]):
        if other.uuid != instance.uuid and other.fpga_device == region_id:
            # Never saved on this instance: forgetting it is enough.
            instance.fpga_device = None
            raise exception.FpgaBuildFailed(exception.RegionInUse(
                region_id, other.uuid, instance.uuid).message)


def release_region_of_failed_build(instance):
    """Erase the region of a build that failed, and forget it.

    An fpga-cli may hand the same region id to a later burn, so a failed
    instance must not keep one: deleting it later would erase another
    instance's region. Returns the region id released, or None.
    """
    # Only a host with FPGA access programs regions for its builds.
    region_id = _region_of(instance)
    if not fpga_conf.CONF.fpga_access or not region_id:
        return None
    if not regions.erase_instance_region(instance):
        LOG.error('FPGA region %(region)s stays programmed after the failed '
                  'build of instance %(instance)s; the reaping of orphaned '
                  'regions erases it once fpga-cli can',
                  {'region': region_id, 'instance': instance.uuid})
    instance.fpga_device = None
    try:
        instance.save()
    except Exception:
        # The build error handling saves the instance again; losing this
        # save only matters if the instance itself is gone.
        LOG.warning('Could not save instance %s after erasing its FPGA '
                    'region of a failed build', instance.uuid, exc_info=True)
    return region_id


def _region_of(instance):
    if not instance.obj_attr_is_set('fpga_device'):
        return None
    return instance.fpga_device


def hook_failed_on_last_host(exc, host_list):
    """Whether a failed build should end here instead of rescheduling.

    :param exc: the RescheduledException the build raised; Nova raised it
        while handling the original error, which is its ``__context__``.
    :param host_list: the alternate hosts the conductor sent along (None
        from a conductor that sends none: let the conductor decide).
    """
    if host_list is None or len(host_list) > 0:
        return False
    return isinstance(exc.__context__, _BUILD_ENDING_FAILURES)


def run_delete_instance_hooks(context, instance):
    """Run the delete_instance hooks; log, never raise."""
    had_region = _region_of(instance)
    try:
        _delete_instance_hook_point(context=context, instance=instance)
    except Exception:
        LOG.exception('delete_instance hooks failed for instance %s; '
                      'the delete goes on', instance.uuid)
    if had_region:
        resource_tracker.refresh_region_counts(context, instance)
