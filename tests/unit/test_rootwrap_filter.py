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

"""etc/nova/rootwrap.d/fpga.filters, judged by oslo.rootwrap's matcher."""

import os

from oslo_rootwrap import filters
from oslo_rootwrap import wrapper
import pytest

from nova_fpga import fpga_cli
from nova_fpga import specs
from tests import fpga_sim

IMAGE = 'dd834aa4-f950-40e6-8c23-9dab7f3f0138'
FILTERS_DIR = os.path.join(fpga_sim.ETC, 'nova', 'rootwrap.d')
# Where timeout(1) is, too.
EXEC_DIRS = [os.path.dirname(fpga_sim.FPGA_CLI), '/usr/bin', '/bin']


def allowed(*userargs):
    loaded = wrapper.load_filters([FILTERS_DIR])
    try:
        matched = wrapper.match_filter(loaded, list(userargs),
                                       exec_dirs=EXEC_DIRS)
    except (wrapper.NoFilterMatched, wrapper.FilterMatchNotExecutable):
        return False
    return not isinstance(matched, filters.ChainingFilter) and (
        matched.run_as == 'root')


@pytest.mark.parametrize('userargs', [
    ['fpga-cli.py', 'status'],
    ['fpga-cli.py', 'status', '--json'],
    ['fpga-cli.py', 'burn', IMAGE],
    ['fpga-cli.py', 'erase', '/dev/fpga0.12'],
    ['fpga-cli.py', 'erase', 'a0399bc1-cb67-4548-b0b8-aa95a91402d3'],
    ['fpga-cli.py', 'erase', 'x' * 256],
])
def test_the_three_verbs_run_as_root(userargs):
    assert allowed(*userargs)


@pytest.mark.parametrize('userargs', [
    ['fpga-cli.py'],
    ['fpga-cli.py', 'status', '--json', '--json'],
    ['fpga-cli.py', 'status', '--jsonx'],
    ['fpga-cli.py', 'status', '--json\n'],
    ['fpga-cli.py', 'status\n'],
    ['fpga-cli.py', 'burn'],
    ['fpga-cli.py', 'burn', 'bad-image-id'],
    ['fpga-cli.py', 'burn', IMAGE + '\n'],
    ['fpga-cli.py', 'burn', IMAGE, 'extra'],
    ['fpga-cli.py', 'erase', 'x' * 257],
    ['fpga-cli.py', 'erase', '/dev/fpga0; reboot'],
    ['fpga-cli.py', 'erase', '$(reboot)'],
    ['fpga-cli.py', 'erase', 'a b'],
    ['fpga-cli.py', 'erase', '/dev/fpga0\n'],
    ['fpga-cli.py', 'erase', ''],
    ['fpga-cli.py', 'format'],
    ['sh', '-c', 'fpga-cli.py status'],
    ['/bin/fpga-cli.py', 'status'],
])
def test_anything_else_is_refused(userargs):
    assert not allowed(*userargs)


TIMED = ['timeout', '-s', 'KILL', '120']


@pytest.mark.parametrize('command', [
    ['status'], ['status', '--json'], ['burn', IMAGE],
    ['erase', '/dev/fpga0.12'], ['erase', 'x' * 256],
])
def test_the_commands_nova_sends_through_a_root_helper_are_allowed(command):
    client = fpga_cli.FpgaCli('fpga-cli.py', timeout=120)
    userargs = client.helper_command(['fpga-cli.py'] + command)
    assert userargs[:4] == tuple(TIMED)
    assert allowed(*userargs)


@pytest.mark.parametrize('timeout', [1, 120, 86400])
def test_every_allowed_command_timeout_passes_the_filter(timeout):
    client = fpga_cli.FpgaCli('fpga-cli.py', timeout=timeout)
    assert allowed(*client.helper_command(['fpga-cli.py', 'status']))


@pytest.mark.parametrize('userargs', [
    ['timeout', '-s', 'KILL', '0', 'fpga-cli.py', 'status'],
    ['timeout', '-s', 'KILL', '1234567', 'fpga-cli.py', 'status'],
    ['timeout', '-s', 'KILL', '12s', 'fpga-cli.py', 'status'],
    ['timeout', '-s', 'KILL', '5\n', 'fpga-cli.py', 'status'],
    ['timeout', '-s', 'TERM', '5', 'fpga-cli.py', 'status'],
    ['timeout', '-k', '1', '5', 'fpga-cli.py', 'status'],
    ['timeout', '5', 'fpga-cli.py', 'status'],
    # A path would let the caller pick which program runs as root.
    ['timeout', '-s', 'KILL', '5', '/tmp/fpga-cli.py', 'status'],
    ['timeout', '-s', 'KILL', '5', './fpga-cli.py', 'status'],
    ['timeout', '-s', 'KILL', '5', 'sh', '-c', 'fpga-cli.py status'],
    ['timeout', '-s', 'KILL', '5', 'fpga-cli.py', 'format'],
    ['timeout', '-s', 'KILL', '5', 'fpga-cli.py', 'burn', 'lzo'],
    ['timeout', '-s', 'KILL', '5', 'fpga-cli.py', 'erase', 'a;b'],
    ['timeout', '-s', 'KILL', '5', 'fpga-cli.py', 'erase', 'x' * 257],
    ['timeout', '-s', 'KILL', '5', 'fpga-cli.py', 'status', '--json', 'x'],
    ['timeout', '-s', 'KILL', '5'],
])
def test_timeout_runs_nothing_else(userargs):
    assert not allowed(*userargs)


def test_command_resolves_to_the_executable_on_exec_dirs():
    loaded = wrapper.load_filters([FILTERS_DIR])
    matched = wrapper.match_filter(loaded, ['fpga-cli.py', 'status'],
                                   exec_dirs=EXEC_DIRS)
    assert matched.get_command(['fpga-cli.py', 'status'],
                               exec_dirs=EXEC_DIRS) == [
        fpga_sim.FPGA_CLI, 'status']


def accepts(validate, value):
    try:
        validate(value)
    except Exception:
        return False
    return True


@pytest.mark.parametrize('region', [
    '/dev/fpga0.1', 'a:b-c_d.e', 'x' * 256, 'x' * 257, 'a;b', '', 'a b',
    '../x', '/dev/fpga0\n'])
def test_filter_and_client_agree_on_region_ids(region):
    expected = accepts(fpga_cli.validate_region_id, region)
    assert allowed('fpga-cli.py', 'erase', region) == expected
    assert allowed(*TIMED, 'fpga-cli.py', 'erase', region) == expected


@pytest.mark.parametrize('image', [IMAGE, IMAGE.upper(), 'lzo', IMAGE[1:]])
def test_filter_and_specs_agree_on_image_ids(image):
    expected = accepts(specs.validate_ip_id, image)
    assert allowed('fpga-cli.py', 'burn', image) == expected
    assert allowed(*TIMED, 'fpga-cli.py', 'burn', image) == expected
