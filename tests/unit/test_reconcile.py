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

"""nova_fpga.reconcile: reaping orphaned regions of the real fpga-cli.py.

The host's instances are a dict here (Nova's database in tests/nova); the
FPGA is the reference tool on a simulated FPGA. A vendor tool without
``status --json`` cannot be had from the reference tool, so a small
executable stands in for one.
"""

import contextlib
import logging
import os
import stat
import textwrap

from oslo_config import cfg
from oslo_config import fixture as config_fixture
import pytest

from nova_fpga import fpga_cli
from nova_fpga import reconcile
from nova_fpga import regions
from tests import fpga_sim

IMAGE = 'dd834aa4-f950-40e6-8c23-9dab7f3f0138'
HOST = 'compute1'


@pytest.fixture
def conf(fpga):
    fixture = config_fixture.Config(cfg.CONF)
    fixture.setUp()
    fixture.config(fpga_access=True, fpga_exec=fpga_sim.FPGA_CLI)
    fixture.config(root_helper='', command_timeout=30,
                   orphaned_region_grace_period=0, group='fpga')
    yield fixture
    fixture.cleanUp()


@pytest.fixture
def reaper():
    return reconcile.OrphanReaper()


@pytest.fixture
def builds():
    return regions.BuildsInProgress()


def burn(fpga, image=IMAGE):
    result = fpga_sim.run_fpga_cli(fpga, 'burn', image)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def programmed(fpga):
    return [region.region_id for region in fpga_cli.parse_status_json(
        fpga_sim.run_fpga_cli(fpga, 'status', '--json').stdout)]


def test_orphans_are_erased_and_held_regions_kept(
        fpga, conf, reaper, builds, caplog):
    caplog.set_level(logging.INFO)
    held = burn(fpga)
    orphan = burn(fpga)

    result = reaper.reap(HOST, lambda: {held: 'instance-1'}, builds=builds)

    assert (result.erased, result.kept, result.deferred) == (
        [orphan], [], False)
    assert programmed(fpga) == [held]
    assert ('Erased orphaned FPGA region %s (IP core %s): no instance of '
            'host %s holds it' % (orphan, IMAGE, HOST)) in caplog.text


@contextlib.contextmanager
def building(builds, host, instance_uuid):
    """A build in progress, from the burn's begin to the hooks' end."""
    builds.begin(host, instance_uuid)
    try:
        yield
    finally:
        builds.end(host, instance_uuid)


def test_nothing_is_reaped_while_a_build_is_in_progress(
        fpga, conf, reaper, builds):
    orphan = burn(fpga)
    with building(builds, HOST, 'building-instance'):
        result = reaper.reap(HOST, dict, builds=builds)
    assert result.deferred
    assert programmed(fpga) == [orphan]

    # Another host's build does not hold this one back.
    with building(builds, 'other-host', 'building-instance'):
        result = reaper.reap(HOST, dict, builds=builds)
    assert result.erased == [orphan]


def test_a_build_starting_during_the_pass_defers_it(
        fpga, conf, reaper, builds):
    burned_during_the_pass = []

    def held_regions():
        # A burn starts, and ends, between the listing and the erase.
        with building(builds, HOST, 'new-instance'):
            burned_during_the_pass.append(burn(fpga))
        return {}

    burn(fpga)
    result = reaper.reap(HOST, held_regions, builds=builds)

    assert result.deferred
    assert len(programmed(fpga)) == 2
    assert reaper.reap(HOST, dict, builds=builds).erased != []


def test_grace_period_counts_from_the_first_sighting(fpga, conf, builds):
    conf.config(orphaned_region_grace_period=60, group='fpga')
    now = [1000.0]
    reaper = reconcile.OrphanReaper(clock=lambda: now[0])
    orphan = burn(fpga)

    assert reaper.reap(HOST, dict, builds=builds).kept == [orphan]
    now[0] += 59
    assert reaper.reap(HOST, dict, builds=builds).kept == [orphan]
    # Held by an instance for a while: the clock starts again.
    reaper.reap(HOST, lambda: {orphan: 'instance'}, builds=builds)
    now[0] += 30
    assert reaper.reap(HOST, dict, builds=builds).kept == [orphan]
    now[0] += 60
    assert reaper.reap(HOST, dict, builds=builds).erased == [orphan]


