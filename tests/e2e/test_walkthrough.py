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

"""The README walkthrough on the all-in-one cloud, step by step.

Every command is one a user types (the ``openstack`` client, and the
legacy ``glance``/``nova`` forms of the 2016 instructions for some steps,
so that both keep working), with the cloud's openrc sourced. The steps
build on each other and run in file order.
"""

import json
import os
import re
import statistics
import subprocess
import time

import pytest

from tests.e2e import conftest

BUILD_SCRIPTS = os.path.join(conftest.REPO_DIR, 'build_scripts')
BOOT_TIMING = os.path.join(conftest.REPO_DIR, 'benchmarks', 'boot_timing.py')
#: The region device paths the image asks for, as in the 2016
#: instructions: each container gets only its own region's.
DOCKER_DEVICES = '/dev/fpga0,/dev/fpga1'
#: Boots of each flavor timed, alternating (benchmark: FPGA vs plain).
BOOTS_TO_TIME = 15

#: What the steps found, for the later steps.
walk = {}


def _json(cloud, command):
    return json.loads(cloud.sh(command + ' -f json', quiet=True).stdout)


def _server(cloud, name):
    return _json(cloud, 'openstack server show %s' % name)


def _used_regions(cloud):
    return cloud.sh('fpga-cli.py status').stdout.strip()


def _regions(cloud):
    return json.loads(cloud.sh('fpga-cli.py status --json',
                               quiet=True).stdout)['regions']


def _region_of(cloud, image_id):
    """The region ids programmed with image_id, in order."""
    return [region['region_id'] for region in _regions(cloud)
            if region.get('programmed')
            and region.get('image_id') == image_id]


def _container(server_id):
    return 'nova-%s' % server_id


def _property(image, name):
    properties = image.get('properties') or {}
    return properties.get(name)


def test_1_ip_package_in_glance(cloud):
    """Build the LZO IP package and upload it (container format fpga)."""
    cloud.sh('head -c 1048576 /dev/urandom > lzo_compression.bit')
    cloud.sh('echo "lzop wrapper and driver notes" > lzo-tools.txt')
    cloud.sh('%s --name lzo_compression --version 1.0.0 '
             '--bitstream lzo_compression.bit --file lzo-tools.txt '
             '--board simulated --description "LZO compression" '
             '--output lzo_compression.zip --manifest-output manifest.json'
             % os.path.join(BUILD_SCRIPTS, 'make_ip_package.py'))
    # The 2016 instructions' commands, with python-glanceclient.
    created = cloud.sh('glance --os-image-api-version 2 image-create '
                       '--name lzo_compression --disk-format raw '
                       '--container-format fpga --file lzo_compression.zip')
    image_id = re.search(r'\|\s+id\s+\|\s+([0-9a-f-]{36})\s+\|',
                         created.stdout).group(1)
    cloud.sh('glance image-update --property manifest="$(cat manifest.json)"'
             ' %s' % image_id)

    image = _json(cloud, 'openstack image show %s' % image_id)
    assert image['status'] == 'active'
    assert image['container_format'] == 'fpga'
    with open(os.path.join(cloud.work_dir, 'manifest.json')) as stream:
        manifest = json.load(stream)
    assert json.loads(_property(image, 'manifest')) == manifest
    assert manifest['name'] == 'lzo_compression'
    walk['fpga_image'] = image_id
    walk['manifest'] = manifest


def test_2_container_image_in_glance(cloud):
    """Build ubuntu_lzo locally, docker save it into Glance."""
    cloud.sh('%s ubuntu_lzo' % os.path.join(BUILD_SCRIPTS,
                                            'make_lzo_image.sh'))
    cloud.sh('docker save ubuntu_lzo -o ubuntu_lzo.tar')
    image = _json(cloud, 'openstack image create --disk-format raw '
                         '--container-format docker --property '
                         'docker_devices=%s --file ubuntu_lzo.tar ubuntu_lzo'
                  % DOCKER_DEVICES)
    image = _json(cloud, 'openstack image show %s' % image['id'])
    assert image['status'] == 'active'
    assert image['container_format'] == 'docker'
    assert _property(image, 'docker_devices') == DOCKER_DEVICES
    # The driver loads the image from Glance, not from the local build.
    cloud.sh('docker image rm ubuntu_lzo')
    walk['docker_image'] = image['id']


def test_3_fpga_flavor(cloud):
    """Flavor fpga-lzo with hw:fpga_ip_id (nova flavor-key, 2.96)."""
    cloud.sh('openstack flavor create --id 6 --ram 512 --disk 1 --vcpus 1 '
             'fpga-lzo')
    # A value that is not an image UUID is refused, naming it.
    refused = cloud.sh('nova flavor-key fpga-lzo set '
                       'hw:fpga_ip_id=bad-image-id', check=False)
    assert refused.returncode != 0
    assert 'bad-image-id' in refused.stderr + refused.stdout
    cloud.sh('nova flavor-key fpga-lzo set hw:fpga_ip_id=%s'
             % walk['fpga_image'])
    flavor = _json(cloud, 'openstack flavor show fpga-lzo')
    assert flavor['properties'] == {'hw:fpga_ip_id': walk['fpga_image']}
    assert _used_regions(cloud) == 'Used regions: 0/2'


