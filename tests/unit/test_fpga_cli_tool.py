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

"""bin/fpga-cli.py keeps the fpga-cli contract on its simulated FPGA."""

import concurrent.futures
import json
import os
import stat
import subprocess
import sys

import pytest

from tests.fpga_sim import run_fpga_cli

IMAGE = 'dd834aa4-f950-40e6-8c23-9dab7f3f0138'
OTHER_IMAGE = '064704cb-b416-4acf-b149-b7272e1a9a20'
AS_ROOT = os.geteuid() == 0


def burn(environ, image=IMAGE):
    result = run_fpga_cli(environ, 'burn', image)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ''
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    return lines[0]


def status(environ):
    result = run_fpga_cli(environ, 'status')
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_status_of_a_new_fpga_reports_no_region_used(fpga):
    assert status(fpga) == 'Used regions: 0/2\n'


def test_regions_count_comes_from_the_environment(fpga):
    fpga['FPGA_CLI_REGIONS'] = '5'
    assert status(fpga) == 'Used regions: 0/5\n'


def test_burn_prints_the_region_device_path_and_counts_it(fpga):
    region = burn(fpga)
    assert region.startswith(fpga['FPGA_CLI_DEV_DIR'] + '/fpga0.')
    assert len(region) <= 256
    assert status(fpga) == 'Used regions: 1/2\n'


def test_device_names_of_two_fpgas_sharing_a_device_directory(fpga,
                                                              tmp_path):
    other = dict(fpga, FPGA_CLI_STATE_DIR=str(tmp_path / 'other-state'),
                 FPGA_CLI_DEV_NAME='fpga-compute3-')
    first, second = burn(fpga), burn(other)
    assert first == fpga['FPGA_CLI_DEV_DIR'] + '/fpga0.1'
    assert second == fpga['FPGA_CLI_DEV_DIR'] + '/fpga-compute3-0.1'
    assert os.path.exists(first) and os.path.exists(second)


@pytest.mark.parametrize('value', ['../fpga', 'fpga/', 'a b', 'x' * 65])
def test_bad_device_name_is_named_and_nothing_burned(fpga, value):
    fpga['FPGA_CLI_DEV_NAME'] = value
    result = run_fpga_cli(fpga, 'burn', IMAGE)
    assert result.returncode == 64
    assert 'FPGA_CLI_DEV_NAME=%r' % value in result.stderr
    assert status(fpga) == 'Used regions: 0/2\n'


def test_region_ids_are_unique_per_burn(fpga):
    first = burn(fpga)
    assert run_fpga_cli(fpga, 'erase', first).returncode == 0
    second = burn(fpga)
    assert second != first
    # The old id is gone for good: erasing it cannot touch the new burn.
    result = run_fpga_cli(fpga, 'erase', first)
    assert result.returncode == 33
    assert status(fpga) == 'Used regions: 1/2\n'


def test_burn_without_a_free_region_fails_with_64(fpga):
    burn(fpga)
    burn(fpga, OTHER_IMAGE)
    result = run_fpga_cli(fpga, 'burn', IMAGE)
    assert result.returncode == 64
    assert result.stdout == ''
    assert result.stderr == (
        "Error: cannot programm `%s' - no free region (2/2 used)\n" % IMAGE)
    assert status(fpga) == 'Used regions: 2/2\n'


def test_erase_frees_the_region_silently(fpga):
    region = burn(fpga)
    result = run_fpga_cli(fpga, 'erase', region)
    assert (result.returncode, result.stdout, result.stderr) == (0, '', '')
    assert status(fpga) == 'Used regions: 0/2\n'


def test_erase_of_an_unknown_region_fails_with_33(fpga):
    result = run_fpga_cli(fpga, 'erase', 'bad_id')
    assert result.returncode == 33
    assert result.stdout == ''
    assert result.stderr == ("Error: cannot erase FPGA device with id "
                             "`bad_id' - unknown region\n")


