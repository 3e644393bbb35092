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

"""Bad input, one table: each row refused naming the bad value, nothing
half-done.

Every row runs on the same real components: the patched Nova's API,
scheduler, conductor and a Docker compute in process, a private dockerd,
the real ``fpga-cli.py`` on the host's simulated FPGA, and for IP-core
packages a real Glance that fpga-cli fetches them from (Nova's side reads
the same image records from Nova's Glance fixture). A row gives the bad
value, where it is refused (the API, the build, the periodic resource
update) and what the refusal must name. After every row, once the
periodic task ran, the FPGA holds exactly the regions of the instances
the row set up first, and the daemon exactly their containers.

A vendor tool that prints garbage cannot be had from the reference tool:
those rows wrap it in a script that passes every call through but
changes one answer (the burn still really programs a region).
"""

import io
import json
import os
import shlex
import shutil
import stat
import tempfile
import uuid

from nova import context as nova_context
from nova.tests.functional.api import client
import testscenarios

from nova_fpga import ip_package
from tests.docker.functional import test_docker_boot
from tests.glance import fixture as glance_fixture
from tests.nova.functional import fpga_hosts
from tests.nova.functional import test_fpga_boot
from tests import zips

load_tests = testscenarios.load_tests_apply_scenarios

BITSTREAM = b'\x5a' * 4096
NOT_AN_IMAGE = 'f0000000-0000-4000-8000-000000000000'
UNTRUSTED_PROJECT = '0f1e2d3c4b5a69788796a5b4c3d2e1f0'


def _manifest(**changes):
    _data, manifest = ip_package.build_package(
        BITSTREAM, 'lzo_compression', '1.0.0', bitstream_name='lzo.bit',
        board='simulated')
    return dict(manifest.to_dict(), **changes)


def _tampered():
    manifest = _manifest()
    return zips.zip_of({'manifest.json': json.dumps(manifest),
                        'lzo.bit': BITSTREAM + b'backdoor'}), manifest


def _manifest_without_sha256():
    manifest = _manifest()
    del manifest['sha256']
    return zips.zip_of({'manifest.json': json.dumps(manifest),
                        'lzo.bit': BITSTREAM}), None


# Packages fpga-cli refuses: name -> () -> (zip bytes, manifest property).
PACKAGES = {
    'tampered': _tampered,
    'manifest_not_json': lambda: (zips.zip_of({
        'manifest.json': '{"name": ', 'lzo.bit': BITSTREAM}), None),
    'manifest_without_sha256': _manifest_without_sha256,
    'escaping_member': lambda: (zips.zip_of({
        'manifest.json': json.dumps(_manifest()), 'lzo.bit': BITSTREAM,
        '../../etc/cron.d/evil': 'x'}), None),
    'manifest_property_differs': lambda: (ip_package.build_package(
        BITSTREAM, 'lzo_compression', '1.0.0', bitstream_name='lzo.bit',
        board='simulated')[0], _manifest(version='9.9')),
}

