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

"""fpga-cli through a real rootwrap daemon and a real per-call rootwrap.

Both run etc/nova/rootwrap.d/fpga.filters with oslo.rootwrap's own
commands, and the reference fpga-cli.py inside timeout(1), as Nova does
when it does not run as root. These tests may run as root, where Nova
would run the tool directly: they set ``use_root_helper`` so the helper
path is still the one taken.
"""

import os
import sys
import time

import pytest

from nova_fpga import exception
from nova_fpga import fpga_cli
from tests import fpga_sim

IMAGE = 'dd834aa4-f950-40e6-8c23-9dab7f3f0138'
BIN_DIR = os.path.dirname(sys.executable)


@pytest.fixture
def rootwrap_conf(tmp_path, monkeypatch):
    """A rootwrap.conf reading the project's fpga.filters."""
    conf = tmp_path / 'rootwrap.conf'
    conf.write_text(
        '[DEFAULT]\n'
        'filters_path = %s\n'
        'exec_dirs = /usr/bin,/bin\n'
        'use_syslog = False\n'
        % os.path.join(fpga_sim.ETC, 'nova', 'rootwrap.d'))
    # timeout(1) finds the tool on the PATH rootwrap runs with.
    monkeypatch.setenv('PATH', BIN_DIR + os.pathsep + os.environ['PATH'])
    yield str(conf)
    fpga_cli.stop_rootwrap_daemons()


def through_daemon(rootwrap_conf, executable='fpga-cli.py', timeout=30):
    client = fpga_cli.FpgaCli(
        executable, timeout=timeout,
        root_helper_daemon='%s %s' % (
            os.path.join(BIN_DIR, 'oslo-rootwrap-daemon'), rootwrap_conf))
    client.use_root_helper = True
    return client


def through_rootwrap(rootwrap_conf, timeout=30):
    client = fpga_cli.FpgaCli(
        'fpga-cli.py', timeout=timeout,
        root_helper='%s %s' % (os.path.join(BIN_DIR, 'oslo-rootwrap'),
                               rootwrap_conf))
    client.use_root_helper = True
    return client


def tool_processes(state_dir):
    """fpga-cli processes of this test's simulated FPGA still running."""
    found = []
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as cmdline:
                if b'fpga-cli.py' not in cmdline.read():
                    continue
            with open('/proc/%s/environ' % pid, 'rb') as environ:
                if ('FPGA_CLI_STATE_DIR=%s\0' % state_dir).encode() in (
                        environ.read()):
                    found.append(int(pid))
        except OSError:
            continue
    return found


@pytest.mark.parametrize('connect', [through_daemon, through_rootwrap])
def test_burn_status_and_erase_through_a_root_helper(fpga, rootwrap_conf,
                                                     connect):
    client = connect(rootwrap_conf)
    assert client.status() == (0, 2)
    region = client.burn(IMAGE)
    assert region.startswith(fpga['FPGA_CLI_DEV_DIR'])
    assert client.status() == (1, 2)
    assert client.programmed_regions() == [
        fpga_cli.ProgrammedRegion(region, IMAGE)]
    client.erase(region)
    assert client.status() == (0, 2)


def test_daemon_errors_keep_their_types(fpga, rootwrap_conf):
    client = through_daemon(rootwrap_conf)
    with pytest.raises(exception.FpgaRegionUnknown) as unknown:
        client.erase('/dev/fpga9.9')
    assert unknown.value.exit_code == fpga_cli.EXIT_UNKNOWN_REGION
    assert '/dev/fpga9.9' in str(unknown.value)


def test_a_tool_the_filters_do_not_name_is_refused(fpga, rootwrap_conf):
    client = through_daemon(rootwrap_conf, executable='other-tool.py')
    with pytest.raises(exception.FpgaConfigError) as refused:
        client.status()
    assert 'fpga.filters' in str(refused.value)
    assert "fpga_exec 'other-tool.py'" in str(refused.value)
    # The daemon still serves commands the filters allow.
    assert through_daemon(rootwrap_conf).status() == (0, 2)


def test_per_call_rootwrap_names_a_refused_tool(fpga, rootwrap_conf):
    client = through_rootwrap(rootwrap_conf)
    client.executable = 'other-tool.py'
    with pytest.raises(exception.FpgaConfigError) as refused:
        client.status()
    assert 'rootwrap refused "other-tool.py status"' in str(refused.value)


def test_a_daemon_that_cannot_start_is_a_config_error(fpga):
    client = fpga_cli.FpgaCli('fpga-cli.py',
                              root_helper_daemon='/nonexistent/daemon x')
    client.use_root_helper = True
    with pytest.raises(exception.FpgaConfigError) as failed:
        client.status()
    assert '/nonexistent/daemon x' in str(failed.value)


@pytest.mark.parametrize('connect', [through_daemon, through_rootwrap])
def test_a_hung_tool_is_killed_at_the_timeout(fpga, rootwrap_conf,
                                              monkeypatch, connect):
    # The helpers pass on the environment they start with.
    monkeypatch.setenv('FPGA_CLI_HANG', 'burn')
    client = connect(rootwrap_conf, timeout=2)
    started = time.monotonic()
    with pytest.raises(exception.FpgaCliTimeout) as timed_out:
        client.burn(IMAGE)
    waited = time.monotonic() - started
    assert 'burn %s did not finish within 2 seconds' % IMAGE in str(
        timed_out.value)
    assert 2 <= waited < 20
    # timeout(1) killed it: nothing of the call is left running, and the
    # helper still serves the next command.
    assert tool_processes(fpga['FPGA_CLI_STATE_DIR']) == []
    assert client.status() == (0, 2)


def test_rootwrap_without_timeout_on_its_exec_dirs(fpga, tmp_path):
    conf = tmp_path / 'no-timeout.conf'
    conf.write_text(
        '[DEFAULT]\nfilters_path = %s\nexec_dirs = %s\nuse_syslog = False\n'
        % (os.path.join(fpga_sim.ETC, 'nova', 'rootwrap.d'), tmp_path))
    client = through_rootwrap(str(conf))
    with pytest.raises(exception.FpgaCliNotFound) as missing:
        client.status()
    assert 'did not find timeout' in str(missing.value)
    assert "'fpga-cli.py'" in str(missing.value)
