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

"""The Docker daemon going away in the middle of a spawn."""

import docker
from nova.compute import power_state
import pytest

from nova_fpga.virt.docker import driver as docker_driver
from nova_fpga.virt.docker import exception


def spawn(driver, context, instance, image_meta):
    driver.spawn(context, instance, image_meta, injected_files=[],
                 admin_password=None, allocations={})


def names(docker_client):
    return [summary['Names'][0].lstrip('/')
            for summary in docker_client.api.containers(all=True)]


def test_daemon_stopped_mid_spawn_gives_a_clear_error_and_no_orphan(
        driver, make_driver, docker_daemon, docker_client, context,
        busybox_image, make_instance, monkeypatch):
    instance, image_meta = make_instance(busybox_image)
    driver.cache_image(context, busybox_image)
    start = docker.APIClient.start

    def stop_daemon_then_start(client, *args, **kwargs):
        docker_daemon.stop()
        return start(client, *args, **kwargs)

    # The failure is real: the daemon is stopped and the requests to it
    # fail. Only its moment is chosen, after the container was created
    # and before it is started, by stopping the daemon from the call that
    # starts the container.
    monkeypatch.setattr(docker.APIClient, 'start', stop_daemon_then_start)
    try:
        with pytest.raises(exception.DockerUnavailable) as raised:
            spawn(driver, context, instance, image_meta)
        monkeypatch.undo()

        assert docker_daemon.url in str(raised.value)
        # What the compute manager does next fails as clearly.
        with pytest.raises(exception.DockerUnavailable):
            driver.destroy(context, instance, network_info=[])
        with pytest.raises(exception.DockerUnavailable):
            driver.get_available_resource('compute-test')
    finally:
        monkeypatch.undo()
        docker_daemon.start()

    # Back: the container of the failed spawn is still there, under its
    # temporary name, and is no instance.
    assert names(docker_client) == [
        docker_driver.container_name(instance.uuid)
        + docker_driver.SPAWNING_SUFFIX]
    assert driver.list_instance_uuids() == []

    # The service's next resource audit removes it.
    driver.get_available_resource('compute-test')

    assert names(docker_client) == []
    # And the same instance can be built again.
    spawn(driver, context, instance, image_meta)
    assert driver.get_info(instance).state == power_state.RUNNING


def test_restarted_service_removes_what_a_spawn_cut_short_left(
        make_driver, docker_client, context, busybox_image, make_instance):
    crashed = make_driver()
    instance, image_meta = make_instance(busybox_image)
    crashed.spawn(context, instance, image_meta, [], None, {},
                  power_on=False)
    # As if the service died before the spawn gave the container its
    # final name.
    name = docker_driver.container_name(instance.uuid)
    docker_client.api.rename(name, name + docker_driver.SPAWNING_SUFFIX)

    make_driver()

    assert names(docker_client) == []
