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

"""nova_fpga.nova.resource_tracker with real ComputeNode and ProviderTree.

A tool that answers outside the fpga-cli contract cannot be had from the
reference fpga-cli.py, so a tiny executable stands in for such a vendor
tool here; everything else is the real code.
"""

import os
import stat

import fixtures
from oslo_config import fixture as config_fixture
from oslo_utils.fixture import uuidsentinel
import testtools

from nova.compute import provider_tree
from nova import objects

from nova_fpga import conf as fpga_conf
from nova_fpga.nova import resource_tracker

objects.register_all()


class UpdateComputeNodeTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(fpga_conf.CONF))
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.logs = self.useFixture(fixtures.FakeLogger())
        self.node = objects.ComputeNode(
            uuid=uuidsentinel.node, hypervisor_hostname='host1')
        self.tree = provider_tree.ProviderTree()
        self.tree.new_root('host1', uuidsentinel.node)
        self.tree.update_inventory('host1', {
            'VCPU': {'total': 4, 'reserved': 0, 'min_unit': 1,
                     'max_unit': 4, 'step_size': 1,
                     'allocation_ratio': 1.0}})
        self.addCleanup(resource_tracker._unavailable_nodes.clear)

    def _tool(self, script):
        path = os.path.join(self.tmp, 'vendor-fpga-tool')
        with open(path, 'w') as tool:
            tool.write('#!/bin/sh\n' + script + '\n')
        os.chmod(path, stat.S_IRWXU)
        self.conf.config(fpga_access=True, fpga_exec=path)
        self.conf.config(root_helper='', group='fpga')

    def _inventory(self):
        return self.tree.data('host1').inventory.get(
            resource_tracker.RESOURCE_CLASS)

    def test_status_sets_counts_and_inventory(self):
        self._tool('echo "Used regions: 1/4"')

        resource_tracker.update_compute_node(self.node)
        resource_tracker.update_provider_tree(self.tree, 'host1', self.node)

        self.assertEqual((4, 1), (self.node.fpga_regions,
                                  self.node.fpga_regions_used))
        self.assertEqual(4, self._inventory()['total'])
        self.assertEqual(0, self._inventory()['reserved'])
        self.assertIn('VCPU', self.tree.data('host1').inventory)

    def test_unchanged_counts_leave_the_node_clean(self):
        # The resource tracker saves every field set since its last save
        # the next time any resource changes: an unchanged count must not
        # be among them, or it overwrites a newer one.
        self._tool('echo "Used regions: 1/4"')
        resource_tracker.update_compute_node(self.node)
        self.node.obj_reset_changes()

        resource_tracker.update_compute_node(self.node)
        self.assertEqual(set(), self.node.obj_what_changed())

        self._tool('echo "Used regions: 2/4"')
        resource_tracker.update_compute_node(self.node)
        self.assertEqual({'fpga_regions_used'},
                         self.node.obj_what_changed())

    def test_garbage_answer_is_zero_free_regions_and_logged(self):
        self._tool('echo "Used regions: 1/4"')
        resource_tracker.update_compute_node(self.node)
        self._tool('echo "all regions are fine, trust me"')

        resource_tracker.update_compute_node(self.node)
        resource_tracker.update_provider_tree(self.tree, 'host1', self.node)

        # The total stays (instances may hold regions), all of it used.
        self.assertEqual((4, 4), (self.node.fpga_regions,
                                  self.node.fpga_regions_used))
        self.assertEqual(4, self._inventory()['total'])
        self.assertEqual(4, self._inventory()['reserved'])
        self.assertIn('all regions are fine, trust me', self.logs.output)

        self._tool('echo "Used regions: 2/4"')
        resource_tracker.update_compute_node(self.node)
        resource_tracker.update_provider_tree(self.tree, 'host1', self.node)
        self.assertEqual(0, self._inventory()['reserved'])
        self.assertEqual(2, self.node.fpga_regions_used)

    def test_missing_tool_never_raises(self):
        self.conf.config(fpga_access=True,
                         fpga_exec=os.path.join(self.tmp, 'no-such-tool'))
        self.conf.config(root_helper='', group='fpga')

        resource_tracker.update_compute_node(self.node)
        resource_tracker.update_provider_tree(self.tree, 'host1', self.node)

        self.assertEqual((0, 0), (self.node.fpga_regions,
                                  self.node.fpga_regions_used))
        self.assertIsNone(self._inventory())
        self.assertIn('no-such-tool', self.logs.output)

    def test_without_fpga_access_a_node_without_regions_is_untouched(self):
        self.conf.config(fpga_access=False)

        resource_tracker.update_compute_node(self.node)
        resource_tracker.update_provider_tree(self.tree, 'host1', self.node)

        self.assertFalse(self.node.obj_attr_is_set('fpga_regions'))
        self.assertIsNone(self._inventory())
