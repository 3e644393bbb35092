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

"""fpga-cli.py burn verifies the IP core it programs, fetched from a real
Glance."""

import hashlib
import json

import pytest

from nova_fpga import ip_package
from tests import fpga_sim
from tests import zips

BITSTREAM = b'\x5a' * 4096


def package(**manifest_changes):
    """Zip bytes and the manifest dict of an LZO IP-core package."""
    data, manifest = ip_package.build_package(
        BITSTREAM, 'lzo_compression', '1.0.0', bitstream_name='lzo.bit',
        board='simulated')
    manifest = dict(manifest.to_dict(), **manifest_changes)
    return data, manifest


@pytest.fixture
def fpga_with_glance(tmp_path, glance_server):
    environ = fpga_sim.fpga_environ(tmp_path)
    environ.update(glance_server.environ())
    return environ


def upload(glance_server, data, manifest=None, container_format='fpga'):
    properties = {}
    if manifest is not None:
        properties['manifest'] = json.dumps(manifest)
    return glance_server.upload_image('lzo_compression', data,
                                      container_format, properties)


def assert_refused(environ, image_id, reason):
    result = fpga_sim.run_fpga_cli(environ, 'burn', image_id)
    assert result.returncode == 64, result.stdout
    assert result.stdout == ''
    assert result.stderr.startswith("Error: cannot programm `%s' - "
                                    % image_id)
    assert reason in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    status = fpga_sim.run_fpga_cli(environ, 'status')
    assert status.stdout == 'Used regions: 0/2\n'


def test_verified_package_is_burned_and_recorded(glance_server,
                                                 fpga_with_glance):
    data, manifest = package()
    image_id = upload(glance_server, data, manifest)
    result = fpga_sim.run_fpga_cli(fpga_with_glance, 'burn', image_id)
    assert result.returncode == 0, result.stderr
    state = json.loads(fpga_sim.run_fpga_cli(
        fpga_with_glance, 'status', '--json').stdout)
    region = state['regions'][0]
    assert region['region_id'] == result.stdout.strip()
    assert (region['image_id'], region['name'], region['version'],
            region['sha256']) == (image_id, 'lzo_compression', '1.0.0',
                                  hashlib.sha256(BITSTREAM).hexdigest())


def test_package_without_manifest_property_is_burned(glance_server,
                                                     fpga_with_glance):
    data, _ = package()
    image_id = upload(glance_server, data)
    result = fpga_sim.run_fpga_cli(fpga_with_glance, 'burn', image_id)
    assert result.returncode == 0, result.stderr


def test_missing_image_is_refused(fpga_with_glance):
    missing = 'f0000000-0000-4000-8000-000000000000'
    assert_refused(fpga_with_glance, missing, 'not found')


def test_image_that_is_not_fpga_is_refused(glance_server, fpga_with_glance):
    data, manifest = package()
    image_id = upload(glance_server, data, manifest, container_format='docker')
    assert_refused(fpga_with_glance, image_id,
                   "container format 'docker', not 'fpga'")


def test_package_without_manifest_is_refused(glance_server,
                                             fpga_with_glance):
    image_id = upload(glance_server, zips.zip_of({'lzo.bit': BITSTREAM}))
    assert_refused(fpga_with_glance, image_id, 'has no manifest.json')


def test_unparseable_manifest_is_refused(glance_server, fpga_with_glance):
    broken = zips.zip_of({'manifest.json': '{"name": ',
                          'lzo.bit': BITSTREAM})
    image_id = upload(glance_server, broken)
    assert_refused(fpga_with_glance, image_id, 'is not valid JSON')


def upload_tampered(glance_server):
    """A package whose bitstream differs from its manifest's sha256.

    Returns its image id and the manifest.
    """
    _, manifest = package()
    tampered = zips.zip_of({'manifest.json': json.dumps(manifest),
                            'lzo.bit': BITSTREAM + b'backdoor'})
    return upload(glance_server, tampered, manifest), manifest


def test_bitstream_not_matching_its_sha256_is_refused(glance_server,
                                                      fpga_with_glance):
    image_id, manifest = upload_tampered(glance_server)
    assert_refused(fpga_with_glance, image_id,
                   'but its manifest says %s' % manifest['sha256'])


