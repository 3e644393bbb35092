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

"""FPGA flavors booted as containers, end to end.

The patched Nova's API, conductor, scheduler and compute services run in
process (see tests/nova/functional); the compute service runs
``compute_driver = docker.DockerDriver`` against a real, private Docker
daemon, and the real ``fpga-cli.py`` programs the regions of a simulated
FPGA, whose device nodes it creates (the tests run as root).
"""

import io
import os
import tempfile
import time

import docker

from nova import context as nova_context

from nova_fpga import conf_docker  # noqa: F401 (registers [docker])
from tests.docker import dockerd
from tests.docker import image_builder
from tests.nova.functional import test_fpga_boot

BUSYBOX_REFERENCE = 'nova-fpga-test/busybox:latest'


class DockerFpgaTestBase(test_fpga_boot.FpgaTestBase):
    """host1: a Docker compute with a two-region FPGA."""

    compute_driver = 'docker.DockerDriver'
    REGIONS_BY_HOST = {'host1': 2}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.daemon = dockerd.PrivateDockerDaemon(
            tempfile.mkdtemp(prefix='nova-fpga-dockerd-'))
        try:
            cls.daemon.start()
            client = cls.daemon.client()
            try:
                cls.archive = image_builder.build_archive(
                    client, BUSYBOX_REFERENCE, ['CMD ["/bin/sleep", "3600"]'])
            finally:
                client.close()
        except Exception:
            cls.daemon.stop()
            cls.daemon.remove_state()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.daemon.remove_state()
        super().tearDownClass()

    def _start_compute(self, host, cell_name=None):
        # The driver reads its options when the compute service starts.
        # The default pattern, and where the simulated FPGA of the host
        # makes its region devices.
        self.flags(group='docker', host_url=self.daemon.url,
                   fpga_device_patterns=['/dev/fpga*', os.path.join(
                       self.fpga.base_dir, host, 'dev', 'fpga*')])
        return super()._start_compute(host, cell_name=cell_name)

    def setUp(self):
        super().setUp()
        self.docker = self.daemon.client()
        self.addCleanup(self.docker.close)
        self.addCleanup(self._remove_containers)
        self.image_id = self.glance.create(
            nova_context.get_admin_context(),
            {'name': 'busybox', 'container_format': 'docker',
             'disk_format': 'raw',
             # How 2016 images asked for the FPGA.
             'properties': {'docker_devices': '/dev/fpga0,/dev/fpga1'}},
            data=io.BytesIO(self.archive))['id']

    def _remove_containers(self):
        for container in self.docker.api.containers(all=True):
            self.docker.api.remove_container(container['Id'], force=True,
                                             v=True)

    def container(self, server):
        return self.docker.api.inspect_container('nova-' + server['id'])

    def run_in(self, server, command):
        execution = self.docker.api.exec_create('nova-' + server['id'],
                                                ['sh', '-c', command])
        output = self.docker.api.exec_start(execution).decode()
        return self.docker.api.exec_inspect(execution)['ExitCode'], output


class DockerFpgaBootTest(DockerFpgaTestBase):

    def test_fpga_flavor_boots_a_container_with_its_region_device(self):
        server = self._create_server(
            flavor_id=self.fpga_flavor, image_uuid=self.image_id,
            networks='none')

        region = self.fpga_device(server)
        self.assertEqual('Used regions: 1/2', self.status('host1'))
        self.assertEqual([region], self.programmed_regions('host1'))
        self.assertTrue(self.container(server)['State']['Running'])
        self.assertEqual(
            [{'PathOnHost': region, 'PathInContainer': region,
              'CgroupPermissions': 'rwm'}],
            self.container(server)['HostConfig']['Devices'])
        self.assertEqual((0, '4\n'),
                         self.run_in(server, 'head -c 4 %s | wc -c' % region))
        self.assertEqual('ACTIVE', server['status'])

        self._delete_server(server)

        self.assertRaises(docker.errors.NotFound, self.container, server)
        self.assertEqual([], self.docker.api.containers(all=True))
        self.assertEqual('Used regions: 0/2', self.status('host1'))
        self.assertEqual([], self.programmed_regions('host1'))

    def test_two_instances_see_only_their_own_region(self):
        first = self._create_server(
            flavor_id=self.fpga_flavor, image_uuid=self.image_id,
            networks='none')
        second = self._create_server(
            flavor_id=self.fpga_flavor, image_uuid=self.image_id,
            networks='none')

        self.assertEqual('Used regions: 2/2', self.status('host1'))
        first_region = self.fpga_device(first)
        second_region = self.fpga_device(second)
        self.assertNotEqual(first_region, second_region)
        self.assertEqual(0, self.run_in(first, 'test -c ' + first_region)[0])
        self.assertEqual(1, self.run_in(first, 'test -e ' + second_region)[0])
        self.assertEqual(0, self.run_in(second,
                                        'test -c ' + second_region)[0])
        self.assertEqual(1, self.run_in(second,
                                        'test -e ' + first_region)[0])

    def test_disallowed_device_fails_the_build_and_erases_the_region(self):
        image_id = self.glance.create(
            nova_context.get_admin_context(),
            {'name': 'wants-sda', 'container_format': 'docker',
             'disk_format': 'raw',
             'properties': {'docker_devices': '/dev/sda'}},
            data=io.BytesIO(self.archive))['id']

        server = self._create_server(
            flavor_id=self.fpga_flavor, image_uuid=image_id,
            networks='none', expected_state='ERROR')

        self.assertIn('/dev/sda is not allowed on this host',
                      self.fault_message(server))
        self.assertEqual([], self.docker.api.containers(all=True))
        self.assertEqual('Used regions: 0/2', self.status('host1'))

    def containers_with_event(self, event, since):
        """Names of the containers with the event since (epoch seconds)."""
        return [event['Actor']['Attributes']['name']
                for event in self.docker.api.events(
                    since=since, until=int(time.time()) + 1,
                    filters={'event': event}, decode=True)]

    def test_region_another_instance_holds_never_reaches_a_container(self):
        # The build refuses it against the host's instances before the
        # spawn; the driver would against the daemon's containers.
        self.flags(orphaned_region_grace_period=0, group='fpga')
        first = self._create_server(
            flavor_id=self.fpga_flavor, image_uuid=self.image_id,
            networks='none')
        held = self.fpga_device(first)
        self.flags(fpga_exec=self.tool_answering_burn_with(held))
        since = int(time.time()) - 1

        second = self._create_server(
            flavor_id=self.fpga_flavor, image_uuid=self.image_id,
            networks='none', expected_state='ERROR')

        self.assertIn(held, self.fault_message(second))
        self.assertEqual([], [name for name in
                              self.containers_with_event('create', since)
                              if second['id'] in name])
        self.assertEqual(['/nova-' + first['id']], [
            name for container in self.docker.api.containers(all=True)
            for name in container['Names']])
        self.assertTrue(self.container(first)['State']['Running'])
        self.assertEqual(held, self.fpga_device(first))
        self.assertIsNone(self.fpga_device(second))

    def test_region_that_cannot_be_saved_never_reaches_a_container(self):
        self.fail_saving_new_regions()
        since = int(time.time()) - 1

        server = self._create_server(
            flavor_id=self.fpga_flavor, image_uuid=self.image_id,
            networks='none', expected_state='ERROR')

        self.assertIn('Cannot record FPGA region', self.fault_message(server))
        self.assertEqual([], self.containers_with_event('create', since))
        self.assertEqual([], self.docker.api.containers(all=True))
        self.assertEqual('Used regions: 0/2', self.status('host1'))
        self.assertEqual([], self.programmed_regions('host1'))
