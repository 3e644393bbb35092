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

import json

import pytest

from nova_fpga import glance_credentials


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path / 'home'


def write_clouds_yaml(home, text):
    config_dir = home / '.config' / 'openstack'
    config_dir.mkdir(parents=True)
    (config_dir / 'clouds.yaml').write_text(text)
    return str(config_dir / 'clouds.yaml')


@pytest.mark.parametrize('environ', [
    {'OS_IMAGE_URL': 'http://127.0.0.1:9292', 'OS_AUTH_TOKEN': 't'},
    {'OS_CLOUD': 'mycloud'},
    {'OS_AUTH_URL': 'http://127.0.0.1:5000/v3'},
    {'OS_AUTH_TYPE': 'admin_token'},
])
def test_credential_variables_are_used_as_they_are(home, environ):
    environ = dict(environ, HOME=str(home))
    assert glance_credentials.glance_environment(environ) == environ


@pytest.mark.parametrize('environ', [
    {}, {'OS_IMAGE_URL': 'http://127.0.0.1:9292'},
    {'OS_REGION_NAME': 'RegionOne'}])
def test_no_credentials_is_none(home, environ):
    assert glance_credentials.glance_environment(
        dict(environ, HOME=str(home))) is None


def test_dedicated_cloud_in_clouds_yaml_is_found(home):
    path = write_clouds_yaml(home, json.dumps(
        {'clouds': {'fpga-cli': {'auth_type': 'admin_token'}}}))
    environ = glance_credentials.glance_environment({'HOME': str(home)})
    assert environ == {'HOME': str(home), 'OS_CLOUD': 'fpga-cli',
                       'OS_CLIENT_CONFIG_FILE': path}


@pytest.mark.parametrize('text', [
    json.dumps({'clouds': {'devstack': {}}}),
    '# fpga-cli is not configured here\nclouds: {}\n',
    'clouds: [fpga-cli\n',
    'fpga-cli',
])
def test_other_clouds_or_broken_files_are_no_credentials(home, text):
    write_clouds_yaml(home, text)
    assert glance_credentials.glance_environment({'HOME': str(home)}) is None
