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

"""Fault 5: the Docker daemon is down when an FPGA instance spawns.

The daemon is the test's private dockerd, really stopped; the region is
really programmed by fpga-cli.py before the spawn, and must be erased.
"""

import fixtures

from nova_fpga import regions
from tests.docker.functional import test_docker_boot


class DockerDaemonDownTest(test_docker_boot.DockerFpgaTestBase):

    def setUp(self):
        super().setUp()
        self.daemon_stopped = False
        # The daemon serves the other tests of the class.
        self.addCleanup(self.start_daemon)

    def stop_daemon(self):
        self.daemon.stop()
        self.daemon_stopped = True

    def start_daemon(self):
        if self.daemon_stopped:
            self.daemon.start()
            self.daemon_stopped = False

    def assert_host_works_again(self):
        self.start_daemon()
        self.assertEqual([], self.docker.api.containers(all=True))
        server = self._create_server(
            flavor_id=self.fpga_flavor, image_uuid=self.image_id,
            networks='none')
        self.assertEqual([self.fpga_device(server)],
                         self.programmed_regions('host1'))

    def test_daemon_down_after_the_burn_is_a_clear_fault_and_erases_it(
            self):
        # The failure is real: the daemon is stopped, and the spawn's
        # requests to it fail. Only its moment is chosen: right after the
        # real burn, before the driver's spawn.
        program = regions.program_instance_region
        burned = []

        def program_then_stop_daemon(instance, conf=None):
            region = program(instance, conf)
            if not burned:
                burned.append(region)
                self.stop_daemon()
            return region

        self.useFixture(fixtures.MonkeyPatch(
            'nova_fpga.regions.program_instance_region',
            program_then_stop_daemon))

        server = self._create_server(
            flavor_id=self.fpga_flavor, image_uuid=self.image_id,
            networks='none', expected_state='ERROR')

        self.assertIn('Docker daemon at %s is unreachable' % self.daemon.url,
                      self.fault_message(server))
        region, = burned
        self.assertIn('Erased FPGA region %s of instance %s'
                      % (region, server['id']), self.stdlog.logger.output)
        self.assertIsNone(self.fpga_device(server))
        self.assertEqual('Used regions: 0/2', self.status('host1'))
        self.assertEqual([], self.programmed_regions('host1'))
        self.assert_host_works_again()

    def test_daemon_down_before_the_build_burns_nothing(self):
        self.stop_daemon()

        server = self._create_server(
            flavor_id=self.fpga_flavor, image_uuid=self.image_id,
            networks='none', expected_state='ERROR')

        self.assertIn('Docker daemon at %s is unreachable' % self.daemon.url,
                      self.fault_message(server))
        self.assertEqual('Used regions: 0/2', self.status('host1'))
        self.assert_host_works_again()
