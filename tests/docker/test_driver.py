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

"""DockerDriver life cycle against a real Docker daemon."""

import time

import docker
from nova.compute import power_state
from nova.compute import provider_tree
import nova.conf
from nova import exception as nova_exception
import nova.virt.node
from oslo_utils import units
import pytest

from nova_fpga.virt.docker import driver as docker_driver
from nova_fpga.virt.docker import exception

CONF = nova.conf.CONF


def spawn(driver, context, instance, image_meta):
    driver.spawn(context, instance, image_meta, injected_files=[],
                 admin_password=None, allocations={})


def container(docker_client, instance):
    return docker_client.api.inspect_container(
        docker_driver.container_name(instance.uuid))


def run_in(docker_client, instance, command):
    """Run a shell command in the instance's container; (exit, output)."""
    name = docker_driver.container_name(instance.uuid)
    execution = docker_client.api.exec_create(name, ['sh', '-c', command])
    output = docker_client.api.exec_start(execution).decode()
    return docker_client.api.exec_inspect(execution)['ExitCode'], output


def wait_for_state(driver, instance, state, timeout=30):
    deadline = time.monotonic() + timeout
    while driver.get_info(instance).state != state:
        assert time.monotonic() < deadline, (
            'instance still in power state %s'
            % driver.get_info(instance).state)
        time.sleep(0.1)


def test_spawn_runs_one_container_named_after_the_instance_with_flavor_limits(
        driver, docker_client, context, busybox_image, make_instance):
    instance, image_meta = make_instance(busybox_image, vcpus=1,
                                         memory_mb=64, swap=16)

    spawn(driver, context, instance, image_meta)

    details = container(docker_client, instance)
    assert details['Name'] == '/nova-%s' % instance.uuid
    assert details['State']['Status'] == 'running'
    assert details['Config']['Cmd'] == ['/bin/sleep', '3600']
    host_config = details['HostConfig']
    assert host_config['Memory'] == 64 * units.Mi
    assert host_config['MemorySwap'] == 80 * units.Mi
    assert host_config['NanoCpus'] == 10 ** 9
    assert host_config['NetworkMode'] == 'none'
    assert details['Config']['Hostname'] == instance.hostname
    labels = details['Config']['Labels']
    assert labels[docker_driver.LABEL_HOST] == 'compute-test'
    assert labels[docker_driver.LABEL_NODE] == 'compute-test'
    assert labels[docker_driver.LABEL_INSTANCE] == instance.uuid
    assert labels[docker_driver.LABEL_IMAGE] == busybox_image
    # The limit is the kernel's, not only the daemon's record of it.
    _exit, limit = run_in(
        docker_client, instance,
        'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || '
        'cat /sys/fs/cgroup/memory.max')
    assert int(limit) == 64 * units.Mi
    _exit, interfaces = run_in(docker_client, instance, 'ls /sys/class/net')
    assert interfaces.split() == ['lo']
    assert driver.get_info(instance).state == power_state.RUNNING
    assert driver.list_instance_uuids() == [instance.uuid]
    assert driver.list_instances() == [instance.name]
    assert driver.instance_exists(instance)


def test_cpu_limit_never_exceeds_the_host_cpus(
        driver, docker_client, context, busybox_image, make_instance):
    host_cpus = docker_client.info()['NCPU']
    instance, image_meta = make_instance(busybox_image,
                                         vcpus=host_cpus + 3)

    spawn(driver, context, instance, image_meta)

    host_config = container(docker_client, instance)['HostConfig']
    assert host_config['NanoCpus'] == host_cpus * 10 ** 9
    assert host_config['CpuShares'] == 1024 * (host_cpus + 3)


def test_os_command_line_replaces_the_image_command_and_logs_are_console(
        driver, docker_client, context, busybox_image, make_instance):
    instance, image_meta = make_instance(busybox_image, {
        'os_command_line': 'sh -c "echo \'hello from\' $(hostname); '
                           'exec sleep 3600"'})

    spawn(driver, context, instance, image_meta)

    assert container(docker_client, instance)['Config']['Cmd'] == [
        'sh', '-c', "echo 'hello from' $(hostname); exec sleep 3600"]
    deadline = time.monotonic() + 10
    while b'hello from' not in driver.get_console_output(context, instance):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert driver.get_console_output(context, instance) == (
        b'hello from %s\n' % instance.hostname.encode())


