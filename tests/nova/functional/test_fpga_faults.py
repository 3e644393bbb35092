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

"""Faults of the FPGA path on the patched Nova's in-process services.

Every fault is real: the real ``fpga-cli.py`` fails its erases
(``FPGA_ERROR=erase``) or hangs (``FPGA_CLI_HANG``) on the host's own
simulated FPGA, and the periodic task that must repair things is Nova's
own ``update_available_resource``. Only the death of nova-compute cannot
be had in one process: see test_compute_killed_between_burn_and_save.
After each fault, nothing may stay programmed that no instance holds.
"""

import re
import time

import eventlet
import fixtures

import nova.conf

from nova_fpga import reconcile
from nova_fpga import regions
from tests.nova.functional import test_fpga_boot

CONF = nova.conf.CONF
IP_ID = test_fpga_boot.IP_ID


class FpgaFaultTestBase(test_fpga_boot.FpgaTestBase):

    REGIONS_BY_HOST = {'host1': 2}
    # Builds here wait out fpga-cli timeouts, then reschedule.
    STATE_CHANGE_RETRIES = 60

    def setUp(self):
        # Each test is a new nova-compute process: nothing remembered from
        # another test's builds or orphans.
        self.useFixture(fixtures.MonkeyPatch(
            'nova_fpga.regions.BUILDS', regions.BuildsInProgress()))
        self.useFixture(fixtures.MonkeyPatch(
            'nova_fpga.reconcile.REAPER', reconcile.OrphanReaper()))
        super().setUp()
        self.flags(orphaned_region_grace_period=0, group='fpga')

    def logs(self):
        return self.stdlog.logger.output

    def run_periodics(self):
        """Nova's periodic resource update on every compute host.

        It must complete and log no traceback of its own (the tests' failed
        builds log theirs before).
        """
        logged = len(self.logs())
        self._run_periodics()
        self.assertNotIn('Traceback (most recent call last',
                         self.logs()[logged:])

    def wait_for(self, condition, what, timeout=60):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                self.fail('timed out waiting for %s' % what)
            time.sleep(0.2)

    def used_regions(self, host='host1'):
        return len(self.programmed_regions(host))

    def assert_burned_then_erased(self, server):
        """The build of server programmed a region and erased it again."""
        region = re.search(r'Programmed FPGA region (\S+) with IP core \S+ '
                           r'for instance %s' % server['id'],
                           self.logs()).group(1)
        self.assertIn('Erased FPGA region %s of instance %s'
                      % (region, server['id']), self.logs())

    def assert_nothing_left(self, host='host1', total=2):
        """Nothing programmed, once the periodic task ran."""
        self.run_periodics()
        self.assertEqual('Used regions: 0/%d' % total, self.status(host))
        self.assertEqual([], self.programmed_regions(host))
        self.assertEqual((0, total), self.db_counters(host))
        self.assertEqual(0, self.region_usage(host))


