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

"""FPGA flavors on the patched Nova's API, conductor, scheduler and computes.

The compute services run the fake virt driver; every FPGA operation runs
the real ``fpga-cli.py`` on a simulated FPGA of the host's own (see
``fpga_hosts``). Placement is Nova's in-process Placement fixture.
"""

import json
import os
import shlex
import stat
import sys
import time
from unittest import mock

import fixtures

import nova.conf
from nova import context as nova_context
from nova import objects
from nova.tests.functional.api import client
from nova.tests.functional import integrated_helpers
from nova.virt import fake

from tests.nova.functional import fpga_hosts
from tests.nova.functional import nova_helpers

IP_ID = 'dd834aa4-f950-40e6-8c23-9dab7f3f0138'
# The project owning the IP-core images, which the computes trust.
IP_OWNER = '4f7c1b2a9d3e4c5b8a6f0e1d2c3b4a59'
# pip installs Nova's data files under the environment's prefix, not next
# to the package where Nova's test fixtures look for them.
API_PASTE_INI = os.path.join(sys.prefix, 'etc', 'nova', 'api-paste.ini')
RESOURCE_CLASS = 'CUSTOM_FPGA_REGION'


class FpgaTestBase(nova_helpers.HelpersCompat,
                   integrated_helpers.ProviderUsageBaseTestCase):
    """Computes with a simulated FPGA each; FpgaFilter enabled."""

    compute_driver = 'fake.MediumFakeDriver'
    # Host name -> regions of its simulated FPGA (0: not accessible).
    REGIONS_BY_HOST = {'host1': 2, 'host2': 0}

    def setUp(self):
        self.flags(api_paste_config=API_PASTE_INI, group='wsgi')
        super().setUp()
        self.flags(fpga_access=True, fpga_exec=fpga_hosts.FPGA_CLI)
        self.flags(root_helper='', trusted_image_owners=[IP_OWNER],
                   group='fpga')
        # The IP core the FPGA flavor names, as an operator uploads it.
        self.glance.create(None, {
            'id': IP_ID, 'name': 'lzo_compression', 'status': 'active',
            'container_format': 'fpga', 'disk_format': 'raw',
            'owner': IP_OWNER})
        enabled = nova.conf.CONF.filter_scheduler.enabled_filters + [
            'FpgaFilter']
        self.flags(enabled_filters=enabled, group='filter_scheduler')
        self.restart_scheduler()

        base_dir = self.useFixture(fixtures.TempDir()).path
        self.fpga = self.useFixture(
            fpga_hosts.FpgaHostsFixture(base_dir, self.REGIONS_BY_HOST))
        for host in self.REGIONS_BY_HOST:
            self._start_compute(host)

        self.fpga_flavor = self._create_flavor(
            name='fpga', extra_spec={'hw:fpga_ip_id': IP_ID})
        self.plain_flavor = self._create_flavor(name='plain')
        self.ctxt = nova_context.get_admin_context()

    def restart_scheduler(self):
        """The scheduler loads its filters when it starts."""
        self.scheduler_service.stop()
        self.scheduler_service = self.start_service('scheduler')

    # Helpers reading each layer the way an operator would.

    def status(self, host):
        return self.fpga.fpga_cli(host, 'status')

    def programmed_regions(self, host):
        state = json.loads(self.fpga.fpga_cli(host, 'status', '--json'))
        return [region['region_id'] for region in state['regions']
                if region['programmed']]

    def fpga_device(self, server):
        return objects.Instance.get_by_uuid(
            self.ctxt, server['id']).fpga_device

    def region_usage(self, host):
        rp_uuid = self._get_provider_uuid_by_host(host)
        return self._get_provider_usages(rp_uuid).get(RESOURCE_CLASS, 0)

    def region_inventory(self, host):
        rp_uuid = self._get_provider_uuid_by_host(host)
        return self._get_provider_inventory(rp_uuid).get(RESOURCE_CLASS)

    def db_counters(self, host):
        node = objects.ComputeNode.get_first_node_by_host_for_old_compat(
            self.ctxt, host)
        return node.fpga_regions_used, node.fpga_regions

    def assert_db_counters_become(self, host, expected, timeout=30):
        """A build that succeeded stores the counts once it ended."""
        deadline = time.monotonic() + timeout
        while self.db_counters(host) != expected:
            if time.monotonic() > deadline:
                self.assertEqual(expected, self.db_counters(host))
            time.sleep(0.1)

    def boot_fpga(self, expected_state='ACTIVE', **kwargs):
        return self._create_server(
            flavor_id=self.fpga_flavor, networks='none',
            expected_state=expected_state, **kwargs)

    def fault_message(self, server):
        return self.api.get_server(server['id'])['fault']['message']

    def fail_saving_new_regions(self):
        """Make every save of a new region on an instance fail.

        A database that fails exactly this save cannot be had in one
        process; everything around it (the burn, the erase, the build's
        failure handling) stays real.
        """
        real_save = objects.Instance.save

        def save(instance, *args, **kwargs):
            if ('fpga_device' in instance.obj_what_changed()
                    and instance.fpga_device):
                raise RuntimeError('database gone')
            return real_save(instance, *args, **kwargs)

        self.useFixture(fixtures.MonkeyPatch(
            'nova.objects.Instance.save', save))

    def tool_answering_burn_with(self, region_id):
        """A vendor tool that reuses regions and gets it wrong.

        Its burn programs a region with the reference tool but answers
        with region_id; the reference tool cannot be made to do that.
        """
        path = os.path.join(self.fpga.base_dir, 'faulty-vendor-fpga-cli')
        environ = self.fpga.environ('host1')
        real = shlex.quote(fpga_hosts.FPGA_CLI)
        with open(path, 'w') as tool:
            tool.write('#!/bin/sh\n')
            for key in ('FPGA_CLI_STATE_DIR', 'FPGA_CLI_DEV_DIR',
                        'FPGA_CLI_REGIONS'):
                tool.write('export %s=%s\n' % (key, shlex.quote(
                    environ[key])))
            tool.write('if [ "$1" = burn ]; then\n'
                       '    %s "$@" > /dev/null || exit $?\n'
                       '    echo %s; exit 0\n'
                       'fi\n'
                       'exec %s "$@"\n'
                       % (real, shlex.quote(region_id), real))
        os.chmod(path, stat.S_IRWXU)
        return path


