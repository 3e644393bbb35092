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

"""nova_fpga.fpga_cli against the real bin/fpga-cli.py.

Output outside the contract and a hanging tool cannot be produced with the
reference tool, so those cases run tiny executables written by the test.
"""

import os
import signal
import sys
import textwrap
import time

import pytest

from nova_fpga import exception
from nova_fpga import fpga_cli
from tests import fpga_sim

IMAGE = 'dd834aa4-f950-40e6-8c23-9dab7f3f0138'


@pytest.fixture
def client(fpga):
    return fpga_cli.FpgaCli(fpga_sim.FPGA_CLI, root_helper='', timeout=30)


def fake_tool(tmp_path, body):
    """An executable that runs the given shell script body."""
    path = tmp_path / 'fake-fpga-cli'
    path.write_text('#!/bin/sh\n' + textwrap.dedent(body))
    path.chmod(0o755)
    return str(path)


def test_status_parses_the_counts(client):
    assert client.status() == fpga_cli.RegionStatus(used=0, total=2)
    assert client.status().free == 2


def test_burn_returns_the_region_and_erase_frees_it(client):
    region = client.burn(IMAGE)
    assert region.startswith(os.environ['FPGA_CLI_DEV_DIR'])
    assert client.status() == (1, 2)
    client.erase(region)
    assert client.status() == (0, 2)


def test_burn_failure_is_typed_with_code_and_message(client):
    client.burn(IMAGE)
    client.burn(IMAGE)
    with pytest.raises(exception.FpgaBurnFailed) as e:
        client.burn(IMAGE)
    assert e.value.exit_code == 64
    assert "cannot programm `%s' - no free region" % IMAGE in e.value.stderr
    assert 'exit code 64' in e.value.message


def test_unknown_region_is_typed(client):
    with pytest.raises(exception.FpgaRegionUnknown) as e:
        client.erase('/dev/fpga9.9')
    assert e.value.exit_code == 33
    assert 'unknown region' in e.value.message


def test_inaccessible_fpga_is_typed(client, monkeypatch):
    monkeypatch.setenv('FPGA_ERROR', '1')
    with pytest.raises(exception.FpgaNotAccessible) as e:
        client.status()
    assert e.value.exit_code == 127
    assert 'FPGA device is not accesible' in e.value.message


@pytest.mark.parametrize('output', [
    'garbage\n', 'Used regions: 1\n', 'Used regions: -1/2\n',
    'Used regions: 1/2 extra\n', '',
])
def test_status_garbage_is_an_invalid_output_error(tmp_path, output):
    tool = fake_tool(tmp_path, 'printf %%s "%s"\n' % output)
    client = fpga_cli.FpgaCli(tool, root_helper='')
    with pytest.raises(exception.FpgaCliOutputInvalid) as e:
        client.status()
    assert repr(output) in e.value.message


def test_more_used_than_total_is_refused(tmp_path):
    tool = fake_tool(tmp_path, 'echo "Used regions: 3/2"\n')
    with pytest.raises(exception.FpgaCliOutputInvalid) as e:
        fpga_cli.FpgaCli(tool, root_helper='').status()
    assert 'Used regions: 3/2' in e.value.message


@pytest.mark.parametrize('output', [
    'two\nlines\n', '', '/dev/fpga0; rm -rf /\n', 'x' * 257 + '\n'])
def test_burn_output_outside_the_contract_is_refused(tmp_path, output):
    tool = fake_tool(tmp_path, 'printf %%s "%s"\n' % output)
    with pytest.raises(exception.FpgaCliOutputInvalid):
        fpga_cli.FpgaCli(tool, root_helper='').burn(IMAGE)


def test_missing_executable_is_named(tmp_path):
    missing = str(tmp_path / 'no-such-fpga-cli')
    with pytest.raises(exception.FpgaCliNotFound) as e:
        fpga_cli.FpgaCli(missing, root_helper='').status()
    assert missing in e.value.message


def test_non_executable_file_is_named(tmp_path):
    path = tmp_path / 'fpga-cli'
    path.write_text('echo "Used regions: 0/1"\n')
    with pytest.raises(exception.FpgaCliNotFound) as e:
        fpga_cli.FpgaCli(str(path), root_helper='').status()
    assert 'not executable' in e.value.message


def test_the_tool_leads_a_session_and_does_not_ignore_sigpipe(tmp_path):
    # Its own session, so that a timeout kills whatever it started too.
    # Python ignores SIGPIPE, and a tool inheriting that would go on
    # writing when its reader has gone.
    seen = tmp_path / 'seen'
    tool = fake_tool(tmp_path, '''\
        echo $$ > %(seen)s
        cut -d ' ' -f 6 /proc/$$/stat >> %(seen)s
        grep SigIgn /proc/$$/status >> %(seen)s
        echo "Used regions: 0/1"
        ''' % {'seen': seen})
    fpga_cli.FpgaCli(tool, root_helper='').status()
    pid, session, ignored = seen.read_text().splitlines()
    assert session == pid
    assert not int(ignored.split()[1], 16) & (1 << (signal.SIGPIPE - 1))


def test_hang_times_out_and_kills_the_tool(tmp_path):
    pid_file = tmp_path / 'pid'
    tool = fake_tool(tmp_path, '''\
        echo $$ > %s
        sleep 300
        ''' % pid_file)
    client = fpga_cli.FpgaCli(tool, root_helper='', timeout=1)
    started = time.monotonic()
    with pytest.raises(exception.FpgaCliTimeout) as e:
        client.status()
    assert time.monotonic() - started < 30
    assert 'did not finish within 1 seconds' in e.value.message
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_fpga_exec_unset_is_a_config_error():
    with pytest.raises(exception.FpgaConfigError) as e:
        fpga_cli.FpgaCli(None)
    assert 'fpga_exec' in e.value.message


def test_bad_arguments_never_reach_the_tool(tmp_path):
    called = tmp_path / 'called'
    tool = fake_tool(tmp_path, 'touch %s\n' % called)
    client = fpga_cli.FpgaCli(tool, root_helper='')
    with pytest.raises(exception.InvalidFpgaIpId) as e:
        client.burn('not-a-uuid; reboot')
    assert 'not-a-uuid; reboot' in e.value.message
    for region in ['', '$(reboot)', 'a b', 'x' * 257, '/dev/fpga0\n']:
        with pytest.raises(exception.InvalidRegionId):
            client.erase(region)
    assert not called.exists()


def test_simulation_mode_burns_and_erases_nothing(client):
    client.simulation = True
    region = client.burn(IMAGE)
    assert IMAGE in region
    assert client.status() == (0, 2)
    client.erase(region)
    assert client.status() == (0, 2)


def test_from_conf_reads_the_options():
    from oslo_config import cfg

    from nova_fpga import conf as fpga_conf
    conf = cfg.ConfigOpts()
    fpga_conf.register_opts(conf)
    conf([], default_config_files=[])
    conf.set_override('fpga_exec', sys.executable)
    conf.set_override('command_timeout', 7, group='fpga')
    conf.set_override('root_helper', '', group='fpga')
    conf.set_override('fpga_simulation_mode', True)
    client = fpga_cli.FpgaCli.from_conf(conf)
    assert (client.executable, client.timeout, client.root_helper,
            client.simulation) == (sys.executable, 7, None, True)
    # The rootwrap daemon is the default way for a Nova that is not root.
    assert client.root_helper_daemon == (
        'sudo nova-rootwrap-daemon /etc/nova/rootwrap.conf')
    assert client.use_root_helper == (os.geteuid() != 0)
