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

"""Glance images loaded into the daemon, and their cache.

The images live in the real test Glance; the driver downloads them
through Nova's image API, and its access log tells how often it did.
"""

import io
import json
import os
import tarfile

from nova import exception as nova_exception
from oslo_utils import uuidutils
import pytest

from nova_fpga.virt.docker import driver as docker_driver
from nova_fpga.virt.docker import images
from tests.docker import image_builder


def spawn(driver, context, instance, image_meta):
    driver.spawn(context, instance, image_meta, injected_files=[],
                 admin_password=None, allocations={})


def downloads(glance_server, image_id):
    """How many times Glance served the image's data."""
    with open(glance_server.log_path, errors='replace') as log:
        return sum(1 for line in log
                   if 'GET /v2/images/%s/file' % image_id in line)


def rewrite_archive(archive, transform):
    """A copy of a tar archive with transform(name, data) -> data applied."""
    result = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(archive)) as source, \
            tarfile.open(fileobj=result, mode='w') as target:
        for member in source.getmembers():
            data = (source.extractfile(member).read()
                    if member.isfile() else None)
            if data is not None:
                data = transform(member.name, data)
                member.size = len(data)
                target.addfile(member, io.BytesIO(data))
            else:
                target.addfile(member)
    return result.getvalue()


def assert_nothing_left(docker_client, image_id, download_dir):
    assert docker_client.api.containers(all=True) == []
    assert docker_client.images.list(
        name=images.cache_reference(image_id)) == []
    assert not os.path.isdir(download_dir) or os.listdir(download_dir) == []


def test_second_boot_of_an_image_does_not_download_it_again(
        driver, docker_client, context, glance_server, busybox_archive,
        make_instance):
    image_id = glance_server.upload_image('cached', busybox_archive,
                                          container_format='docker')
    first, image_meta = make_instance(image_id)
    spawn(driver, context, first, image_meta)
    assert downloads(glance_server, image_id) == 1
    cached = docker_client.images.get(images.cache_reference(image_id))

    second, image_meta = make_instance(image_id)
    spawn(driver, context, second, image_meta)

    assert downloads(glance_server, image_id) == 1
    assert docker_client.api.inspect_container(
        docker_driver.container_name(second.uuid))['Image'] == cached.id
    assert sorted(driver.list_instance_uuids()) == sorted(
        [first.uuid, second.uuid])


def test_cache_image_loads_once(driver, context, glance_server,
                                busybox_archive):
    image_id = glance_server.upload_image('pre-cached', busybox_archive,
                                          container_format='docker')

    assert driver.cache_image(context, image_id) is True
    assert driver.cache_image(context, image_id) is False
    assert downloads(glance_server, image_id) == 1


def test_archive_names_never_replace_names_on_the_host(
        driver, docker_client, context, glance_server, make_instance):
    # The host runs an image under a name; a tenant uploads an archive
    # carrying the same name.
    host_image = image_builder.build_image(
        docker_client, 'registry.example/infra/agent:latest',
        extra_files={'marker': b'host'})
    tenant_archive = image_builder.build_archive(
        docker_client, 'registry.example/infra/tenant-build:latest',
        changes=['CMD ["/bin/sleep", "3600"]'],
        extra_files={'marker': b'tenant'})
    tenant_archive = rewrite_archive(
        tenant_archive,
        lambda name, data: data.replace(
            b'registry.example/infra/tenant-build:latest',
            b'registry.example/infra/agent:latest')
        if name == 'manifest.json' else data)
    image_id = glance_server.upload_image('tenant', tenant_archive,
                                          container_format='docker')
    instance, image_meta = make_instance(image_id)

    spawn(driver, context, instance, image_meta)

    assert docker_client.images.get(
        'registry.example/infra/agent:latest').id == host_image
    assert docker_client.images.get(
        images.cache_reference(image_id)).tags == [
            images.cache_reference(image_id)]
    docker_client.images.remove('registry.example/infra/agent:latest')


