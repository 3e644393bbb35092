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

"""fpga-cli.py reuses a free region only for the same verified bitstream."""

import json

from nova_fpga import ip_package
from tests import fpga_sim

BITSTREAM = b'\x5a' * 4096


def upload_package(glance_server):
    data, manifest = ip_package.build_package(
        BITSTREAM, 'lzo_compression', '1.0.0', bitstream_name='lzo.bit',
        board='simulated')
    return glance_server.upload_image(
        'lzo_compression', data, 'fpga',
        {'manifest': json.dumps(manifest.to_dict())}), manifest


def burn(environ, image_id):
    result = fpga_sim.run_fpga_cli(environ, 'burn', image_id)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def first_region(environ):
    return json.loads(fpga_sim.run_fpga_cli(
        environ, 'status', '--json').stdout)['regions'][0]


def test_verified_package_is_reused_after_erase(glance_server, tmp_path):
    environ = fpga_sim.fpga_environ(tmp_path, regions=1,
                                    **glance_server.environ())
    image_id, manifest = upload_package(glance_server)
    first = burn(environ, image_id)
    assert fpga_sim.run_fpga_cli(environ, 'erase', first).returncode == 0

    second = burn(environ, image_id)

    region = first_region(environ)
    assert (region['region_id'], region['reused'], region['sha256']) == (
        second, True, manifest.sha256)


def test_region_burned_unverified_is_reprogrammed_once_verified(
        glance_server, tmp_path):
    image_id, manifest = upload_package(glance_server)
    # Burned with the id as an opaque string: nothing known of its bits.
    unverified = fpga_sim.fpga_environ(tmp_path, regions=1)
    erase = fpga_sim.run_fpga_cli(unverified, 'erase',
                                  burn(unverified, image_id))
    assert erase.returncode == 0

    verified = dict(unverified, **glance_server.environ())
    burn(verified, image_id)

    region = first_region(verified)
    assert (region['reused'], region['sha256']) == (False, manifest.sha256)
