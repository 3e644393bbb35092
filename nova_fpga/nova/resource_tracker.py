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
reserved whole in Placement), because Placement refuses to shrink an
inventory below the regions instances hold.
"""

from oslo_log import log as logging

from nova_fpga import conf as fpga_conf
from nova_fpga import exception
from nova_fpga import fpga_cli

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
            compute_node.fpga_regions = 0
            compute_node.fpga_regions_used = 0
        _unavailable_nodes.discard(compute_node.uuid)
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
    compute_node.fpga_regions = status.total
    compute_node.fpga_regions_used = status.used


def _report_unavailable(compute_node, reason):
    LOG.warning('FPGA of compute node %(node)s is unusable, reporting no '
                'free region: %(reason)s',
                {'node': compute_node.hypervisor_hostname, 'reason': reason})
    _unavailable_nodes.add(compute_node.uuid)
    total = _regions(compute_node)
    compute_node.fpga_regions = total
    compute_node.fpga_regions_used = total


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
