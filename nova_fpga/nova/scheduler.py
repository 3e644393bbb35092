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

"""The scheduler's view of FPGA regions.

The patched scheduler calls:

* ``update_host_state(host_state, compute_node)`` when a ``HostState`` is
  refreshed from its compute node: the region counts ``FpgaFilter`` reads;
* ``consume_from_request(host_state, spec_obj)`` when an instance is
  placed on a host, so that later instances of the same request see one
  region less;
* ``request_fpga_region(resource_request, flavor)`` while the Placement
  request is built: a flavor that asks for an IP core (``hw:fpga_ip_id``)
  and does not request regions itself asks Placement for one
  ``CUSTOM_FPGA_REGION``. Placement's claim is atomic, so two schedulers
  never hand the same last region to two instances.

Only the flavor counts here: the scheduler receives an image's properties
through ``ImageMetaProps``, which drops names it does not know, so an
image's ``hw:fpga_ip_id`` (allowed with ``[fpga] allow_image_ip_id``) is
honoured by the compute host's build hook but not by scheduling.
"""

from nova_fpga.nova import resource_tracker
from nova_fpga import specs


def _extra_specs(spec_obj):
    if not spec_obj.obj_attr_is_set('flavor') or spec_obj.flavor is None:
        return {}
    flavor = spec_obj.flavor
    if not flavor.obj_attr_is_set('extra_specs'):
        return {}
    return flavor.extra_specs or {}


def asks_for_fpga(spec_obj):
    """Whether the request's flavor asks for an IP core (a region)."""
    return specs.IP_ID_KEY in _extra_specs(spec_obj)


def update_host_state(host_state, compute_node):
    """Copy the node's region counts onto the scheduler's HostState."""
    for name in ('fpga_regions', 'fpga_regions_used'):
        value = (getattr(compute_node, name)
                 if compute_node.obj_attr_is_set(name) else 0)
        setattr(host_state, name, value or 0)


def consume_from_request(host_state, spec_obj):
    """One region less on a host an FPGA instance was just placed on."""
    if asks_for_fpga(spec_obj):
        host_state.fpga_regions_used += 1


def request_fpga_region(resource_request, flavor):
    """Ask Placement for one region when the flavor asks for an IP core."""
    if flavor is None or not flavor.obj_attr_is_set('extra_specs'):
        return
    if specs.IP_ID_KEY not in (flavor.extra_specs or {}):
        return
    if resource_tracker.RESOURCE_CLASS in resource_request.merged_resources():
        # The operator chose the amount (resources:CUSTOM_FPGA_REGION=N).
        return
    resource_request._add_resource(resource_tracker.RESOURCE_CLASS, 1)
