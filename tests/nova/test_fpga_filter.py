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

"""FpgaFilter through Nova's filter handler, with Nova's HostStates."""

from oslo_utils.fixture import uuidsentinel
import testtools

from nova import objects
from nova.scheduler import filters
from nova.scheduler import host_manager

from nova_fpga.nova import fpga_filter

IP_ID = 'dd834aa4-f950-40e6-8c23-9dab7f3f0138'

objects.register_all()


def host_state(name, total, used):
    state = host_manager.HostState(name, name, uuidsentinel.cell)
    state.fpga_regions, state.fpga_regions_used = total, used
    return state


def request(ip_id=IP_ID, rebuild=False):
    extra_specs = {'hw:fpga_ip_id': ip_id} if ip_id else {}
    spec = objects.RequestSpec(
        flavor=objects.Flavor(extra_specs=extra_specs),
        scheduler_hints={})
    if rebuild:
        spec.scheduler_hints['_nova_check_type'] = ['rebuild']
    return spec


class FpgaFilterTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.filter = fpga_filter.FpgaFilter()
        self.hosts = [host_state('free', 2, 1), host_state('full', 2, 2),
                      host_state('no-fpga', 0, 0)]

    def filtered(self, spec):
        handler = filters.HostFilterHandler()
        return [state.host for state in handler.get_filtered_objects(
            [self.filter], self.hosts, spec)]

    def test_fpga_request_keeps_hosts_with_a_free_region(self):
        self.assertEqual(['free'], self.filtered(request()))

    def test_other_requests_and_rebuilds_keep_every_host(self):
        self.assertEqual(['free', 'full', 'no-fpga'],
                         self.filtered(request(ip_id=None)))
        self.assertEqual(['free', 'full', 'no-fpga'],
                         self.filtered(request(rebuild=True)))

    def test_filter_all_agrees_with_host_passes(self):
        for spec in (request(), request(ip_id=None)):
            self.assertEqual(
                [state for state in self.hosts
                 if self.filter.host_passes(state, spec)],
                list(self.filter.filter_all(self.hosts, spec)))