class FailedEraseTest(FpgaFaultTestBase):
    """Fault 2: erase fails on delete."""

    def test_failed_erase_on_delete_is_reaped_by_the_periodic_task(self):
        server = self.boot_fpga()
        region = self.fpga_device(server)
        self.fpga.extra_environ['host1'] = {'FPGA_ERROR': 'erase'}

        self._delete_server(server)

        # The instance is gone, its region is not.
        self.assertEqual([region], self.programmed_regions('host1'))
        self.assertIn('Cannot erase FPGA region %s of instance %s'
                      % (region, server['id']), self.logs())
        self.assertEqual(0, self.region_usage('host1'))

        # While erasing still fails, the periodic task tries, logs, and
        # completes.
        self.run_periodics()
        self.assertEqual([region], self.programmed_regions('host1'))
        self.assertIn('Cannot erase orphaned FPGA region %s of host host1'
                      % region, self.logs())

        del self.fpga.extra_environ['host1']
        self.run_periodics()

        self.assertIn('Erased orphaned FPGA region %s (IP core %s): no '
                      'instance of host host1 holds it' % (region, IP_ID),
                      self.logs())
        self.assert_nothing_left()

    def test_regions_of_live_instances_are_never_reaped(self):
        active = self.boot_fpga()
        stopped = self.boot_fpga()
        self._stop_server(stopped)

        for _ in range(2):
            self.run_periodics()

        self.assertEqual(sorted([self.fpga_device(active),
                                 self.fpga_device(stopped)]),
                         sorted(self.programmed_regions('host1')))
        self.assertNotIn('orphaned FPGA region', self.logs())

        self._delete_server(stopped)
        self._delete_server(active)
        self.assert_nothing_left()

    def test_orphan_is_reaped_only_after_the_grace_period(self):
        self.flags(orphaned_region_grace_period=300, group='fpga')
        now = [1000.0]
        self.useFixture(fixtures.MonkeyPatch(
            'nova_fpga.reconcile.REAPER',
            reconcile.OrphanReaper(clock=lambda: now[0])))
        # Burned by an operator trying the FPGA by hand: no instance has it.
        region = self.fpga.fpga_cli('host1', 'burn', IP_ID)

        self.run_periodics()
        now[0] += 299
        self.run_periodics()

        self.assertEqual([region], self.programmed_regions('host1'))
        self.assertIn('FPGA region %s (IP core %s) is programmed but no '
                      'instance of host host1 holds it; erasing it once it '
                      'has been so for 300 seconds' % (region, IP_ID),
                      self.logs())

        now[0] += 2
        self.run_periodics()

        self.assertEqual([], self.programmed_regions('host1'))
        self.assertIn('Erased orphaned FPGA region %s' % region, self.logs())

    def test_reaping_can_be_switched_off(self):
        self.flags(reap_orphaned_regions=False, group='fpga')
        region = self.fpga.fpga_cli('host1', 'burn', IP_ID)

        self.run_periodics()

        self.assertEqual([region], self.programmed_regions('host1'))
        self.assertEqual((1, 2), self.db_counters('host1'))


class FailedRecordTest(FpgaFaultTestBase):
    """The region cannot be saved on its instance."""

    def test_region_that_cannot_be_saved_is_erased_and_fails_the_build(
            self):
        self.fail_saving_new_regions()

        server = self.boot_fpga(expected_state='ERROR')

        self.assertIn('Cannot record FPGA region', self.fault_message(server))
        self.assertIn('database gone', self.fault_message(server))
        self.assert_burned_then_erased(server)
        self.assertIsNone(self.fpga_device(server))
        self.assertEqual('Used regions: 0/2', self.status('host1'))
        self._delete_server(server)
        self.assert_nothing_left()


class FailedBeforeSpawnTest(FpgaFaultTestBase):
    """The build fails after its region was burned, before the spawn.

    The region is burned from the claim on, while nova-compute readies the
    rest of the build; Nova's own late check of a server group's
    anti-affinity fails such a build for real once the scheduler does not
    enforce the policy (it only lets a race through otherwise).
    """

    def setUp(self):
        super().setUp()
        enabled = CONF.filter_scheduler.enabled_filters
        self.flags(enabled_filters=[
            name for name in enabled
            if name != 'ServerGroupAntiAffinityFilter'],
            group='filter_scheduler')
        self.restart_scheduler()
        # The conductor, which refuses the policy without the filter,
        # reads them at each request.
        self.flags(enabled_filters=enabled, group='filter_scheduler')

    def boot_in_group(self, group, expected_state):
        server = self.api.post_server({
            'server': self._build_server(flavor_id=self.fpga_flavor,
                                         networks='none'),
            'os:scheduler_hints': {'group': group['id']}})
        return self._wait_for_state_change(server, expected_state)

    def test_region_of_a_build_failing_before_its_spawn_is_erased(self):
        group = self.api.post_server_groups(
            {'name': 'apart', 'policy': 'anti-affinity'})
        first = self.boot_in_group(group, 'ACTIVE')
        held = self.fpga_device(first)

        second = self.boot_in_group(group, 'ERROR')

        self.assertIn('Anti-affinity instance group policy was violated',
                      self.logs())
        self.assert_burned_then_erased(second)
        self.assertIsNone(self.fpga_device(second))
        self.assertEqual([held], self.programmed_regions('host1'))
        self.assertEqual('Used regions: 1/2', self.status('host1'))
        self.assertEqual(1, self.region_usage('host1'))
        self._delete_server(second)
        self._delete_server(first)
        self.assert_nothing_left()