# The table. Keys of a row:
#   refused_at  'api', 'build' (default) or 'periodic'
#   named       texts the refusal must hold ({ip}: the row's IP-core
#               image, {region}: the region of the instance set up first)
#   named_in    'api' (response), 'fault' (the instance fault, default for
#               builds) or 'log' (for long messages the 255 characters of
#               a fault cut)
# and what makes the input bad:
#   flavor_ip_id, old_microversion, ip_image (record changes), package,
#   docker_devices, image_ip_id, allow_image_ip_id, tool (verb -> what
#   the wrapped fpga-cli prints instead), fpga_exec.
CASES = [
    ('malformed_flavor_ip_id', dict(
        refused_at='api', flavor_ip_id='lzo-compression',
        named=["'lzo-compression'", 'UUID of a Glance image'])),
    ('flavor_ip_id_with_shell_metacharacters', dict(
        refused_at='api', flavor_ip_id='$(reboot)', named=["'$(reboot)'"])),
    ('malformed_flavor_ip_id_set_before_validation', dict(
        flavor_ip_id='not-an-image', old_microversion='2.61',
        named=["Invalid flavor extra spec hw:fpga_ip_id 'not-an-image'"])),
    ('ip_id_that_is_no_image', dict(
        flavor_ip_id=NOT_AN_IMAGE,
        named=['Image %s is unacceptable: no such FPGA IP core'
               % NOT_AN_IMAGE])),
    ('ip_image_that_is_not_fpga', dict(
        ip_image={'container_format': 'docker'},
        named=["Image {ip} is unacceptable: container format 'docker', "
               "not the 'fpga'"])),
    ('ip_image_not_active', dict(
        ip_image={'status': 'queued'},
        named=["Image {ip} is unacceptable: status 'queued'"])),
    ('ip_image_of_an_untrusted_owner', dict(
        ip_image={'owner': UNTRUSTED_PROJECT},
        named=['Image {ip} is unacceptable: owner %s is not a trusted FPGA '
               'image owner' % UNTRUSTED_PROJECT])),
    ('bitstream_not_matching_the_manifest_sha256', dict(
        package='tampered', named_in='log',
        named=["Error: cannot programm `{ip}' - image {ip} bitstream "
               "'lzo.bit' has sha256", 'but its manifest says'])),
    ('manifest_that_is_not_json', dict(
        package='manifest_not_json',
        named=["Error: cannot programm `{ip}' - image {ip} manifest.json "
               "is not valid JSON"])),
    ('manifest_lacking_a_field', dict(
        package='manifest_without_sha256',
        named=['image {ip} manifest.json lacks the field(s) sha256'])),
    ('zip_member_escaping_the_extraction_directory', dict(
        package='escaping_member', named_in='log',
        named=["image {ip} names '../../etc/cron.d/evil', which escapes the "
               "package directory"])),
    ('manifest_property_differing_from_the_package', dict(
        package='manifest_property_differs', named_in='log',
        named=["image {ip} property manifest does not match the package's "
               "manifest.json"])),
    ('docker_devices_outside_allowed_devices', dict(
        docker_devices='/dev/sda',
        named=['device /dev/sda is not allowed on this host'])),
    ('docker_devices_naming_another_instances_region', dict(
        docker_devices='{region}', named_in='log',
        named=['device {region} is the FPGA region of another instance'])),
    ('docker_devices_with_mapping_syntax', dict(
        docker_devices='/dev/zero:/dev/fpga0',
        named=['device /dev/zero:/dev/fpga0 uses the host:container '
               'mapping syntax'])),
    ('docker_devices_with_dot_dot', dict(
        docker_devices='/dev/../etc/shadow',
        named=["device /dev/../etc/shadow has a '..' component"])),
    ('docker_devices_relative_path', dict(
        docker_devices='dev/zero',
        named=['device dev/zero is not an absolute path'])),
    ('image_ip_id_while_images_may_not_choose', dict(
        image_ip_id='{ip}',
        named=['it asks for FPGA IP core {ip} (hw:fpga_ip_id)',
               'allow_image_ip_id'])),
    ('malformed_image_ip_id_while_images_may_choose', dict(
        image_ip_id='lzo;reboot', allow_image_ip_id=True,
        named=["Invalid image property hw:fpga_ip_id 'lzo;reboot'"])),
    ('status_printing_garbage', dict(
        refused_at='periodic', tool={'status': 'all regions are fine'},
        named=["fpga-cli status printed 'all regions are fine\\n', expected "
               "'Used regions: N/M'"])),
    ('status_with_more_used_than_existing_regions', dict(
        refused_at='periodic', tool={'status': 'Used regions: 3/2'},
        named=["fpga-cli status printed 'Used regions: 3/2': more regions "
               "used than exist"])),
    ('region_id_over_256_characters', dict(
        tool={'burn': '/dev/' + 'f' * 252}, named_in='log',
        named=["printed an unusable region id: Invalid FPGA region id "
               "'/dev/ffff", 'it is longer than 256 characters'])),
    ('region_id_with_shell_metacharacters', dict(
        tool={'burn': '/dev/fpga0;reboot'},
        named=["Invalid FPGA region id '/dev/fpga0;reboot'"])),
    ('burn_printing_two_lines', dict(
        tool={'burn': '/dev/fpga0.1\\n/dev/fpga1.1'},
        named=["printed '/dev/fpga0.1\\n/dev/fpga1.1\\n', expected one "
               "line"])),
    ('fpga_cli_missing', dict(
        refused_at='periodic', fpga_exec='/nonexistent/fpga-cli.py',
        named=["fpga_exec '/nonexistent/fpga-cli.py' was not found"])),
    ('fpga_access_without_fpga_exec', dict(
        refused_at='periodic', fpga_exec=None,
        named=['fpga_access is True but fpga_exec is not set'])),
]


