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
  burns the region and saves ``instance.fpga_device``) run before the
  guest is spawned, the post-hooks after it. When anything fails after a
  region was burned, the region is erased before Nova reschedules, so the
  host leaks nothing.
* ``hook_failed_on_last_host(exc, host_list)`` when a build
  is about to be rescheduled: a build hook that failed on the last host
  with no alternate left ends the build on the compute host, with the
  hook's message as the instance fault, instead of the conductor's
  generic "Exhausted all hosts" fault.
* ``run_delete_instance_hooks(context, instance)`` once the driver
  destroyed the guest: the ``delete_instance`` hooks (fpga_hooks erases
  the region). They never block a delete.
"""

import contextlib

from oslo_log import log as logging

from nova_fpga import conf as fpga_conf
from nova_fpga import hooks
from nova_fpga import regions

LOG = logging.getLogger(__name__)


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
    reason). Any failure of the body erases the region a hook programmed.
    """
    try:
        _build_instance_hook_point(context=context, instance=instance)
        yield
    except Exception:
        release_region_of_failed_build(instance)
        raise


def release_region_of_failed_build(instance):
    """Erase the region of a build that failed, and forget it.

    An fpga-cli may hand the same region id to a later burn, so a failed
    instance must not keep one: deleting it later would erase another
    instance's region.
    """
    # Only a host with FPGA access programs regions for its builds.
    if not fpga_conf.CONF.fpga_access:
        return
    if not instance.obj_attr_is_set('fpga_device') or \
            not instance.fpga_device:
        return
    region_id = instance.fpga_device
    if not regions.erase_instance_region(instance):
        LOG.error('FPGA region %(region)s stays programmed after the failed '
                  'build of instance %(instance)s; erase it with fpga-cli',
                  {'region': region_id, 'instance': instance.uuid})
    instance.fpga_device = None
    try:
        instance.save()
    except Exception:
        # The build error handling saves the instance again; losing this
        # save only matters if the instance itself is gone.
        LOG.warning('Could not save instance %s after erasing its FPGA '
                    'region of a failed build', instance.uuid, exc_info=True)


def hook_failed_on_last_host(exc, host_list):
    """Whether a failed build should end here instead of rescheduling.

    :param exc: the RescheduledException the build raised; Nova raised it
        while handling the original error, which is its ``__context__``.
    :param host_list: the alternate hosts the conductor sent along (None
        from a conductor that sends none: let the conductor decide).
    """
    if host_list is None or len(host_list) > 0:
        return False
    return isinstance(exc.__context__, hooks.FatalHookException)


def run_delete_instance_hooks(context, instance):
    """Run the delete_instance hooks; log, never raise."""
    try:
        _delete_instance_hook_point(context=context, instance=instance)
    except Exception:
        LOG.exception('delete_instance hooks failed for instance %s; '
                      'the delete goes on', instance.uuid)