class HungFpgaCliTest(FpgaFaultTestBase):
    """Fault 3: fpga-cli hangs."""

    def setUp(self):
        super().setUp()
        self.flags(command_timeout=5, group='fpga')

    def test_hung_status_times_out_and_the_periodic_task_goes_on(self):
        self.fpga.extra_environ['host1'] = {'FPGA_CLI_HANG': 'status'}

        started = time.monotonic()
        self.run_periodics()
        took = time.monotonic() - started

        self.assertIn('fpga-cli status --json did not finish within 5 '
                      'seconds and was killed', self.logs())
        self.assertIn('FPGA of compute node host1 is unusable, reporting '
                      'no free region', self.logs())
        # No free region while the FPGA does not answer.
        self.assertEqual(2, self.region_inventory('host1')['reserved'])
        # One timeout per run, not one per fpga-cli command of it.
        self.assertLess(took, 2 * 5, 'the periodic task took %.1f s' % took)

        del self.fpga.extra_environ['host1']
        self.run_periodics()
        self.assertEqual(0, self.region_inventory('host1')['reserved'])
        self.boot_fpga()

    def test_burn_hung_after_programming_fails_the_build_and_is_reaped(self):
        # The region gets programmed, its id never comes back. Meanwhile
        # the periodic task runs: it must not take the region of the build
        # in progress for an orphan, even without a grace period.
        self.fpga.extra_environ['host1'] = {'FPGA_CLI_HANG': 'burn:after'}
        server = self.api.post_server({'server': self._build_server(
            flavor_id=self.fpga_flavor, networks='none')})
        self.wait_for(lambda: self.used_regions() == 1,
                      'the hung burn to program its region')
        region, = self.programmed_regions('host1')

        self.run_periodics()

        self.assertEqual([region], self.programmed_regions('host1'))

        server = self._wait_for_state_change(server, 'ERROR')
        self.assertIn('fpga-cli burn %s did not finish within 5 seconds and '
                      'was killed' % IP_ID, self.fault_message(server))
        self.assertIsNone(self.fpga_device(server))

        del self.fpga.extra_environ['host1']
        self.run_periodics()

        self.assertIn('Erased orphaned FPGA region %s' % region, self.logs())
        self.assert_nothing_left()