def test_failed_erase_is_logged_and_tried_again(
        fpga, conf, reaper, builds, monkeypatch, caplog):
    orphan = burn(fpga)
    monkeypatch.setenv('FPGA_ERROR', 'erase')

    result = reaper.reap(HOST, dict, builds=builds)

    assert result.kept == [orphan]
    assert ('Cannot erase orphaned FPGA region %s of host %s'
            % (orphan, HOST)) in caplog.text
    monkeypatch.delenv('FPGA_ERROR')
    assert reaper.reap(HOST, dict, builds=builds).erased == [orphan]


def test_inaccessible_fpga_is_reported_not_raised(
        fpga, conf, reaper, builds, monkeypatch):
    monkeypatch.setenv('FPGA_ERROR', 'status')
    result = reaper.reap(HOST, dict, builds=builds)
    assert 'FPGA device is not accesible' in result.unusable


def _vendor_tool(tmp_path, used):
    """A tool keeping the contract, without "status --json"."""
    path = tmp_path / 'vendor-fpga-cli'
    path.write_text(textwrap.dedent('''\
        #!/bin/sh
        if [ "$1" = status ] && [ $# -eq 1 ]; then
            echo "Used regions: %d/4"; exit 0
        fi
        echo "usage: vendor-fpga-cli status|burn|erase" >&2
        exit 2
        ''' % used))
    os.chmod(path, stat.S_IRWXU)
    return str(path)


def test_tool_without_status_json_degrades_to_counting(
        tmp_path, conf, reaper, builds, caplog):
    conf.config(fpga_exec=_vendor_tool(tmp_path, used=3))

    result = reaper.reap(HOST, lambda: {'/dev/x1': 'instance'},
                         builds=builds)
    reaper.reap(HOST, lambda: {'/dev/x1': 'instance'}, builds=builds)

    assert (result.erased, result.unusable) == ([], None)
    assert caplog.text.count('cannot list its regions') == 1
    assert ('3 FPGA regions of host %s are in use but its instances hold '
            '1' % HOST) in caplog.text


@pytest.mark.parametrize('output, named', [
    ('not json', 'not JSON'),
    ('[]', 'expected an object with a "regions" list'),
    ('{"regions": [{"programmed": "yes"}]}', 'a boolean "programmed"'),
    ('{"regions": [{"programmed": true, "region_id": "a b"}]}',
     "Invalid FPGA region id 'a b'"),
    ('{"regions": [{"programmed": true, "region_id": "%s"}]}' % ('x' * 257),
     'longer than 256'),
])
def test_status_json_outside_the_contract_is_refused(output, named):
    with pytest.raises(fpga_cli.exception.FpgaCliOutputInvalid) as e:
        fpga_cli.parse_status_json(output)
    assert named in e.value.message


def test_builds_in_progress_refuse_a_region_twice(builds):
    with building(builds, HOST, 'first'), building(builds, HOST, 'second'):
        assert builds.record(HOST, 'first', '/dev/fpga0.1') is None
        assert builds.record(HOST, 'second', '/dev/fpga0.1') == 'first'
        assert builds.record('other-host', 'third', '/dev/fpga0.1') is None


def test_region_erased_during_the_pass_is_no_error(
        fpga, conf, reaper, builds, caplog):
    caplog.set_level(logging.INFO)
    region = burn(fpga)

    def held_regions():
        # Its instance's delete erases it between listing and reaping.
        assert fpga_sim.run_fpga_cli(fpga, 'erase', region).returncode == 0
        return {}

    result = reaper.reap(HOST, held_regions, builds=builds)

    assert result.erased == [region]
    assert 'was erased meanwhile' in caplog.text
    assert 'Cannot erase' not in caplog.text


def test_a_build_ended_twice_changes_nothing_the_second_time():
    builds = regions.BuildsInProgress()
    builds.begin(HOST, 'instance')
    builds.end(HOST, 'instance')
    snapshot = builds.snapshot(HOST)
    builds.end(HOST, 'instance')
    with builds.reaping(HOST, snapshot) as quiet:
        assert quiet