def test_console_output_is_the_end_of_a_long_log(
        driver, context, busybox_image, make_instance):
    # 200 KiB of log, twice what the console shows.
    instance, image_meta = make_instance(busybox_image, {
        'os_command_line': 'sh -c "head -c 204800 /dev/zero | od -v -An '
                           '| head -c 204800; echo; echo last-line; '
                           'exec sleep 3600"'})

    spawn(driver, context, instance, image_meta)

    deadline = time.monotonic() + 20
    while b'last-line' not in driver.get_console_output(context, instance):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    output = driver.get_console_output(context, instance)
    assert len(output) == docker_driver.MAX_CONSOLE_BYTES
    assert output.endswith(b'last-line\n')


def test_power_states_follow_the_container(
        driver, docker_client, context, busybox_image, make_instance):
    instance, image_meta = make_instance(busybox_image)
    spawn(driver, context, instance, image_meta)

    driver.pause(instance)
    assert driver.get_info(instance).state == power_state.PAUSED
    assert container(docker_client, instance)['State']['Paused']
    driver.unpause(instance)
    assert driver.get_info(instance).state == power_state.RUNNING

    driver.power_off(instance, timeout=0)
    assert driver.get_info(instance).state == power_state.SHUTDOWN
    assert not container(docker_client, instance)['State']['Running']
    driver.power_on(context, instance, network_info=[])
    assert driver.get_info(instance).state == power_state.RUNNING

    # A paused instance can be powered off, and comes back running.
    driver.pause(instance)
    driver.power_off(instance, timeout=0)
    assert driver.get_info(instance).state == power_state.SHUTDOWN
    driver.power_on(context, instance, network_info=[])
    assert driver.get_info(instance).state == power_state.RUNNING


def test_reboot_restarts_the_container(
        driver, docker_client, context, busybox_image, make_instance):
    instance, image_meta = make_instance(busybox_image)
    spawn(driver, context, instance, image_meta)

    for reboot_type in ('HARD', 'SOFT'):
        started = container(docker_client, instance)['State']['StartedAt']
        driver.reboot(context, instance, [], reboot_type)
        state = container(docker_client, instance)['State']
        assert state['Running']
        assert state['StartedAt'] != started, reboot_type

    driver.pause(instance)
    driver.reboot(context, instance, [], 'HARD')
    assert driver.get_info(instance).state == power_state.RUNNING


def test_a_container_that_exited_shows_shutdown(
        driver, context, busybox_image, make_instance):
    instance, image_meta = make_instance(busybox_image,
                                         {'os_command_line': 'true'})

    spawn(driver, context, instance, image_meta)

    wait_for_state(driver, instance, power_state.SHUTDOWN)
    driver.power_on(context, instance, network_info=[])
    wait_for_state(driver, instance, power_state.SHUTDOWN)


def test_resume_state_on_host_boot_starts_a_stopped_container(
        driver, context, busybox_image, make_instance):
    instance, image_meta = make_instance(busybox_image)
    spawn(driver, context, instance, image_meta)
    driver.power_off(instance, timeout=0)

    driver.resume_state_on_host_boot(context, instance, [], None)

    assert driver.get_info(instance).state == power_state.RUNNING


def test_spawn_without_power_on_leaves_the_container_stopped(
        driver, context, busybox_image, make_instance):
    instance, image_meta = make_instance(busybox_image)

    driver.spawn(context, instance, image_meta, [], None, {},
                 power_on=False)

    assert driver.get_info(instance).state == power_state.SHUTDOWN
    # Not taken for the leftover of a failed spawn.
    driver.get_available_resource(driver.get_available_nodes()[0])
    assert driver.instance_exists(instance)