def test_erasing_twice_is_an_error(fpga):
    region = burn(fpga)
    assert run_fpga_cli(fpga, 'erase', region).returncode == 0
    result = run_fpga_cli(fpga, 'erase', region)
    assert result.returncode == 33
    assert 'unknown region' in result.stderr


def test_erase_never_touches_other_regions(fpga):
    kept = burn(fpga)
    erased = burn(fpga, OTHER_IMAGE)
    assert run_fpga_cli(fpga, 'erase', erased).returncode == 0
    regions = json.loads(run_fpga_cli(fpga, 'status', '--json').stdout)
    programmed = [r for r in regions['regions'] if r['programmed']]
    assert [(r['region_id'], r['image_id']) for r in programmed] == [
        (kept, IMAGE)]


def test_status_json_describes_every_region(fpga):
    region = burn(fpga)
    result = run_fpga_cli(fpga, 'status', '--json')
    assert result.returncode == 0
    state = json.loads(result.stdout)
    assert (state['used'], state['total']) == (1, 2)
    first, second = state['regions']
    assert first['programmed'] and first['device'] == region
    assert first['image_id'] == IMAGE
    assert not second['programmed'] and second['device'] is None


@pytest.mark.parametrize('verb, args, code, message', [
    ('status', [], 127, 'Error: FPGA device is not accesible\n'),
    ('burn', [IMAGE], 64,
     "Error: cannot programm `%s' - no matching hardware found\n" % IMAGE),
    ('erase', ['/dev/fpga0.1'], 33,
     "Error: cannot erase FPGA device with id `/dev/fpga0.1' - unknown "
     "region\n"),
])
def test_fpga_error_makes_every_verb_fail_with_its_code(
        fpga, verb, args, code, message):
    fpga['FPGA_ERROR'] = '1'
    result = run_fpga_cli(fpga, verb, *args)
    assert (result.returncode, result.stdout, result.stderr) == (
        code, '', message)


def test_fpga_error_leaves_programmed_regions_alone(fpga):
    region = burn(fpga)
    failing = dict(fpga, FPGA_ERROR='1')
    assert run_fpga_cli(failing, 'erase', region).returncode == 33
    assert status(fpga) == 'Used regions: 1/2\n'


def test_state_survives_restarts(fpga):
    region = burn(fpga)
    # Every call is a new process: the second one only knows the region
    # from the state directory.
    assert status(fpga) == 'Used regions: 1/2\n'
    assert run_fpga_cli(fpga, 'erase', region).returncode == 0
    assert status(fpga) == 'Used regions: 0/2\n'


def test_fifty_concurrent_burns_of_two_regions_give_two(fpga):
    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(
            lambda _: run_fpga_cli(fpga, 'burn', IMAGE), range(50)))
    succeeded = [r for r in results if r.returncode == 0]
    failed = [r for r in results if r.returncode != 0]
    assert len(succeeded) == 2
    assert len({r.stdout for r in succeeded}) == 2
    assert len(failed) == 48
    assert {(r.returncode, r.stdout) for r in failed} == {(64, '')}
    assert all('no free region' in r.stderr for r in failed)
    assert status(fpga) == 'Used regions: 2/2\n'
    state = json.loads(run_fpga_cli(fpga, 'status', '--json').stdout)
    assert sorted(r['region_id'] for r in state['regions']) == sorted(
        r.stdout.strip() for r in succeeded)


@pytest.mark.parametrize('verb, args, code', [
    ('status', [], 127), ('burn', [IMAGE], 64), ('erase', ['x'], 33)])
def test_corrupted_state_file_gives_a_clear_error(fpga, verb, args, code):
    burn(fpga)
    state_file = os.path.join(fpga['FPGA_CLI_STATE_DIR'], 'state.json')
    with open(state_file, 'w') as f:
        f.write('{"format": 1, "regions": [')
    result = run_fpga_cli(fpga, verb, *args)
    assert result.returncode == code
    assert 'FPGA state file %s is corrupt' % state_file in result.stderr
    assert 'Traceback' not in result.stderr


