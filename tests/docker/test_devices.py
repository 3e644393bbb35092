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

"""Devices of containers: the instance's FPGA region and allowed devices.

Regions are programmed by the real fpga-cli.py on a simulated FPGA, which
(run as root, as these tests are) creates a character device node per
region; the containers run on the real test daemon.
"""

import os
import stat

from nova import exception as nova_exception
import pytest

from nova_fpga.virt.docker import devices
from nova_fpga.virt.docker import driver as docker_driver
from nova_fpga.virt.docker import exception


def spawn(driver, context, instance, image_meta):
    driver.spawn(context, instance, image_meta, injected_files=[],
                 admin_password=None, allocations={})


def run_in(docker_client, instance, command):
    name = docker_driver.container_name(instance.uuid)
    execution = docker_client.api.exec_create(name, ['sh', '-c', command])
    output = docker_client.api.exec_start(execution).decode()
    return docker_client.api.exec_inspect(execution)['ExitCode'], output


def passed_devices(docker_client, instance):
    host_config = docker_client.api.inspect_container(
        docker_driver.container_name(instance.uuid))['HostConfig']
    return [(device['PathOnHost'], device['PathInContainer'])
            for device in host_config['Devices'] or []]


def make_device(path, like='/dev/full'):
    """A character device node at path with the numbers of like."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.mknod(path, 0o660 | stat.S_IFCHR, os.stat(like).st_rdev)
    return str(path)


# The container and its region


def test_container_opens_its_own_region_and_never_sees_another(
        driver, docker_client, context, busybox_image, make_instance,
        fpga_region):
    own, other = fpga_region(), fpga_region()
    # A 2016-style image asks for "the FPGA" by naming region devices.
    instance, image_meta = make_instance(
        busybox_image, {'docker_devices': '%s,%s' % (other, own)},
        fpga_device=own)

    spawn(driver, context, instance, image_meta)

    assert passed_devices(docker_client, instance) == [(own, own)]
    assert run_in(docker_client, instance,
                  'head -c 4 %s | wc -c' % own) == (0, '4\n')
    assert run_in(docker_client, instance, 'echo data > %s' % own)[0] == 0
    assert run_in(docker_client, instance, 'test -e %s' % other)[0] == 1
    assert run_in(docker_client, instance, 'echo $FPGA_DEVICE') == (
        0, own + '\n')
    labels = docker_client.api.inspect_container(
        docker_driver.container_name(instance.uuid))['Config']['Labels']
    assert labels[docker_driver.LABEL_FPGA_DEVICE] == own


def test_region_of_another_container_is_refused_even_when_allowed(
        driver, docker_client, context, busybox_image, make_instance,
        fpga_region, nova_conf, tmp_path):
    # Patterns that miss the regions, and an allowlist that allows them:
    # the label of the first container still keeps its region out of the
    # second, whose build fails naming it.
    nova_conf.config(group='docker',
                     fpga_device_patterns=['/nonexistent/fpga*'],
                     allowed_devices=[str(tmp_path / 'dev' / '*')])
    driver = type(driver)(virtapi=None)
    region = fpga_region()
    first, image_meta = make_instance(busybox_image, fpga_device=region)
    spawn(driver, context, first, image_meta)
    second, image_meta = make_instance(busybox_image,
                                       {'docker_devices': region})

    with pytest.raises(nova_exception.ImageUnacceptable) as raised:
        spawn(driver, context, second, image_meta)

    assert '%s is the FPGA region of another instance' % region in str(
        raised.value)
    assert [docker_driver.container_name(first.uuid)] == [
        summary['Names'][0].lstrip('/')
        for summary in docker_client.api.containers(all=True)]


def test_another_name_for_a_region_device_fails_the_build(
        driver, docker_client, context, busybox_image, make_instance,
        fpga_region, nova_conf, tmp_path):
    own = fpga_region()
    fpga_region()
    region_numbers = os.stat(own).st_rdev
    alias = make_device(tmp_path / 'accel' / 'alias', like=own)
    assert os.stat(alias).st_rdev == region_numbers
    nova_conf.config(group='docker',
                     allowed_devices=[str(tmp_path / 'accel' / '*')])
    driver = type(driver)(virtapi=None)
    instance, image_meta = make_instance(
        busybox_image, {'docker_devices': alias}, fpga_device=own)

    with pytest.raises(nova_exception.ImageUnacceptable) as raised:
        spawn(driver, context, instance, image_meta)

    assert alias in str(raised.value)
    assert 'same device node as FPGA region' in str(raised.value)
    assert docker_client.api.containers(all=True) == []


def test_region_id_that_is_not_a_device_path_passes_no_device(
        driver, docker_client, context, busybox_image, make_instance):
    # What fpga_simulation_mode records, or a vendor's opaque region id.
    instance, image_meta = make_instance(
        busybox_image, fpga_device='simulated-3d4bb88e')

    spawn(driver, context, instance, image_meta)

    assert passed_devices(docker_client, instance) == []


def test_region_device_missing_on_the_host_fails_the_build(
        driver, docker_client, context, busybox_image, make_instance,
        tmp_path):
    missing = str(tmp_path / 'dev' / 'fpga0.9')
    instance, image_meta = make_instance(busybox_image,
                                         fpga_device=missing)

    with pytest.raises(exception.DeviceUnavailable) as raised:
        spawn(driver, context, instance, image_meta)

    assert missing in str(raised.value)
    assert docker_client.api.containers(all=True) == []


# The allowlist


def test_allowed_device_is_passed_at_the_same_path(
        driver, docker_client, context, busybox_image, make_instance,
        nova_conf, tmp_path):
    accelerator = make_device(tmp_path / 'accel' / 'accel0')
    nova_conf.config(group='docker',
                     allowed_devices=[str(tmp_path / 'accel' / 'accel*')])
    driver = type(driver)(virtapi=None)
    instance, image_meta = make_instance(
        busybox_image, {'docker_devices': ' %s ' % accelerator})

    spawn(driver, context, instance, image_meta)

    assert passed_devices(docker_client, instance) == [
        (accelerator, accelerator)]
    assert run_in(docker_client, instance,
                  'test -c %s' % accelerator)[0] == 0


def test_device_outside_the_allowlist_fails_the_build_and_leaves_nothing(
        driver, docker_client, context, glance_server, busybox_archive,
        make_instance):
    # An image of its own, so that "not loaded" can be seen.
    image_id = glance_server.upload_image('asks-for-sda', busybox_archive,
                                          container_format='docker')
    instance, image_meta = make_instance(
        image_id, {'docker_devices': '/dev/sda'})

    with pytest.raises(nova_exception.ImageUnacceptable) as raised:
        spawn(driver, context, instance, image_meta)

    message = str(raised.value)
    assert image_id in message
    assert '/dev/sda is not allowed on this host' in message
    assert docker_client.api.containers(all=True) == []
    assert docker_client.images.list(name='glance-image:' + image_id) == []


@pytest.mark.parametrize('entry, reason', [
    ('/dev/sda:/dev/xvda', 'mapping syntax'),
    ('/dev/sda:/dev/sda:rwm', 'mapping syntax'),
    ('dev/sda', 'not an absolute path'),
    ('/dev/../etc/passwd', "'..' component"),
    ('/dev//sda', 'not a normalized path'),
    ('/dev/./sda', 'not a normalized path'),
])
def test_docker_devices_entries_that_are_not_plain_paths_are_refused(
        entry, reason):
    policy = devices.DevicePolicy(['/dev/*', '/dev/*/*'], ['/dev/fpga*'])

    with pytest.raises(devices.MalformedDeviceRequest) as raised:
        policy.plan(None, [entry], set())

    assert raised.value.device == entry
    assert reason in str(raised.value)


def test_mapping_syntax_fails_the_build_naming_the_entry(
        driver, docker_client, context, busybox_image, make_instance):
    instance, image_meta = make_instance(
        busybox_image, {'docker_devices': '/dev/fpga0:/dev/sda'})

    with pytest.raises(nova_exception.ImageUnacceptable) as raised:
        spawn(driver, context, instance, image_meta)

    assert '/dev/fpga0:/dev/sda uses the host:container mapping syntax' in (
        str(raised.value))
    assert docker_client.api.containers(all=True) == []


def test_allowed_directory_is_refused(tmp_path):
    directory = tmp_path / 'accel' / 'dri'
    make_device(directory / 'card0')
    policy = devices.DevicePolicy([str(tmp_path / 'accel' / '*')], [])

    with pytest.raises(devices.DeviceNotAllowed) as raised:
        policy.plan(None, [str(directory)], set())

    assert 'is not a device node (a directory)' in str(raised.value)


def test_allowed_device_missing_on_the_host_is_unavailable(tmp_path):
    missing = str(tmp_path / 'accel' / 'accel0')
    policy = devices.DevicePolicy([str(tmp_path / 'accel' / '*')], [])

    with pytest.raises(devices.DeviceUnavailable) as raised:
        policy.plan(None, [missing], set())

    assert raised.value.device == missing


def test_symlink_to_a_region_device_is_not_passed(tmp_path):
    region = make_device(tmp_path / 'dev' / 'fpga1.2')
    link = tmp_path / 'accel' / 'fpga'
    link.parent.mkdir()
    link.symlink_to(region)
    policy = devices.DevicePolicy([str(tmp_path / 'accel' / '*')],
                                  [str(tmp_path / 'dev' / 'fpga*')])

    assert policy.plan(None, [str(link)], set()) == []


def test_symlink_to_an_allowed_device_passes_the_target(tmp_path):
    target = make_device(tmp_path / 'accel' / 'accel0')
    link = tmp_path / 'accel' / 'by-name'
    link.symlink_to(target)
    policy = devices.DevicePolicy([str(tmp_path / 'accel' / '*')], [])

    assert policy.plan(None, [str(link)], set()) == [
        devices.DeviceMapping(target, str(link))]


def test_own_region_recorded_on_another_container_is_refused(tmp_path):
    region = make_device(tmp_path / 'dev' / 'fpga0.1')
    policy = devices.DevicePolicy([], [str(tmp_path / 'dev' / 'fpga*')])

    with pytest.raises(devices.DeviceUnavailable) as raised:
        policy.plan(region, [], {region})

    assert 'also of another container' in str(raised.value)


@pytest.mark.parametrize('path, pattern, matches', [
    ('/dev/nvidia0', '/dev/nvidia*', True),
    ('/dev/nvidia/0', '/dev/nvidia*', False),
    ('/dev/dri/card0', '/dev/*', False),
    ('/dev/dri/card0', '/dev/*/card[0-9]', True),
    ('/dev/fpga0.3', '/dev/fpga*', True),
])
def test_glob_patterns_match_one_path_component_at_a_time(
        path, pattern, matches):
    assert devices.path_matches(path, pattern) is matches


def test_docker_devices_property_is_split_on_commas():
    assert devices.parse_docker_devices(
        ' /dev/a, /dev/b,,/dev/a ,') == ['/dev/a', '/dev/b']
    assert devices.parse_docker_devices(None) == []
