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

"""The FPGA regions of a compute node, as the resource tracker reports them.

The patched ``nova.compute.resource_tracker`` calls:

* ``update_compute_node(compute_node)`` in every
  ``update_available_resource`` run: asks ``fpga-cli status`` and stores
  the region counts in the compute node's ``fpga_regions`` and
  ``fpga_regions_used`` (what the scheduler's ``FpgaFilter`` reads);
* ``update_provider_tree(provider_tree, nodename, compute_node)`` before
  the provider tree is flushed to Placement: the regions become the
  ``CUSTOM_FPGA_REGION`` inventory of the compute node's provider, which
  is what makes claiming the last region atomic between schedulers.

An FPGA that is not accessible, or a tool that answers outside its
contract, is logged and reported as zero free regions: the periodic task
never fails because of the FPGA. The region total is kept then (and
reserved whole in Placement): an inventory cannot drop to no regions
while instances hold some, as Placement refuses to remove it.

Before the counts are read, ``update_compute_node`` reaps the regions no
live instance of the host holds (:mod:`nova_fpga.reconcile`), so that
every periodic update also repairs what a failed erase or a crash left.
"""

from oslo_log import log as logging

from nova import context as nova_context
from nova import objects
from nova import utils

from nova_fpga import conf as fpga_conf
from nova_fpga import exception
from nova_fpga import fpga_cli
from nova_fpga import reconcile

LOG = logging.getLogger(__name__)

RESOURCE_CLASS = 'CUSTOM_FPGA_REGION'

# Compute node UUIDs whose FPGA did not answer at the last status: their
# regions are reserved whole in Placement until it answers again.
_unavailable_nodes = set()


def _regions(compute_node):
    """The node's last known region total (0 when never reported)."""
    if not compute_node.obj_attr_is_set('fpga_regions'):
        return 0
    return compute_node.fpga_regions or 0


def update_compute_node(compute_node, conf=None):
    """Store the node's region counts from ``fpga-cli status``."""
    conf = conf or fpga_conf.CONF
    if not conf.fpga_access:
        # A host whose FPGA access was switched off has no regions, but a
        # node that never had any is left untouched (and unsaved).
        if _regions(compute_node):
            _set_counts(compute_node, 0, 0)
        _unavailable_nodes.discard(compute_node.uuid)
        return
    unusable = _reap_orphaned_regions(compute_node, conf)
    if unusable:
        # Asking again would only wait as long again.
        _report_unavailable(compute_node, unusable)
        return
    try:
        status = fpga_cli.FpgaCli.from_conf(conf).status()
    except exception.FpgaError as e:
        _report_unavailable(compute_node, e.message)
        return
    except Exception as e:
        # Whatever the tool does, the periodic task must go on.
        LOG.exception('fpga-cli status failed unexpectedly')
        _report_unavailable(compute_node, str(e))
        return
    if compute_node.uuid in _unavailable_nodes:
        LOG.info('FPGA of compute node %(node)s is accessible again: '
                 '%(used)d/%(total)d regions used',
                 {'node': compute_node.hypervisor_hostname,
                  'used': status.used, 'total': status.total})
        _unavailable_nodes.discard(compute_node.uuid)
    _set_counts(compute_node, status.total, status.used)


def _set_counts(compute_node, total, used):
    """Set the node's counts, leaving fields that keep their value clean.

    The resource tracker saves its compute node only when its resources
    changed, but then with every field set since: a count set to the
    value it had would be saved later, by an unrelated usage update, over
    a newer count (refresh_region_counts).
    """
    for field, value in (('fpga_regions', total),
                         ('fpga_regions_used', used)):
        if (not compute_node.obj_attr_is_set(field)
                or getattr(compute_node, field) != value):
            setattr(compute_node, field, value)


def refresh_region_counts(context, instance, conf=None):
    """Store the instance host's region counts now, after a burn or erase.

    ``FpgaFilter`` reads the counts from the compute node: without this, a
    region a delete freed would count as used until the next resource
    update, and a boot right after the delete would find no valid host.
    Placement, not these counts, keeps two builds off one region, so a
    failure here is only logged.

    Runs under the resource tracker's lock, which its periodic update
    holds from ``fpga-cli status`` to saving the compute node: a periodic
    update that asked before the erase cannot save its count after this.
    """
    conf = conf or fpga_conf.CONF
    if not conf.fpga_access or not instance.host or not instance.node:
        return
    # Imported here: nova.compute.resource_tracker imports this module.
    from nova.compute import resource_tracker as nova_resource_tracker

    @utils.synchronized(nova_resource_tracker.COMPUTE_RESOURCE_SEMAPHORE,
                        fair=True)
    def refresh():
        status = fpga_cli.FpgaCli.from_conf(conf).status()
        compute_node = objects.ComputeNode.get_by_host_and_nodename(
            context.elevated(), instance.host, instance.node)
        if compute_node.uuid in _unavailable_nodes:
            # Reserved whole until the periodic update sees it again.
            return
        _set_counts(compute_node, status.total, status.used)
        compute_node.save()

    try:
        refresh()
    except Exception:
        LOG.warning('Could not refresh the FPGA region counts of host %s; '
                    'the next resource update does', instance.host,
                    exc_info=True)


def held_regions(host):
    """{region id: instance uuid} of the host's live instances."""
    instances = objects.InstanceList.get_by_host(
        nova_context.get_admin_context(), host, expected_attrs=[])
    return {instance.fpga_device: instance.uuid for instance in instances
            if instance.fpga_device}


def _reap_orphaned_regions(compute_node, conf):
    """Reap the host's orphaned regions; the FPGA's failure, or None."""
    if not conf.fpga.reap_orphaned_regions or conf.fpga_simulation_mode:
        return None
    if not compute_node.obj_attr_is_set('host') or not compute_node.host:
        return None
    host = compute_node.host
    try:
        result = reconcile.REAPER.reap(host, lambda: held_regions(host),
                                       conf)
    except Exception:
        # The database (through the conductor) may fail; the counts are
        # still worth reporting.
        LOG.exception('Looking for orphaned FPGA regions of host %s failed',
                      host)
        return None
    return result.unusable


def _report_unavailable(compute_node, reason):
    LOG.warning('FPGA of compute node %(node)s is unusable, reporting no '
                'free region: %(reason)s',
                {'node': compute_node.hypervisor_hostname, 'reason': reason})
    _unavailable_nodes.add(compute_node.uuid)
    total = _regions(compute_node)
    _set_counts(compute_node, total, total)


def update_provider_tree(provider_tree, nodename, compute_node, conf=None):
    """Set (or drop) the CUSTOM_FPGA_REGION inventory of the node."""
    conf = conf or fpga_conf.CONF
    if not conf.fpga_access:
        # The virt driver sets the whole inventory of the node on every
        # run, so an inventory this host no longer reports is gone.
        return
    total = _regions(compute_node)
    inventory = dict(provider_tree.data(nodename).inventory)
    if total > 0:
        unavailable = compute_node.uuid in _unavailable_nodes
        inventory[RESOURCE_CLASS] = {
            'total': total,
            'reserved': total if unavailable else 0,
            'min_unit': 1,
            'max_unit': total,
            'step_size': 1,
            'allocation_ratio': 1.0,
        }
    else:
        inventory.pop(RESOURCE_CLASS, None)
    provider_tree.update_inventory(nodename, inventory)