@pytest.mark.parametrize('value', ['0', '-1', 'two', ''])
def test_bad_region_count_is_named(fpga, value):
    fpga['FPGA_CLI_REGIONS'] = value
    result = run_fpga_cli(fpga, 'status')
    assert result.returncode == 127
    assert 'FPGA_CLI_REGIONS=%r' % value in result.stderr


def test_shrinking_below_a_programmed_region_is_refused(fpga):
    burn(fpga)
    last = burn(fpga, OTHER_IMAGE)
    fpga['FPGA_CLI_REGIONS'] = '1'
    result = run_fpga_cli(fpga, 'status')
    assert result.returncode == 127
    assert last in result.stderr
    fpga['FPGA_CLI_REGIONS'] = '2'
    assert status(fpga) == 'Used regions: 2/2\n'


@pytest.mark.skipif(not AS_ROOT, reason='device nodes need root')
def test_burn_creates_and_erase_removes_a_character_device(fpga):
    region = burn(fpga)
    mode = os.stat(region).st_mode
    assert stat.S_ISCHR(mode)
    assert os.stat(region).st_rdev == os.stat('/dev/zero').st_rdev
    with open(region, 'rb') as device:
        assert device.read(4) == b'\0\0\0\0'
    assert run_fpga_cli(fpga, 'erase', region).returncode == 0
    assert not os.path.exists(region)


def _modules_after_status(environ):
    """The modules a plain status loads, in a process of its own."""
    script = ('import sys; from nova_fpga.simulator import cli; '
              'code = cli.main(["status"]); '
              'print(" ".join(sorted(sys.modules)), file=sys.stderr); '
              'sys.exit(code)')
    result = subprocess.run([sys.executable, '-c', script], env=environ,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout, set(result.stderr.split())


def test_status_after_a_burn_reads_the_usage_file_not_the_state(fpga):
    burn(fpga)
    printed, modules = _modules_after_status(fpga)
    assert printed == 'Used regions: 1/2\n'
    # Parsing the JSON state is most of a status call's cost.
    assert 'json' not in modules


def test_status_loads_the_state_when_the_usage_file_is_stale(fpga):
    region = burn(fpga)
    state_dir = fpga['FPGA_CLI_STATE_DIR']
    with open(os.path.join(state_dir, 'usage')) as f:
        after_burn = f.read()
    assert run_fpga_cli(fpga, 'erase', region).returncode == 0
    # A crash between the state file's write and the usage file's
    # leaves the usage of the state before.
    with open(os.path.join(state_dir, 'usage'), 'w') as f:
        f.write(after_burn)
    printed, modules = _modules_after_status(fpga)
    assert printed == 'Used regions: 0/2\n'
    assert 'json' in modules


@pytest.mark.parametrize('usage', [
    '', 'garbage\n', '9 2 1 2 3\n',
    # The identity of the state file as it is, with bad counts.
    '-1 2 {identity}\n', 'one 2 {identity}\n', '9 2 {identity} extra\n'])
def test_a_bad_usage_file_never_reaches_status(fpga, usage):
    burn(fpga)
    state_dir = fpga['FPGA_CLI_STATE_DIR']
    with open(os.path.join(state_dir, 'usage')) as f:
        identity = ' '.join(f.read().split()[2:])
    with open(os.path.join(state_dir, 'usage'), 'w') as f:
        f.write(usage.format(identity=identity))
    assert status(fpga) == 'Used regions: 1/2\n'


def test_usage_file_is_for_the_region_count_it_was_written_with(fpga):
    burn(fpga)
    fpga['FPGA_CLI_REGIONS'] = '3'
    assert status(fpga) == 'Used regions: 1/3\n'


def test_saves_leave_no_temporary_file_behind(fpga):
    region = burn(fpga)
    assert run_fpga_cli(fpga, 'erase', region).returncode == 0
    assert sorted(os.listdir(fpga['FPGA_CLI_STATE_DIR'])) == [
        'lock', 'state.json', 'usage']
