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

"""Two compute services sharing one Docker daemon, as in the all-in-one
cloud: each sees, counts, reaps and destroys only its own containers."""

from nova.compute import power_state
from nova import exception as nova_exception
import pytest

from nova_fpga.virt.docker import driver as docker_driver
from nova_fpga.virt.docker import exception


def spawn(driver, context, instance, image_meta):
    driver.spawn(context, instance, image_meta, injected_files=[],
                 admin_password=None, allocations={})


def leftover_of(docker_client, compute, instance, busybox_image):
    """A container as a spawn of compute that never finished leaves it."""
    image = docker_client.images.get('glance-image:' + busybox_image)
    return docker_client.api.create_container(
        image.id, name=docker_driver.container_name(instance.uuid)
        + docker_driver.SPAWNING_SUFFIX,
        labels={docker_driver.LABEL_HOST: compute,
                docker_driver.LABEL_NODE: compute,
                docker_driver.LABEL_INSTANCE: instance.uuid,
                docker_driver.LABEL_IMAGE: busybox_image})['Id']


def names(docker_client):
    return sorted(summary['Names'][0].lstrip('/')
                  for summary in docker_client.api.containers(all=True))


@pytest.fixture
def two_computes(make_driver, make_instance, context, busybox_image):
    compute_a = make_driver(host='compute-a')
    instance_a, image_meta = make_instance(busybox_image)
    spawn(compute_a, context, instance_a, image_meta)
    compute_b = make_driver(host='compute-b')
    instance_b, image_meta = make_instance(busybox_image)
    spawn(compute_b, context, instance_b, image_meta)
    return compute_a, instance_a, compute_b, instance_b


def test_each_service_lists_and_counts_only_its_own_containers(
        two_computes):
    compute_a, instance_a, compute_b, instance_b = two_computes

    assert compute_a.list_instance_uuids() == [instance_a.uuid]
    assert compute_b.list_instance_uuids() == [instance_b.uuid]
    assert compute_a.list_instances() == [instance_a.name]
    assert compute_a.get_num_instances() == 1
    assert compute_a.instance_exists(instance_a)
    assert not compute_a.instance_exists(instance_b)


def test_a_service_never_touches_the_container_of_another(
        two_computes, context, docker_client):
    compute_a, _instance_a, compute_b, instance_b = two_computes

    compute_a.destroy(context, instance_b, network_info=[])
    for operation in (lambda: compute_a.get_info(instance_b),
                      lambda: compute_a.power_off(instance_b),
                      lambda: compute_a.pause(instance_b),
                      lambda: compute_a.reboot(context, instance_b, [],
                                               'HARD')):
        with pytest.raises(nova_exception.InstanceNotFound):
            operation()

    assert compute_b.get_info(instance_b).state == power_state.RUNNING


def test_a_service_refuses_to_spawn_over_the_container_of_another(
        two_computes, context, docker_client, busybox_image, make_instance):
    compute_a, _instance_a, _compute_b, instance_b = two_computes
    _instance, image_meta = make_instance(busybox_image)

    with pytest.raises(exception.ContainerOwnedElsewhere) as raised:
        spawn(compute_a, context, instance_b, image_meta)

    assert 'compute-b' in str(raised.value)
    assert docker_driver.container_name(instance_b.uuid) in names(
        docker_client)
    assert docker_client.api.inspect_container(
        docker_driver.container_name(instance_b.uuid))['State']['Running']


def test_each_service_reaps_only_its_own_leftovers(
        two_computes, context, docker_client, make_instance, busybox_image):
    compute_a, _instance_a, compute_b, _instance_b = two_computes
    stranded_a, _image_meta = make_instance(busybox_image)
    stranded_b, _image_meta = make_instance(busybox_image)
    leftover_of(docker_client, 'compute-a', stranded_a, busybox_image)
    leftover_of(docker_client, 'compute-b', stranded_b, busybox_image)
    assert len(names(docker_client)) == 4
    # Leftovers are not instances.
    assert stranded_a.uuid not in compute_a.list_instance_uuids()

    compute_a.get_available_resource('compute-a')

    remaining = names(docker_client)
    assert docker_driver.container_name(stranded_a.uuid) + \
        docker_driver.SPAWNING_SUFFIX not in remaining
    assert docker_driver.container_name(stranded_b.uuid) + \
        docker_driver.SPAWNING_SUFFIX in remaining
    assert len(remaining) == 3

    compute_b.init_host('compute-b')

    assert len(names(docker_client)) == 2
