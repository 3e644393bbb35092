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

* ``claimed_build(context, instance)`` around the build, right after the
  resource claim: for an instance that names an IP core, what must be
  done before its spawn (:func:`prepare_region`: refuse what must never
  be burned, run the ``build_instance`` hooks, with fpga_hooks' burn,
  refuse a region another instance of the host holds, save the region
  on the instance) starts at once, in a thread of its own, while
  nova-compute readies the network and the block devices. A build that
  fails before its spawn erases the region there.
* ``build_instance_hooks(context, instance)`` around ``driver.spawn``: it
  waits for that work and hands the region to the instance, so the
  driver has it. When anything fails after a region was burned, the
  region is erased before Nova reschedules, so the host leaks nothing.
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

from nova import exception as nova_exception
from nova.image import glance as nova_glance
from nova import objects
from oslo_log import log as logging

from nova_fpga import background
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


# instance uuid -> the RegionPreparation of its build, from the claim until
# the spawn takes it over.
_PREPARATIONS = {}


class RegionPreparation(object):
    """:func:`prepare_region` on a copy of the instance, in a thread.

    Meanwhile nova-compute goes on with the build and saves the instance
    itself: the thread must not change the object Nova saves. The hooks
    see the copy, which saves the region alone; only the region is handed
    to the instance.
    """

    def __init__(self, context, instance):
        self._copy = instance.obj_clone()
        # Its save writes the region, and nothing Nova's build changed.
        self._copy.obj_reset_changes(recursive=True)
        self._call = background.BackgroundCall(
            prepare_region, context, self._copy, log_context=context)

    def start(self):
        self._call.start()
        return self

    def hand_over(self, instance):
        """Wait; give the instance the region burned; raise what failed.

        The region handed over is the one to erase should the build fail:
        saved on the instance, or not when saving it failed.
        """
        try:
            self._call.wait()
        finally:
            region_id = _region_of(self._copy)
            if region_id:
                instance.fpga_device = region_id
                if 'fpga_device' not in self._copy.obj_what_changed():
                    instance.obj_reset_changes(['fpga_device'])


@contextlib.contextmanager
def claimed_build(context, instance):
    """Prepare the instance's region while Nova readies the rest.

    Entered right after the resource claim, which set the instance's host.
    The spawn (:func:`build_instance_hooks`) takes the preparation over;
    a build that fails before it releases what the preparation burned.
    """
    if _names_ip_core(instance):
        _PREPARATIONS[instance.uuid] = RegionPreparation(
            context, instance).start()
    try:
        yield
    finally:
        preparation = _PREPARATIONS.pop(instance.uuid, None)
        if preparation is not None:
            try:
                try:
                    preparation.hand_over(instance)
                except Exception as e:
                    LOG.info('FPGA preparation of instance %(instance)s, '
                             'whose build failed before its spawn, failed '
                             'as well: %(error)s',
                             {'instance': instance.uuid, 'error': e})
                _release_failed_build(context, instance)
            finally:
                regions.end_build(instance)


@contextlib.contextmanager
def build_instance_hooks(context, instance):
    """Wait for the region's preparation before the body (the spawn).

    A FatalHookException from a hook, or the refusal or a failed save of
    the region, propagates, so that Nova's build error handling
    reschedules the build (with its message as the reason). Any failure,
    the body's too, erases the region, and stores the host's region counts
    before this returns. After a build that succeeded, a thread of its own
    stores them.
    """
    try:
        preparation = _PREPARATIONS.pop(instance.uuid, None)
        if preparation is not None:
            preparation.hand_over(instance)
        yield
    except Exception:
        _release_failed_build(context, instance)
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
        background.BackgroundCall(resource_tracker.refresh_region_counts,
                                  context, instance,
                                  log_context=context).start()


def prepare_region(context, instance):
    """What an FPGA build does before its spawn.

    Refuses what must never be burned (:func:`check_before_burn`), runs
    the build_instance hooks (fpga_hooks burns the region), refuses a
    region another instance of the host holds, and saves the region on
    the instance.
    """
    check_before_burn(context, instance)
    _build_instance_hook_point(context=context, instance=instance)
    if _region_of(instance):
        _refuse_region_held_by_another(context, instance)
        regions.record_region(instance)


def _names_ip_core(instance):
    """Whether the flavor or the image names an IP core, allowed or not."""
    return (specs.IP_ID_KEY in (instance.flavor.extra_specs or {})
            or specs.IP_ID_KEY in regions.image_properties(instance))


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


def _release_failed_build(context, instance):
    """Erase a failed build's region, and store the host's counts."""
    if release_region_of_failed_build(instance):
        resource_tracker.refresh_region_counts(context, instance)


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