def test_wrong_container_format_fails_the_build_naming_the_image(
        driver, docker_client, context, glance_server, busybox_archive,
        make_instance, nova_conf):
    image_id = glance_server.upload_image('bare', busybox_archive,
                                          container_format='bare')
    instance, image_meta = make_instance(image_id, container_format='bare')

    with pytest.raises(nova_exception.ImageUnacceptable) as raised:
        spawn(driver, context, instance, image_meta)

    assert image_id in str(raised.value)
    assert "container format is 'bare'" in str(raised.value)
    # Without the instance's metadata, the Glance record tells.
    with pytest.raises(nova_exception.ImageUnacceptable):
        driver.cache_image(context, image_id)
    assert downloads(glance_server, image_id) == 0
    assert_nothing_left(docker_client, image_id,
                        nova_conf.conf.docker.image_download_dir)


@pytest.mark.parametrize('damage, reason', [
    (lambda archive: b'this is no tar archive' * 100,
     'not a readable tar archive'),
    (lambda archive: archive[:len(archive) // 2],
     'not a readable tar archive'),
    (lambda archive: rewrite_archive(
        archive, lambda name, data: data.replace(b'BusyBox', b'BadBox')
        if name.endswith('layer.tar') else data),
     'the Docker daemon cannot load it'),
    (lambda archive: rewrite_archive(
        archive, lambda name, data: data
        if name != 'manifest.json' else json.dumps(
            json.loads(data) * 2).encode()),
     'it holds 2 images'),
    (lambda archive: rewrite_archive(
        archive, lambda name, data: b'{"not": "a list"}'
        if name == 'manifest.json' else data),
     'does not list images'),
], ids=['garbage', 'truncated', 'tampered-layer', 'two-images',
        'bad-manifest'])
def test_unusable_archive_fails_the_build_and_leaves_nothing(
        damage, reason, driver, docker_client, context, glance_server,
        make_instance, nova_conf):
    # Content of its own: the daemon skips reading a layer it already
    # holds, so damage to a known layer would go unnoticed, harmlessly.
    archive = image_builder.build_archive(
        docker_client, 'nova-fpga-test/damaged:latest',
        extra_files={'marker': uuidutils.generate_uuid().encode()})
    image_id = glance_server.upload_image(
        'damaged', damage(archive), container_format='docker')
    instance, image_meta = make_instance(image_id)

    with pytest.raises(nova_exception.ImageUnacceptable) as raised:
        spawn(driver, context, instance, image_meta)

    assert image_id in str(raised.value)
    assert reason in str(raised.value)
    assert_nothing_left(docker_client, image_id,
                        nova_conf.conf.docker.image_download_dir)


def test_unused_images_are_kept_until_the_cache_pass_ages_them_out(
        driver, docker_client, context, glance_server, busybox_archive,
        make_instance, nova_conf):
    unused = glance_server.upload_image('unused', busybox_archive,
                                        container_format='docker')
    in_use = glance_server.upload_image('in-use', busybox_archive,
                                        container_format='docker')
    # Same content as the other, so also a check that removing one tag
    # never takes away the image under the other.
    instance, image_meta = make_instance(unused)
    spawn(driver, context, instance, image_meta)
    driver.destroy(context, instance, network_info=[])
    instance, image_meta = make_instance(in_use)
    spawn(driver, context, instance, image_meta)
    assert images.cache_reference(unused) in [
        tag for image in docker_client.images.list() for tag in image.tags]

    nova_conf.config(group='image_cache',
                     remove_unused_original_minimum_age_seconds=3600)
    driver.manage_image_cache(context, [])
    assert docker_client.images.list(name=images.cache_reference(unused))

    nova_conf.config(group='image_cache',
                     remove_unused_original_minimum_age_seconds=0)
    driver.manage_image_cache(context, [])
    assert docker_client.images.list(
        name=images.cache_reference(unused)) == []
    assert docker_client.images.list(name=images.cache_reference(in_use))


def test_without_keep_unused_images_destroy_removes_the_image(
        driver, docker_client, context, glance_server, busybox_archive,
        make_instance, nova_conf):
    nova_conf.config(group='docker', keep_unused_images=False)
    image_id = glance_server.upload_image('not-kept', busybox_archive,
                                          container_format='docker')
    first, image_meta = make_instance(image_id)
    spawn(driver, context, first, image_meta)
    second, image_meta = make_instance(image_id)
    spawn(driver, context, second, image_meta)

    driver.destroy(context, first, network_info=[])
    # Still used by the second container.
    assert docker_client.images.list(name=images.cache_reference(image_id))

    driver.destroy(context, second, network_info=[])
    assert docker_client.images.list(
        name=images.cache_reference(image_id)) == []