class BadInputTest(test_docker_boot.DockerFpgaTestBase):
    """One row of CASES per test."""

    scenarios = [(name, {'case': case}) for name, case in CASES]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.glance_dir = tempfile.mkdtemp(prefix='nova-fpga-glance-')
        cls.real_glance = glance_fixture.GlanceServer(cls.glance_dir)
        try:
            cls.real_glance.start()
        except Exception:
            cls.real_glance.stop()
            shutil.rmtree(cls.glance_dir, ignore_errors=True)
            super().tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.real_glance.stop()
        shutil.rmtree(cls.glance_dir, ignore_errors=True)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        # What a refused build leaves is reaped at the next periodic run.
        self.flags(orphaned_region_grace_period=0, group='fpga')
        self.values = {'ip': test_fpga_boot.IP_ID}

    def test_refused_naming_the_bad_value_and_nothing_left(self):
        case = self.case
        flavor_id, image_id = self.prepare(case)
        kept_regions = self.programmed_regions('host1')
        kept_containers = self.container_names()

        refusal = {
            'api': self.refuse_at_api,
            'build': self.refuse_build,
            'periodic': self.refuse_in_periodic,
        }[case.get('refused_at', 'build')](case, flavor_id, image_id)

        for named in case['named']:
            self.assertIn(named.format(**self.values), refusal)
        self.run_periodics()
        self.assertEqual(sorted(kept_regions),
                         sorted(self.programmed_regions('host1')))
        self.assertEqual(kept_containers, self.container_names())

    # Setting a row up

    def prepare(self, case):
        """Make the row's bad input; return (flavor id, image id)."""
        flavor_id, image_id = self.fpga_flavor, self.image_id
        if case.get('ip_image') is not None:
            self.values['ip'] = self.ip_image(**case['ip_image'])
            flavor_id = self.flavor_with(self.values['ip'])
        if case.get('package') is not None:
            self.values['ip'] = self.ip_package(case['package'])
            flavor_id = self.flavor_with(self.values['ip'])
        if 'flavor_ip_id' in case and case.get('refused_at') != 'api':
            flavor_id = self.flavor_with(case['flavor_ip_id'],
                                         case.get('old_microversion'))
        if case.get('docker_devices') is not None:
            if '{region}' in case['docker_devices']:
                first = self._create_server(
                    flavor_id=self.fpga_flavor, image_uuid=self.image_id,
                    networks='none')
                self.values['region'] = self.fpga_device(first)
            image_id = self.docker_image(docker_devices=case[
                'docker_devices'].format(**self.values))
        if case.get('image_ip_id') is not None:
            self.flags(allow_image_ip_id=case.get('allow_image_ip_id',
                                                  False), group='fpga')
            image_id = self.docker_image(**{
                'hw:fpga_ip_id': case['image_ip_id'].format(**self.values)})
            flavor_id = self.plain_flavor
        if case.get('tool') is not None:
            self.flags(fpga_exec=self.wrapped_fpga_cli(case['tool']))
        if 'fpga_exec' in case:
            self.flags(fpga_exec=case['fpga_exec'])
        return flavor_id, image_id

    def ip_image(self, **changes):
        """An IP-core image record in Nova's Glance; its id."""
        record = {'id': str(uuid.uuid4()), 'name': 'lzo_compression',
                  'status': 'active', 'container_format': 'fpga',
                  'disk_format': 'raw', 'owner': test_fpga_boot.IP_OWNER}
        record.update(changes)
        return self.glance.create(None, record)['id']

    def ip_package(self, name):
        """A package fpga-cli fetches from the real Glance; its id."""
        data, manifest = PACKAGES[name]()
        image_id = self.ip_image()
        properties = {}
        if manifest is not None:
            properties['manifest'] = json.dumps(manifest)
        glance = self.real_glance.client()
        glance.images.create(id=image_id, name='lzo_compression',
                             container_format='fpga', disk_format='raw',
                             **properties)
        glance.images.upload(image_id, io.BytesIO(data))
        self.fpga.extra_environ['host1'] = self.real_glance.environ()
        return image_id

    def flavor_with(self, ip_id, microversion=None):
        flavor_id = self._create_flavor(name='fpga-%s' % uuid.uuid4().hex)
        # Before 2.86 Nova did not validate extra specs: older clients
        # could store anything.
        self.admin_api.microversion = microversion or 'latest'
        try:
            self.admin_api.post_extra_spec(
                flavor_id, {'extra_specs': {'hw:fpga_ip_id': ip_id}})
        finally:
            self.admin_api.microversion = 'latest'
        return flavor_id

    def docker_image(self, **properties):
        return self.glance.create(
            nova_context.get_admin_context(),
            {'name': 'busybox', 'container_format': 'docker',
             'disk_format': 'raw', 'properties': properties},
            data=io.BytesIO(self.archive))['id']

    def wrapped_fpga_cli(self, answers):
        """fpga-cli.py for host1, with some answers replaced.

        The replaced verb still runs for real first (a burn programs its
        region), then prints what the row says instead.
        """
        path = os.path.join(self.fpga.base_dir, 'vendor-fpga-cli')
        environ = self.fpga.environ('host1')
        lines = ['#!/bin/sh']
        lines += ['export %s=%s' % (key, shlex.quote(environ[key]))
                  for key in ('FPGA_CLI_STATE_DIR', 'FPGA_CLI_DEV_DIR',
                              'FPGA_CLI_REGIONS')]
        real = shlex.quote(fpga_hosts.FPGA_CLI)
        lines.append('case "$1 $#" in')
        for verb, output in answers.items():
            arguments = {'status': 1, 'burn': 2}[verb]
            lines.append('"%s %d") %s "$@" > /dev/null || exit $?; '
                         'printf "%%b\\n" %s; exit 0;;'
                         % (verb, arguments, real, shlex.quote(output)))
        lines.append('esac')
        lines.append('exec %s "$@"' % real)
        with open(path, 'w') as tool:
            tool.write('\n'.join(lines) + '\n')
        os.chmod(path, stat.S_IRWXU)
        return path

    # Where a row is refused

    def refuse_at_api(self, case, flavor_id, image_id):
        flavor_id = self._create_flavor(name='bad')
        error = self.assertRaises(
            client.OpenStackApiException, self.admin_api.post_extra_spec,
            flavor_id, {'extra_specs': {'hw:fpga_ip_id': case[
                'flavor_ip_id']}})
        self.assertEqual(400, error.response.status_code)
        self.assertEqual({}, self.admin_api.get_extra_specs(flavor_id))
        return error.response.text

    def refuse_build(self, case, flavor_id, image_id):
        server = self._create_server(
            flavor_id=flavor_id, image_uuid=image_id, networks='none',
            host='host1', expected_state='ERROR')
        self.assertIsNone(self.fpga_device(server))
        if case.get('named_in', 'fault') == 'log':
            return self.stdlog.logger.output
        return self.fault_message(server)

    def refuse_in_periodic(self, case, flavor_id, image_id):
        self.run_periodics()
        # The host offers no region while its FPGA answers nonsense.
        inventory = self.region_inventory('host1')
        self.assertEqual(inventory['total'], inventory['reserved'])
        return self.stdlog.logger.output

    # What is left

    def run_periodics(self):
        logged = len(self.stdlog.logger.output)
        self._run_periodics()
        self.assertNotIn('Traceback (most recent call last',
                         self.stdlog.logger.output[logged:])

    def container_names(self):
        return sorted(summary['Names'][0].lstrip('/') for summary in
                      self.docker.api.containers(all=True))