class FpgaBootTest(FpgaTestBase):
    """host1 has an FPGA with two regions; host2's FPGA is not accessible."""

    def test_host_regions_are_reported_to_placement_and_db(self):
        self.assertEqual({'total': 2, 'reserved': 0, 'min_unit': 1,
                          'max_unit': 2, 'step_size': 1,
                          'allocation_ratio': 1.0},
                         self.region_inventory('host1'))
        # An FPGA that is not accessible gives no region, and the
        # periodic task still completes.
        self.assertIsNone(self.region_inventory('host2'))
        self._run_periodics(raise_on_error=True)
        self.assertEqual((0, 2), self.db_counters('host1'))
        self.assertEqual((0, 0), self.db_counters('host2'))

    def test_fpga_flavor_lands_on_fpga_host_and_programs_a_region(self):
        server = self.boot_fpga()

        self.assertEqual('host1', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual('Used regions: 1/2', self.status('host1'))
        self.assertEqual(self.programmed_regions('host1'),
                         [self.fpga_device(server)])
        self.assertEqual(1, self.region_usage('host1'))
        allocations = self._get_allocations_by_server_uuid(server['id'])
        rp_uuid = self._get_provider_uuid_by_host('host1')
        self.assertEqual(1, allocations[rp_uuid]['resources'][RESOURCE_CLASS])
        self._run_periodics(raise_on_error=True)
        self.assertEqual((1, 2), self.db_counters('host1'))

    def test_the_driver_spawns_with_the_region_saved_on_the_instance(self):
        seen = []
        spawn = fake.FakeDriver.spawn

        def watch_spawn(driver, context, instance, *args, **kwargs):
            saved = objects.Instance.get_by_uuid(self.ctxt, instance.uuid)
            seen.append((instance.fpga_device, saved.fpga_device))
            return spawn(driver, context, instance, *args, **kwargs)

        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.fake.FakeDriver.spawn', watch_spawn))
        server = self.boot_fpga()

        region = self.fpga_device(server)
        self.assertIsNotNone(region)
        self.assertEqual([(region, region)], seen)

    def test_no_free_region_is_no_valid_host_but_plain_flavors_boot(self):
        self.boot_fpga()
        self.boot_fpga()
        self.assertEqual('Used regions: 2/2', self.status('host1'))

        server = self.boot_fpga(expected_state='ERROR')
        self.assertIn('No valid host', self.fault_message(server))
        self.assertEqual('Used regions: 2/2', self.status('host1'))

        for host in ('host1', 'host2'):
            plain = self._create_server(
                flavor_id=self.plain_flavor, networks='none', host=host)
            self.assertEqual(host, plain['OS-EXT-SRV-ATTR:host'])
            self.assertIsNone(self.fpga_device(plain))
        self.assertEqual('Used regions: 2/2', self.status('host1'))

    def test_delete_erases_the_region(self):
        server = self.boot_fpga()
        self._run_periodics(raise_on_error=True)
        self.assertEqual((1, 2), self.db_counters('host1'))

        self._delete_server(server)

        self.assertEqual('Used regions: 0/2', self.status('host1'))
        self.assertEqual([], self.programmed_regions('host1'))
        self.assertEqual(0, self.region_usage('host1'))
        self._run_periodics(raise_on_error=True)
        self.assertEqual((0, 2), self.db_counters('host1'))

    def test_counters_follow_burn_and_erase_without_resource_update(self):
        # FpgaFilter reads these counters: a region freed by a delete must
        # be free for the very next boot, not after the next periodic.
        first = self.boot_fpga()
        second = self.boot_fpga()
        self.assert_db_counters_become('host1', (2, 2))

        # A delete stores them before it ends.
        self._delete_server(first)
        self.assertEqual((1, 2), self.db_counters('host1'))
        third = self.boot_fpga()
        self.assertEqual('host1', third['OS-EXT-SRV-ATTR:host'])
        self.assert_db_counters_become('host1', (2, 2))

        for server in (second, third):
            self._delete_server(server)
        self.assertEqual((0, 2), self.db_counters('host1'))
        self.assertEqual('Used regions: 0/2', self.status('host1'))

    def test_burn_failure_without_alternate_host_names_fpga_cli_error(self):
        self.fpga.failing_hosts.add('host1')

        server = self.boot_fpga(expected_state='ERROR')

        self.assertIn("Error: cannot programm `%s' - no matching hardware "
                      "found" % IP_ID, self.fault_message(server))
        self.assertEqual('Used regions: 0/2', self.status('host1'))
        self.assertEqual(0, self.region_usage('host1'))


class FpgaRescheduleTest(FpgaTestBase):
    """host1 and host3 have FPGAs; host2's FPGA is not accessible."""

    REGIONS_BY_HOST = {'host1': 2, 'host2': 0, 'host3': 2}

    def setUp(self):
        super().setUp()
        # Make host1 the scheduler's first choice (the RAM weigher spreads
        # instances), so that host3 is the alternate.
        self._create_server(flavor_id=self.plain_flavor, networks='none',
                            host='host3')

    def assert_host1_leaks_nothing(self):
        self.assertEqual('Used regions: 0/2', self.status('host1'))
        self.assertEqual([], self.programmed_regions('host1'))
        rp_uuid = self._get_provider_uuid_by_host('host1')
        self.assertEqual({}, {rc: used for rc, used in
                              self._get_provider_usages(rp_uuid).items()
                              if used})

    def test_burn_failure_reschedules_to_next_fpga_host(self):
        self.fpga.failing_hosts.add('host1')

        server = self.boot_fpga()

        self.assertEqual('host3', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual('Used regions: 1/2', self.status('host3'))
        self.assertEqual(self.programmed_regions('host3'),
                         [self.fpga_device(server)])
        self.assertEqual(1, self.region_usage('host3'))
        self.assert_host1_leaks_nothing()

    def test_spawn_failure_after_burn_erases_region_and_reschedules(self):
        # A hypervisor failing to start a guest cannot be produced with the
        # fake driver, so its spawn fails here on host1 only.
        real_spawn = fake.FakeDriver.spawn

        def spawn(driver, context, instance, *args, **kwargs):
            if instance.host == 'host1':
                raise Exception('guest did not start')
            return real_spawn(driver, context, instance, *args, **kwargs)

        with mock.patch.object(fake.FakeDriver, 'spawn', new=spawn):
            server = self.boot_fpga()

        self.assertEqual('host3', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual('Used regions: 1/2', self.status('host3'))
        self.assertEqual(self.programmed_regions('host3'),
                         [self.fpga_device(server)])
        self.assert_host1_leaks_nothing()


class FpgaSpecValidationTest(FpgaTestBase):
    """hw:fpga_ip_id at the API, on flavors and on images."""

    def test_malformed_ip_id_is_refused_naming_the_value(self):
        flavor_id = self._create_flavor(name='bad')
        ex = self.assertRaises(
            client.OpenStackApiException, self.admin_api.post_extra_spec,
            flavor_id, {'extra_specs': {'hw:fpga_ip_id': 'not-an-image'}})
        self.assertEqual(400, ex.response.status_code)
        self.assertIn('not-an-image', ex.response.text)

    def test_valid_ip_id_is_accepted_at_the_latest_microversion(self):
        self.assertEqual('latest', self.admin_api.microversion)
        flavor_id = self._create_flavor(name='good')
        self.admin_api.post_extra_spec(
            flavor_id, {'extra_specs': {'hw:fpga_ip_id': IP_ID}})
        self.assertEqual({'hw:fpga_ip_id': IP_ID},
                         self.admin_api.get_extra_specs(flavor_id))

    def _image_with_ip_id(self):
        image = {
            'name': 'fpga-user-image',
            'status': 'active',
            'container_format': 'bare',
            'disk_format': 'raw',
            'properties': {'hw:fpga_ip_id': IP_ID},
        }
        return self.glance.create(self.ctxt, image)['id']

    def test_image_ip_id_is_refused_by_default(self):
        image_id = self._image_with_ip_id()
        server = self._create_server(
            image_uuid=image_id, flavor_id=self.plain_flavor,
            networks='none', host='host1', expected_state='ERROR')

        self.assertIn('Image %s is unacceptable: it asks for FPGA IP core '
                      '%s' % (image_id, IP_ID), self.fault_message(server))
        self.assertIn('allow_image_ip_id', self.fault_message(server))
        self.assertIsNone(self.fpga_device(server))
        self.assertEqual('Used regions: 0/2', self.status('host1'))

    def test_image_ip_id_is_burned_when_allowed(self):
        self.flags(allow_image_ip_id=True, group='fpga')

        server = self._create_server(
            image_uuid=self._image_with_ip_id(),
            flavor_id=self.plain_flavor, networks='none', host='host1')

        self.assertEqual('Used regions: 1/2', self.status('host1'))
        self.assertEqual(self.programmed_regions('host1'),
                         [self.fpga_device(server)])
