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

"""bin/fpga-cli.py: region reuse, and its fault injection."""

import json
import os
import signal
import subprocess
import time

import pytest

from tests.fpga_sim import FPGA_CLI
from tests.fpga_sim import run_fpga_cli

IMAGE = 'dd834aa4-f950-40e6-8c23-9dab7f3f0138'
OTHER_IMAGE = '064704cb-b416-4acf-b149-b7272e1a9a20'


def burn(environ, image=IMAGE):
    result = run_fpga_cli(environ, 'burn', image)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def erase(environ, region):
    assert run_fpga_cli(environ, 'erase', region).returncode == 0


def regions(environ):
    return json.loads(run_fpga_cli(environ, 'status', '--json').stdout)[
        'regions']


def test_burn_reuses_a_free_region_holding_the_ip_core(fpga):
    first = burn(fpga)
    programmed_at = regions(fpga)[0]['programmed_at']
    erase(fpga, first)
    # Free, and still holding the IP core.
    free = regions(fpga)[0]
    assert (free['programmed'], free['image_id']) == (False, IMAGE)

    second = burn(fpga)

    region = regions(fpga)[0]
    assert second != first and second.startswith(os.path.join(
        fpga['FPGA_CLI_DEV_DIR'], 'fpga0.'))
    assert (region['reused'], region['programmed_at']) == (
        True, programmed_at)


def test_other_ip_cores_go_to_empty_regions_first(fpga):
    erase(fpga, burn(fpga))
    burn(fpga, OTHER_IMAGE)
    region_0, region_1 = regions(fpga)
    assert (region_0['programmed'], region_0['image_id']) == (False, IMAGE)
    assert (region_1['image_id'], region_1['reused']) == (
        OTHER_IMAGE, False)


def test_a_region_in_use_is_never_reused(fpga):
    in_use = burn(fpga)
    other = burn(fpga)
    assert in_use != other
    assert [r['reused'] for r in regions(fpga)] == [False, False]
    result = run_fpga_cli(fpga, 'burn', IMAGE)
    assert result.returncode == 64 and 'no free region' in result.stderr


def test_reuse_can_be_switched_off(fpga):
    fpga['FPGA_CLI_REUSE'] = '0'
    erase(fpga, burn(fpga))
    assert 'image_id' not in regions(fpga)[0]
    burn(fpga)
    assert regions(fpga)[0]['reused'] is False


@pytest.mark.parametrize('failing, verb, args, code', [
    ('erase', 'erase', ['{region}'], 33),
    ('burn', 'burn', [IMAGE], 64),
    ('status', 'status', [], 127),
    ('burn,erase', 'erase', ['{region}'], 33),
])
def test_fpga_error_can_fail_chosen_verbs_only(fpga, failing, verb, args,
                                               code):
    region = burn(fpga)
    fpga['FPGA_ERROR'] = failing
    args = [arg.format(region=region) for arg in args]
    assert run_fpga_cli(fpga, verb, *args).returncode == code
    others = {'status': [], 'burn': [OTHER_IMAGE], 'erase': [region]}
    for other in set(others) - set(failing.split(',')):
        result = run_fpga_cli(fpga, other, *others[other])
        assert result.returncode == 0, (other, result.stderr)


def _start(environ, *args):
    return subprocess.Popen([FPGA_CLI] + list(args),
                            env=environ, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _wait_for(condition, timeout=30):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_hang_after_burn_programs_the_region_without_printing_it(fpga):
    hung = _start(dict(fpga, FPGA_CLI_HANG='burn:after'), 'burn', IMAGE)
    try:
        _wait_for(lambda: regions(fpga)[0]['programmed'])
        # The state is saved and unlocked: the FPGA goes on working.
        assert burn(fpga, OTHER_IMAGE)
        assert hung.poll() is None
    finally:
        os.killpg(hung.pid, signal.SIGKILL)
    stdout, _stderr = hung.communicate()
    assert stdout == ''


def test_hang_before_burn_programs_nothing(fpga):
    hung = _start(dict(fpga, FPGA_CLI_HANG='burn'), 'burn', IMAGE)
    try:
        time.sleep(1)
        assert hung.poll() is None
        assert not any(region['programmed'] for region in regions(fpga))
    finally:
        os.killpg(hung.pid, signal.SIGKILL)
        hung.communicate()
