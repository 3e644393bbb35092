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

"""nova_fpga.glance against a real Glance API service."""

import dataclasses
import json
import os
import socket
import uuid

from keystoneauth1 import session as ksa_session
from keystoneauth1 import token_endpoint
import pytest

from nova_fpga import exception
from nova_fpga import glance


MANIFEST = {
    'name': 'vector-add',
    'version': '1.2.0',
    'bitstream': 'vector_add.bit',
    'sha256': 'ab' * 32,
}


def closed_port_url():
    """A URL on 127.0.0.1 where nothing listens."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    return 'http://127.0.0.1:%d' % port


@pytest.fixture
def image_source(glance_server):
    source = glance.image_source_from_environment(glance_server.environ())
    assert source is not None
    return source


@pytest.mark.parametrize('environ', [
    {},
    {'OS_REGION_NAME': 'RegionOne', 'OS_NOVA_CONFIG_DIR': '/etc/nova'},
    {'OS_IMAGE_URL': 'http://127.0.0.1:9292'},
], ids=['empty', 'no-credentials', 'endpoint-without-token'])
def test_no_credentials_means_no_image_source(environ):
    assert glance.image_source_from_environment(environ) is None


def test_get_returns_the_fpga_image_and_its_extra_properties(
        glance_server, image_source):
    manifest_json = json.dumps(MANIFEST)
    image_id = glance_server.upload_image(
        'vector-add', b'PK\x03\x04 package', 'fpga',
        {'manifest': manifest_json, 'fpga_vendor': 'simulated'})

    image = image_source.get(image_id)

    assert image.id == image_id
    assert image.name == 'vector-add'
    assert image.container_format == 'fpga'
    assert image.status == 'active'
    assert image.size == len(b'PK\x03\x04 package')
    # Base attributes (checksum, size, visibility...) are not extra
    # properties: only what the uploader added is.
    assert image.properties == {'manifest': manifest_json,
                                'fpga_vendor': 'simulated'}
    assert json.loads(image.properties['manifest']) == MANIFEST


def test_get_returns_a_docker_image(glance_server, image_source):
    image_id = glance_server.upload_image(
        'busybox', b'docker save output', 'docker',
        {'docker_devices': '/dev/fpga0,/dev/fpga1'})

    image = image_source.get(image_id)

    assert image.container_format == 'docker'
    assert image.properties == {'docker_devices': '/dev/fpga0,/dev/fpga1'}


def test_image_record_is_immutable(glance_server, image_source):
    image = image_source.get(
        glance_server.upload_image('frozen', b'x', 'fpga', {}))

    with pytest.raises(AttributeError):
        image.name = 'changed'


def test_data_returns_the_uploaded_bytes(glance_server, image_source):
    # Several of the client's 64 KiB chunks, and not a multiple of them.
    package = os.urandom(300 * 1024 + 7)
    image_id = glance_server.upload_image('package', package, 'fpga', {})

    assert image_source.data(image_id) == package


@pytest.mark.parametrize('image_id', [
    str(uuid.uuid4()), 'bad-image-id', '../schemas/image'],
    ids=['unknown-uuid', 'not-a-uuid', 'path-traversal'])
def test_missing_image_raises_image_not_found_naming_it(
        image_source, image_id):
    with pytest.raises(glance.ImageNotFound) as raised:
        image_source.get(image_id)

    assert isinstance(raised.value, exception.FpgaError)
    assert raised.value.image_id == image_id
    assert image_id in raised.value.message


def test_data_of_missing_image_raises_image_not_found(image_source):
    image_id = str(uuid.uuid4())

    with pytest.raises(glance.ImageNotFound) as raised:
        image_source.data(image_id)

    assert image_id in raised.value.message


def test_image_without_data_is_refused(glance_server, image_source):
    image_id = glance_server.upload_image('empty', None, 'fpga', {})

    with pytest.raises(glance.ImageDataUnavailable) as raised:
        image_source.data(image_id)

    assert image_id in raised.value.message
    assert "'queued'" in raised.value.message


def test_oversize_image_is_refused_naming_image_and_size(
        glance_server, image_source):
    image_id = glance_server.upload_image(
        'oversize', b'\0' * 4096, 'fpga', {})

    with pytest.raises(glance.ImageTooLarge) as raised:
        image_source.data(image_id, max_size=4095)

    assert isinstance(raised.value, exception.FpgaError)
    assert image_id in raised.value.message
    assert '4096 bytes' in raised.value.message
    assert raised.value.size == 4096
    # The limit is inclusive.
    assert image_source.data(image_id, max_size=4096) == b'\0' * 4096


class SizeUnrecordedImageSource(glance.GlanceImageSource):
    """Reads images as if Glance had recorded no size for them.

    Glance always records the size of uploaded data; an image whose data
    lives at an external location may have none. This lets the download
    itself, not the recorded size, meet the limit.
    """

    def get(self, image_id):
        return dataclasses.replace(super().get(image_id), size=None)


def test_download_stops_past_the_limit_without_a_recorded_size(
        glance_server):
    session = ksa_session.Session(auth=token_endpoint.Token(
        glance_server.url, glance_server.token))
    source = SizeUnrecordedImageSource(
        session, glance_server.url, endpoint_override=glance_server.url)
    package = os.urandom(200 * 1024)
    image_id = glance_server.upload_image('unrecorded', package, 'fpga', {})

    with pytest.raises(glance.ImageTooLarge) as raised:
        source.data(image_id, max_size=100 * 1024)

    assert image_id in raised.value.message
    assert 'more than %d' % (100 * 1024) in raised.value.message
    assert source.data(image_id, max_size=len(package)) == package


def test_default_limit_is_one_gibibyte():
    assert glance.DEFAULT_MAX_IMAGE_SIZE == 1024 ** 3


@pytest.mark.parametrize('operation', ['get', 'data'])
def test_unreachable_endpoint_raises_glance_unavailable(operation):
    url = closed_port_url()
    source = glance.image_source_from_environment(
        {'OS_IMAGE_URL': url, 'OS_AUTH_TOKEN': 'token'})
    image_id = str(uuid.uuid4())

    with pytest.raises(glance.GlanceUnavailable) as raised:
        getattr(source, operation)(image_id)

    assert isinstance(raised.value, exception.FpgaError)
    assert raised.value.endpoint == url
    assert url in raised.value.message
    assert image_id in raised.value.message


def test_unreachable_keystone_raises_glance_unavailable():
    auth_url = closed_port_url() + '/v3'
    source = glance.image_source_from_environment({
        'OS_AUTH_URL': auth_url,
        'OS_USERNAME': 'admin',
        'OS_PASSWORD': 'secret',
        'OS_PROJECT_NAME': 'admin',
        'OS_USER_DOMAIN_NAME': 'Default',
        'OS_PROJECT_DOMAIN_NAME': 'Default',
    })

    with pytest.raises(glance.GlanceUnavailable) as raised:
        source.get(str(uuid.uuid4()))

    assert auth_url in raised.value.message


def test_clouds_yaml_cloud_named_by_os_cloud(glance_server, tmp_path):
    # admin_token is the keystoneauth plugin for a fixed endpoint and
    # token: it lets a clouds.yaml reach Glance without a Keystone.
    clouds_yaml = tmp_path / 'clouds.yaml'
    clouds_yaml.write_text(json.dumps({'clouds': {'fpga-test': {
        'auth_type': 'admin_token',
        'auth': {'endpoint': glance_server.url,
                 'token': glance_server.token},
    }}}))
    image_id = glance_server.upload_image(
        'from-clouds-yaml', b'bits', 'fpga', {'manifest': '{}'})

    source = glance.image_source_from_environment({
        'OS_CLOUD': 'fpga-test', 'OS_CLIENT_CONFIG_FILE': str(clouds_yaml)})

    assert source.get(image_id).properties == {'manifest': '{}'}
    assert source.data(image_id) == b'bits'


def test_os_variables_select_the_auth_plugin(glance_server):
    image_id = glance_server.upload_image('from-os-vars', b'bits', 'fpga', {})

    source = glance.image_source_from_environment({
        'OS_AUTH_TYPE': 'admin_token',
        'OS_ENDPOINT': glance_server.url,
        'OS_TOKEN': glance_server.token,
    })

    assert source.get(image_id).name == 'from-os-vars'


def test_os_image_url_overrides_the_catalog(glance_server):
    image_id = glance_server.upload_image('override', b'bits', 'fpga', {})
    # The plugin's own endpoint is dead; OS_IMAGE_URL must win.
    source = glance.image_source_from_environment({
        'OS_AUTH_TYPE': 'admin_token',
        'OS_ENDPOINT': closed_port_url(),
        'OS_TOKEN': glance_server.token,
        'OS_IMAGE_URL': glance_server.url,
    })

    assert source.get(image_id).name == 'override'


def test_unknown_cloud_raises_glance_unavailable(tmp_path):
    clouds_yaml = tmp_path / 'clouds.yaml'
    clouds_yaml.write_text(json.dumps({'clouds': {}}))

    with pytest.raises(glance.GlanceUnavailable) as raised:
        glance.image_source_from_environment({
            'OS_CLOUD': 'no-such-cloud',
            'OS_CLIENT_CONFIG_FILE': str(clouds_yaml)})

    assert 'no-such-cloud' in raised.value.message


def test_incomplete_credentials_raise_glance_unavailable():
    # keystoneauth's password plugin raises a bare Exception for a missing
    # password: it must still reach the caller as an FpgaError.
    auth_url = closed_port_url() + '/v3'
    source = glance.image_source_from_environment({'OS_AUTH_URL': auth_url})

    with pytest.raises(glance.GlanceUnavailable) as raised:
        source.get(str(uuid.uuid4()))

    assert 'password' in raised.value.message
    assert auth_url in raised.value.message
