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

"""Fixtures of the Docker driver tests.

One real Docker daemon (:mod:`tests.docker.dockerd`) and one real Glance
(:mod:`tests.glance.fixture`) serve the whole session; each test gets a
Nova configuration of its own pointing at them, and leaves no container
behind in the daemon.
"""

import tempfile
import time

import nova.conf
from nova import context as nova_context
from nova import objects
import nova.virt.node
from oslo_config import fixture as config_fixture
import pytest

from nova_fpga import conf_docker  # noqa: F401 (registers [docker])
from tests.docker import dockerd
from tests.docker import image_builder
from tests.docker import nova_objects
from tests.glance import fixture as glance_fixture

CONF = nova.conf.CONF

# End-to-end tests on Nova's in-process services: their base classes need
# stestr (see run-tests.sh).
collect_ignore = ['functional']

glance_server = glance_fixture.glance_server

#: The test image: busybox sleeping, a volume to check destroy removes it.
BUSYBOX_REFERENCE = 'nova-fpga-test/busybox:latest'
BUSYBOX_CHANGES = ('CMD ["/bin/sleep", "3600"]', 'VOLUME ["/data"]')

_DAEMONS = []
_RECORDS = []

objects.register_all()


@pytest.fixture(scope='session')
def docker_daemon():
    """A private dockerd for the session, stopped by pid at the end."""
    # Under the system's temporary directory rather than pytest's, whose
    # long paths would not fit a unix socket's 108 characters.
    daemon = dockerd.PrivateDockerDaemon(
        tempfile.mkdtemp(prefix='nova-fpga-dockerd-'))
    _DAEMONS.append(daemon)
    started = time.monotonic()
    try:
        daemon.start()
    except dockerd.DaemonError as e:
        daemon.remove_state()
        pytest.fail('cannot start the test Docker daemon: %s' % e)
    _RECORDS.append('Docker daemon %s: started in %.1f s'
                    % (daemon.url, time.monotonic() - started))
    try:
        yield daemon
    finally:
        stopping = time.monotonic()
        daemon.stop()
        _RECORDS.append('Docker daemon %s: stopped in %.1f s'
                        % (daemon.url, time.monotonic() - stopping))
        _DAEMONS.remove(daemon)
        daemon.remove_state()


@pytest.fixture
def docker_client(docker_daemon):
    """A client of the test daemon; the test's containers go afterwards."""
    client = docker_daemon.client()
    try:
        yield client
    finally:
        for container in client.api.containers(all=True):
            client.api.remove_container(container['Id'], v=True,
                                        force=True)
        client.close()


@pytest.fixture(scope='session')
def busybox_archive(docker_daemon):
    """``docker save`` of the busybox test image (bytes)."""
    client = docker_daemon.client()
    try:
        return image_builder.build_archive(client, BUSYBOX_REFERENCE,
                                           BUSYBOX_CHANGES)
    finally:
        client.close()


@pytest.fixture(scope='session')
def busybox_image(glance_server, busybox_archive):
    """Glance id of the busybox test image, uploaded once."""
    return glance_server.upload_image(
        'busybox', busybox_archive, container_format='docker')


@pytest.fixture
def nova_conf(docker_daemon, glance_server, tmp_path):
    """Nova's configuration for one compute service of the test."""
    # Nova reads options (config_file among them) that exist only once the
    # configuration was parsed; the fixture's clean-up forgets them again.
    CONF([], project='nova', default_config_files=[],
         default_config_dirs=[])
    fixture = config_fixture.Config(CONF)
    fixture.setUp()
    state_path = tmp_path / 'state'
    state_path.mkdir()
    fixture.config(host='compute-test', state_path=str(state_path),
                   instances_path=str(state_path / 'instances'),
                   my_ip='127.0.0.1', shutdown_timeout=2)
    fixture.config(group='glance', endpoint_override=glance_server.url,
                   num_retries=0)
    fixture.config(group='docker', host_url=docker_daemon.url,
                   api_timeout=60, allowed_devices=[],
                   fpga_device_patterns=[str(tmp_path / 'dev' / 'fpga*')],
                   image_download_dir=str(tmp_path / 'downloads'))
    # Nova keeps the node identity of the process in a global; each test
    # is a new compute host.
    nova.virt.node.LOCAL_NODE_UUID = None
    try:
        yield fixture
    finally:
        nova.virt.node.LOCAL_NODE_UUID = None
        fixture.cleanUp()


@pytest.fixture
def context(glance_server):
    """A request context whose token the test Glance accepts."""
    return nova_context.RequestContext(
        user_id='test-user', project_id='test-project', is_admin=True,
        auth_token=glance_server.token)


@pytest.fixture
def make_driver(nova_conf, docker_client):
    """Factory of started DockerDrivers: make_driver(host='compute-test')."""
    from nova_fpga.virt.docker import driver as docker_driver

    drivers = []

    def make(host=None, init=True):
        if host is not None:
            nova_conf.config(host=host)
        compute_driver = docker_driver.DockerDriver(virtapi=None)
        if init:
            compute_driver.init_host(CONF.host)
        drivers.append(compute_driver)
        return compute_driver

    try:
        yield make
    finally:
        for compute_driver in drivers:
            compute_driver.cleanup_host(None)


@pytest.fixture
def driver(make_driver):
    return make_driver()


@pytest.fixture
def make_instance():
    return nova_objects.make_instance


@pytest.fixture
def fpga_region(fpga):
    """burn(ip_id='...') -> a region id of the simulated FPGA."""
    from tests import fpga_sim

    def burn(ip_id='3d4bb88e-5b5e-4e6c-9a49-6a4b6f0c0d61'):
        result = fpga_sim.run_fpga_cli(fpga, 'burn', ip_id)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()
    return burn


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        for daemon in _DAEMONS:
            report.sections.append((
                'dockerd log, last %d lines of %s'
                % (dockerd.LOG_TAIL_LINES, daemon.log_path),
                daemon.log_tail()))
    return report


def pytest_terminal_summary(terminalreporter):
    for record in _RECORDS:
        terminalreporter.write_line(record)