def test_manifest_property_differing_from_the_package_is_refused(
        glance_server, fpga_with_glance):
    data, manifest = package()
    image_id = upload(glance_server, data, dict(manifest, version='9.9'))
    assert_refused(fpga_with_glance, image_id, 'does not match')


def test_member_escaping_the_package_is_refused(glance_server,
                                                fpga_with_glance):
    _, manifest = package()
    evil = zips.zip_of({'manifest.json': json.dumps(manifest),
                        'lzo.bit': BITSTREAM, '../../etc/cron.d/evil': 'x'})
    image_id = upload(glance_server, evil)
    assert_refused(fpga_with_glance, image_id, 'escapes the package')


def test_package_for_another_board_finds_no_hardware(glance_server,
                                                     fpga_with_glance):
    data, manifest = package()
    image_id = upload(glance_server, data, manifest)
    fpga_with_glance['FPGA_CLI_BOARD'] = 'arria10'
    assert_refused(fpga_with_glance, image_id, 'no matching hardware found')


def burn_and_erase(environ, image_id):
    burned = fpga_sim.run_fpga_cli(environ, 'burn', image_id)
    assert burned.returncode == 0, burned.stderr
    erased = fpga_sim.run_fpga_cli(environ, 'erase', burned.stdout.strip())
    assert erased.returncode == 0, erased.stderr


# Nothing listens on the discard port: Glance is unreachable there.
UNREACHABLE_GLANCE = {'OS_IMAGE_URL': 'http://127.0.0.1:9'}


def test_a_package_verified_once_is_not_fetched_again(glance_server,
                                                      fpga_with_glance):
    data, manifest = package()
    image_id = upload(glance_server, data, manifest)
    burn_and_erase(fpga_with_glance, image_id)
    offline = dict(fpga_with_glance, **UNREACHABLE_GLANCE)
    burn_and_erase(offline, image_id)
    assert_refused(dict(offline, FPGA_CLI_PACKAGE_CACHE='0'), image_id,
                   '127.0.0.1:9')


def test_a_refused_package_is_fetched_again(glance_server,
                                            fpga_with_glance):
    image_id, _ = upload_tampered(glance_server)
    assert_refused(fpga_with_glance, image_id, 'but its manifest says')
    assert_refused(dict(fpga_with_glance, **UNREACHABLE_GLANCE), image_id,
                   '127.0.0.1:9')


def test_a_package_verified_before_is_checked_against_the_board(
        glance_server, fpga_with_glance):
    data, manifest = package()
    image_id = upload(glance_server, data, manifest)
    burn_and_erase(fpga_with_glance, image_id)
    fpga_with_glance['FPGA_CLI_BOARD'] = 'arria10'
    assert_refused(fpga_with_glance, image_id, 'no matching hardware found')


def test_dedicated_cloud_in_clouds_yaml_is_used_without_variables(
        glance_server, tmp_path):
    # Nova runs fpga-cli through rootwrap, which clears the environment:
    # the cloud named fpga-cli in a clouds.yaml is how it finds Glance.
    home = tmp_path / 'home'
    config_dir = home / '.config' / 'openstack'
    config_dir.mkdir(parents=True)
    (config_dir / 'clouds.yaml').write_text(json.dumps({'clouds': {
        'fpga-cli': {'auth_type': 'admin_token',
                     'auth': {'endpoint': glance_server.url,
                              'token': glance_server.token}}}}))
    environ = fpga_sim.fpga_environ(tmp_path, HOME=str(home))
    data, manifest = package()
    good = upload(glance_server, data, manifest)
    result = fpga_sim.run_fpga_cli(environ, 'burn', good)
    assert (result.returncode, result.stderr) == (0, '')
    bad = upload(glance_server, data, manifest, container_format='docker')
    result = fpga_sim.run_fpga_cli(environ, 'burn', bad)
    assert result.returncode == 64
    assert result.stderr == (
        "Error: cannot programm `%s' - image %s has container format "
        "'docker', not 'fpga'\n" % (bad, bad))
