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

"""Which IP cores may be burned, and regions reused, on Nova's services.

The real fpga-cli.py programs the host's simulated FPGA; the builds are
Nova's. Requests come from an admin of the project that owns the IP core
and from a member of another project.
"""

import json

from nova.tests.functional.api import client

from tests.nova.functional import test_fpga_boot

IP_ID = test_fpga_boot.IP_ID
OTHER_PROJECT = '0f1e2d3c4b5a69788796a5b4c3d2e1f0'


class FpgaSecurityTestBase(test_fpga_boot.FpgaTestBase):

    REGIONS_BY_HOST = {'host1': 2}

    def setUp(self):
        super().setUp()
        self.admin_project = self.admin_api.project_id
        self.member_api = client.TestOpenStackClient(
            'member', self.api_fixture.api.base_url,
            project_id=OTHER_PROJECT, roles=['reader', 'member'])
        self.member_api.microversion = 'latest'

    def regions(self, host='host1'):
        return json.loads(self.fpga.fpga_cli(host, 'status', '--json'))[
            'regions']


class TrustedImageOwnersTest(FpgaSecurityTestBase):
    """[fpga] trusted_image_owners, and the admin projects."""

    def setUp(self):
        super().setUp()
        # The IP core belongs to the admin's project this time; nobody is
        # listed.
        self.flags(trusted_image_owners=[], group='fpga')
        self.own_ip = self.glance.create(None, {
            'name': 'lzo_compression', 'status': 'active',
            'container_format': 'fpga', 'disk_format': 'raw',
            'owner': self.admin_project})['id']
        self.own_flavor = self._create_flavor(
            name='fpga-own', extra_spec={'hw:fpga_ip_id': self.own_ip})

    def test_an_admin_may_burn_the_ip_cores_of_its_own_project(self):
        server = self._create_server(flavor_id=self.own_flavor,
                                     networks='none')

        self.assertEqual([self.fpga_device(server)],
                         self.programmed_regions('host1'))

    def test_other_projects_need_the_owner_listed(self):
        server = self._create_server(
            flavor_id=self.own_flavor, networks='none',
            api=self.member_api, expected_state='ERROR')

        self.assertIn('Image %s is unacceptable: owner %s is not a trusted '
                      'FPGA image owner ([fpga] trusted_image_owners)'
                      % (self.own_ip, self.admin_project),
                      self.fault_message(server))
        self.assertEqual('Used regions: 0/2', self.status('host1'))

        self.flags(trusted_image_owners=[self.admin_project], group='fpga')
        server = self._create_server(
            flavor_id=self.own_flavor, networks='none',
            api=self.member_api)
        self.assertEqual([self.fpga_device(server)],
                         self.programmed_regions('host1'))

    def test_an_admin_may_not_burn_another_projects_ip_core(self):
        # As a user could upload it: owned by their project.
        user_ip = self.glance.create(None, {
            'name': 'mine', 'status': 'active', 'container_format': 'fpga',
            'disk_format': 'raw', 'owner': OTHER_PROJECT})['id']
        flavor = self._create_flavor(
            name='fpga-user', extra_spec={'hw:fpga_ip_id': user_ip})

        server = self._create_server(flavor_id=flavor, networks='none',
                                     expected_state='ERROR')

        self.assertIn('owner %s is not a trusted' % OTHER_PROJECT,
                      self.fault_message(server))
        self.assertEqual('Used regions: 0/2', self.status('host1'))

    def test_star_trusts_every_owner_without_looking(self):
        self.flags(trusted_image_owners=['*'], group='fpga')
        # Not even an image: the id is taken as an opaque string, as the
        # 2016 tool did without Glance.
        flavor = self._create_flavor(name='fpga-opaque', extra_spec={
            'hw:fpga_ip_id': 'a0399bc1-cb67-4548-b0b8-aa95a91402d3'})

        server = self._create_server(flavor_id=flavor, networks='none',
                                     api=self.member_api)

        self.assertEqual([self.fpga_device(server)],
                         self.programmed_regions('host1'))


class RegionReuseTest(FpgaSecurityTestBase):
    """A free region that holds the IP core is handed out again."""

    def test_free_region_holding_the_ip_core_is_reused(self):
        first = self.boot_fpga()
        first_region = self.fpga_device(first)
        programmed_at = self.regions()[0]['programmed_at']
        self._delete_server(first)

        second = self.boot_fpga()

        region = self.regions()[0]
        self.assertEqual(self.fpga_device(second), region['region_id'])
        self.assertNotEqual(first_region, region['region_id'])
        self.assertTrue(region['reused'])
        self.assertEqual(programmed_at, region['programmed_at'])

    def test_a_region_in_use_is_never_handed_out_again(self):
        first = self.boot_fpga()
        second = self.boot_fpga()

        self.assertNotEqual(self.fpga_device(first),
                            self.fpga_device(second))
        self.assertEqual([False, False],
                         [region['reused'] for region in self.regions()])
        self.boot_fpga(expected_state='ERROR')
        self.assertEqual('Used regions: 2/2', self.status('host1'))

    def test_region_of_another_instance_from_a_faulty_tool_is_refused(self):
        # A vendor tool that reuses regions and gets it wrong: it programs
        # a region but answers with the id another instance holds. That
        # cannot be had from the reference tool, so a script wraps it.
        self.flags(orphaned_region_grace_period=0, group='fpga')
        first = self.boot_fpga()
        held = self.fpga_device(first)
        self.flags(fpga_exec=self.tool_answering_burn_with(held))

        second = self.boot_fpga(expected_state='ERROR')

        self.assertIn('fpga-cli handed region %s to instance %s, but '
                      'instance %s holds it' % (held, second['id'],
                                                first['id']),
                      self.fault_message(second))
        self.assertEqual(held, self.fpga_device(first))
        self.assertIsNone(self.fpga_device(second))
        # What the faulty burn really programmed is reaped; the held
        # region stays.
        self._run_periodics()
        self.assertEqual([held], self.programmed_regions('host1'))