def test_destroy_leaves_no_container_and_no_volume(
        driver, docker_client, context, busybox_image, make_instance):
    instance, image_meta = make_instance(busybox_image)
    spawn(driver, context, instance, image_meta)
    # The image declares a volume: the container got an anonymous one.
    volumes = [mount['Name'] for mount in
               container(docker_client, instance)['Mounts']]
    assert len(volumes) == 1

    driver.destroy(context, instance, network_info=[])

    with pytest.raises(docker.errors.NotFound):
        container(docker_client, instance)
    assert docker_client.api.containers(all=True) == []
    assert [volume.name for volume in docker_client.volumes.list()
            if volume.name in volumes] == []
    with pytest.raises(nova_exception.InstanceNotFound):
        driver.get_info(instance)
    assert driver.list_instance_uuids() == []
    assert not driver.instance_exists(instance)
    # Destroying again (a retried delete) is not an error.
    driver.destroy(context, instance, network_info=[])


def test_operations_on_a_missing_container_raise_instance_not_found(
        driver, context, busybox_image, make_instance):
    instance, _image_meta = make_instance(busybox_image)

    for operation in (lambda: driver.get_info(instance),
                      lambda: driver.pause(instance),
                      lambda: driver.power_off(instance),
                      lambda: driver.power_on(context, instance, []),
                      lambda: driver.reboot(context, instance, [], 'HARD'),
                      lambda: driver.get_console_output(context, instance)):
        with pytest.raises(nova_exception.InstanceNotFound):
            operation()


def test_init_host_names_the_socket_of_an_unreachable_daemon(
        nova_conf, tmp_path):
    socket = tmp_path / 'no-daemon.sock'
    nova_conf.config(group='docker', host_url='unix://%s' % socket)
    driver = docker_driver.DockerDriver(virtapi=None)

    with pytest.raises(exception.DockerUnavailable) as raised:
        driver.init_host(CONF.host)

    message = str(raised.value)
    assert 'unix://%s' % socket in message
    assert 'No such file or directory' in message
    assert '[docker] host_url' in message


def test_available_resource_is_the_daemon_host(
        driver, docker_client, docker_daemon):
    info = docker_client.info()

    resources = driver.get_available_resource('compute-test')

    assert resources['vcpus'] == info['NCPU']
    assert resources['memory_mb'] == info['MemTotal'] // units.Mi
    assert resources['local_gb'] > 0
    assert resources['hypervisor_type'] == 'docker'
    assert resources['hypervisor_hostname'] == 'compute-test'
    assert resources['hypervisor_version'] >= 17000000
    assert resources['supported_instances'] == [('x86_64', 'docker', 'exe')]
    assert driver.get_available_nodes() == ['compute-test']
    assert driver.get_host_ip_addr() == '127.0.0.1'


def test_update_provider_tree_reports_vcpu_memory_and_disk(
        driver, docker_client, nova_conf):
    nova_conf.config(reserved_host_memory_mb=256, cpu_allocation_ratio=2.0)
    tree = provider_tree.ProviderTree()
    tree.new_root('compute-test', nova.virt.node.get_local_node_uuid())
    info = docker_client.info()

    driver.update_provider_tree(tree, 'compute-test')

    inventory = tree.data('compute-test').inventory
    assert sorted(inventory) == ['DISK_GB', 'MEMORY_MB', 'VCPU']
    assert inventory['VCPU']['total'] == info['NCPU']
    assert inventory['VCPU']['allocation_ratio'] == 2.0
    assert inventory['MEMORY_MB']['total'] == info['MemTotal'] // units.Mi
    assert inventory['MEMORY_MB']['reserved'] == 256
    assert inventory['DISK_GB']['total'] > 0


def test_node_identity_survives_a_restart(make_driver, nova_conf):
    first = make_driver().get_nodenames_by_uuid()
    # A restarted service: a new process forgets the identity it held.
    nova.virt.node.LOCAL_NODE_UUID = None

    second = make_driver().get_nodenames_by_uuid()

    assert first == second
    [(node_uuid, nodename)] = first.items()
    assert nodename == 'compute-test'
    with open('%s/compute_id' % CONF.state_path) as compute_id:
        assert compute_id.read().strip() == node_uuid


def test_capabilities_claim_only_what_the_driver_does(driver):
    claimed = sorted(name for name, value in driver.capabilities.items()
                     if value)
    assert claimed == ['has_imagecache']