def test_4_fpga_server_on_compute1(cloud):
    """Boot fpga-lzo: ACTIVE on compute1, its region in the container."""
    server = _json(cloud, 'openstack server create --flavor fpga-lzo '
                          '--image ubuntu_lzo --nic none --wait dcr1')
    cloud.note('from nothing to a booted FPGA server: %.1f s'
               % (time.monotonic() - cloud.started))
    assert server['status'] == 'ACTIVE'
    assert server['OS-EXT-SRV-ATTR:host'] == 'compute1'
    assert _used_regions(cloud) == 'Used regions: 1/2'
    (region,) = _region_of(cloud, walk['fpga_image'])
    # fpga-cli.py, run by nova-compute, fetched the
    # package from Glance and checked it before the burn.
    (programmed,) = [r for r in _regions(cloud) if r['region_id'] == region]
    assert programmed['sha256'] == walk['manifest']['sha256']
    assert programmed['name'] == 'lzo_compression'
    container = _container(server['id'])
    # Exactly one FPGA device in the container, its own region's, a
    # character device.
    listing = cloud.sh('docker exec %s ls -l /dev' % container).stdout
    fpga_lines = [line for line in listing.splitlines()
                  if line.split() and line.split()[-1].startswith('fpga')]
    assert ['/dev/' + line.split()[-1] for line in fpga_lines] == [region]
    assert fpga_lines[0].startswith('c')
    tool = cloud.sh('docker exec %s lzo-accel' % container).stdout
    assert tool.strip() == 'lzo-accel: LZO accelerator at %s' % region
    walk['dcr1'] = server['id']
    walk['dcr1_region'] = region


def test_5_plain_server(cloud):
    """A flavor without an IP core boots anywhere, without a region."""
    cloud.sh('openstack flavor create --ram 512 --disk 1 --vcpus 1 m1.small')
    server = _json(cloud, 'openstack server create --flavor m1.small '
                          '--image ubuntu_lzo --nic none --wait plain1')
    assert server['status'] == 'ACTIVE'
    assert server['OS-EXT-SRV-ATTR:host'] in ('compute1', 'compute2')
    listing = cloud.sh('docker exec %s ls /dev'
                       % _container(server['id'])).stdout
    assert 'fpga' not in listing
    assert _used_regions(cloud) == 'Used regions: 1/2'
    walk['plain1'] = server['id']


def test_6_third_boot_succeeds_fourth_finds_no_host(cloud):
    """Two regions: the second FPGA server fits, the third does not."""
    # The 2016 instructions' boot command, with python-novaclient.
    cloud.sh('nova boot --flavor fpga-lzo --image ubuntu_lzo --nic none '
             '--poll dcr2')
    server = _server(cloud, 'dcr2')
    assert server['status'] == 'ACTIVE'
    assert server['OS-EXT-SRV-ATTR:host'] == 'compute1'
    assert _used_regions(cloud) == 'Used regions: 2/2'
    regions = _region_of(cloud, walk['fpga_image'])
    assert len(regions) == 2 and walk['dcr1_region'] in regions
    walk['dcr2'] = server['id']

    failed = cloud.sh('openstack server create --flavor fpga-lzo '
                      '--image ubuntu_lzo --nic none --wait dcr3',
                      check=False)
    assert failed.returncode != 0
    server = _server(cloud, 'dcr3')
    assert server['status'] == 'ERROR'
    assert 'No valid host was found' in server['fault']['message']
    assert _used_regions(cloud) == 'Used regions: 2/2'


def test_7_delete_fpga_servers_frees_regions(cloud):
    """Deleting the FPGA servers erases their regions and containers."""
    cloud.sh('openstack server delete --wait dcr1 dcr2 dcr3')
    assert _used_regions(cloud) == 'Used regions: 0/2'
    containers = cloud.sh('docker ps --all --format "{{.Names}}"').stdout
    for name in ('dcr1', 'dcr2'):
        assert _container(walk[name]) not in containers
    assert _container(walk['plain1']) in containers
    assert not os.path.exists(walk['dcr1_region'])
    servers = _json(cloud, 'openstack server list')
    assert [server['Name'] for server in servers] == ['plain1']


def _time_boots(cloud, flavors, count=BOOTS_TO_TIME):
    """{flavor: [create->ACTIVE seconds]}, the flavors' boots alternating."""
    result = subprocess.run(
        ['bash', '-c', '. %s && exec %s %s %s --image ubuntu_lzo --count %d'
         % (cloud.openrc, cloud.venv_bin('python'), BOOT_TIMING,
            ' '.join('--flavor %s' % flavor for flavor in flavors), count)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        timeout=conftest.COMMAND_TIMEOUT * 2)
    if result.returncode != 0:
        pytest.fail('timing %s boots failed:\n%s%s' % (
            ', '.join(flavors), result.stdout, result.stderr))
    return json.loads(result.stdout)['seconds']


def test_8_freed_region_usable_at_once(cloud):
    """Right after the deletes, an FPGA server boots again."""
    _time_boots(cloud, ['fpga-lzo'], count=1)


def test_9_boot_times_and_memory(cloud):
    """Median create->ACTIVE of fpga-lzo and of m1.small; memory."""
    cloud.sh('openstack server delete --wait plain1')
    timed = _time_boots(cloud, ['fpga-lzo', 'm1.small'])
    for flavor, seconds in timed.items():
        assert len(seconds) == BOOTS_TO_TIME
        cloud.note('create->ACTIVE of %s over %d boots: median %.2f s '
                   '(%s)' % (flavor, len(seconds), statistics.median(seconds),
                             ', '.join('%.2f' % s for s in seconds)))
    cloud.note('FPGA boot / plain boot, medians: %.2f' % (
        statistics.median(timed['fpga-lzo'])
        / statistics.median(timed['m1.small'])))
    assert _used_regions(cloud) == 'Used regions: 0/2'
    status = subprocess.run(cloud.aio_command('status'),
                            stdout=subprocess.PIPE, text=True)
    assert status.returncode == 0, status.stdout
    total = re.search(r'^total\s+(\d+) MiB', status.stdout, re.M)
    cloud.note('resident memory of all services: %s MiB' % total.group(1))