class HungBurnRescheduleTest(FpgaFaultTestBase):
    """Fault 3 with an alternate host: the build goes on elsewhere."""

    REGIONS_BY_HOST = {'host1': 2, 'host3': 2}

    def setUp(self):
        super().setUp()
        self.flags(command_timeout=3, group='fpga')
        # host1 first choice (the RAM weigher spreads), host3 alternate.
        self._create_server(flavor_id=self.plain_flavor, networks='none',
                            host='host3')

    def test_hung_burn_times_out_and_reschedules(self):
        self.fpga.extra_environ['host1'] = {'FPGA_CLI_HANG': 'burn'}

        server = self.boot_fpga()

        self.assertEqual('host3', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual([self.fpga_device(server)],
                         self.programmed_regions('host3'))
        self.assertIn('fpga-cli burn %s did not finish within 3 seconds'
                      % IP_ID, self.logs())
        del self.fpga.extra_environ['host1']
        self.assert_nothing_left('host1')


class ComputeKilledTest(FpgaFaultTestBase):
    """Fault 4: nova-compute dies between a burn and the instance's save."""

    def setUp(self):
        super().setUp()
        # Long enough for the burn never to time out in this test.
        self.flags(command_timeout=600, group='fpga')
        if 'manager_shutdown_timeout' in CONF:
            # Nova 34 waits for builds in progress when a service stops;
            # a killed service does not.
            self.flags(manager_shutdown_timeout=0)

    def test_compute_killed_between_burn_and_save_reaps_region_on_restart(
            self):
        # A process cannot die in a test running every service in one
        # process, so what a death leaves is made for real instead: the
        # build's burn programs a region and hangs before its id reaches
        # Nova; the compute service stops and a new one starts for the
        # host with nothing in memory of the old one (its builds in
        # progress, the orphans it saw). The old build stays hung, doing
        # nothing, until the test has looked.
        self.fpga.extra_environ['host1'] = {'FPGA_CLI_HANG': 'burn:after'}
        hung_builds = []
        program = regions.program_instance_region

        def record_build(instance, conf=None):
            hung_builds.append(eventlet.getcurrent())
            return program(instance, conf)

        self.useFixture(fixtures.MonkeyPatch(
            'nova_fpga.regions.program_instance_region', record_build))
        self.addCleanup(self._end, hung_builds)
        server = self.api.post_server({'server': self._build_server(
            flavor_id=self.fpga_flavor, networks='none')})
        self.wait_for(lambda: hung_builds and self.used_regions() == 1,
                      'the burn to program its region and hang')
        region, = self.programmed_regions('host1')

        self.useFixture(fixtures.MonkeyPatch(
            'nova_fpga.regions.BUILDS', regions.BuildsInProgress()))
        self.useFixture(fixtures.MonkeyPatch(
            'nova_fpga.reconcile.REAPER', reconcile.OrphanReaper()))
        del self.fpga.extra_environ['host1']
        self.restart_compute_service(self.computes['host1'])

        # Nova puts the instance whose build the death cut short in ERROR;
        # the first periodic update of the new service erased its region.
        server = self._wait_for_state_change(server, 'ERROR',
                                             wait_for_fault_key=False)
        self.assertIsNone(self.fpga_device(server))
        self.assertIn('Erased orphaned FPGA region %s (IP core %s): no '
                      'instance of host host1 holds it' % (region, IP_ID),
                      self.logs())
        self.assertEqual([], self.programmed_regions('host1'))
        self.assertEqual('Used regions: 0/2', self.status('host1'))

        self._end(hung_builds)
        self._delete_server(server)
        self.assert_nothing_left()

    def test_region_saved_before_the_death_stays_with_its_instance(self):
        # Killed after the save, before the spawn: the instance holds its
        # region, ERROR or not, until it is deleted.
        spawn_started = []

        def hang_in_spawn(driver, context, instance, *args, **kwargs):
            spawn_started.append(eventlet.getcurrent())
            while True:
                eventlet.sleep(1)

        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.fake.FakeDriver.spawn', hang_in_spawn))
        self.addCleanup(self._end, spawn_started)
        server = self.api.post_server({'server': self._build_server(
            flavor_id=self.fpga_flavor, networks='none')})
        self.wait_for(lambda: spawn_started, 'the spawn to start')
        # Saved before the spawn.
        region = self.fpga_device(server)
        self.assertIsNotNone(region)
        self.assertEqual([region], self.programmed_regions('host1'))

        self.useFixture(fixtures.MonkeyPatch(
            'nova_fpga.regions.BUILDS', regions.BuildsInProgress()))
        self.useFixture(fixtures.MonkeyPatch(
            'nova_fpga.reconcile.REAPER', reconcile.OrphanReaper()))
        self.restart_compute_service(self.computes['host1'])
        server = self._wait_for_state_change(server, 'ERROR',
                                             wait_for_fault_key=False)
        self.run_periodics()

        self.assertEqual(region, self.fpga_device(server))
        self.assertEqual([region], self.programmed_regions('host1'))

        self._end(spawn_started)
        self._delete_server(server)
        self.assert_nothing_left()

    @staticmethod
    def _end(green_threads):
        """End what the stopped service left running, as its death did."""
        for green_thread in green_threads:
            if not green_thread.dead:
                eventlet.kill(green_thread)
        deadline = time.monotonic() + 30
        while any(not green_thread.dead for green_thread in green_threads):
            if time.monotonic() > deadline:
                raise AssertionError('the builds of the stopped service did '
                                     'not end')
            time.sleep(0.1)
