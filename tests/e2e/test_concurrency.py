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

"""Region claims under a storm of boots, on the all-in-one cloud.

Runs after the walkthrough (its flavor ``fpga-lzo`` and image
``ubuntu_lzo``), on the same cloud re-run with a second FPGA compute and
two nova-scheduler processes: 32 FPGA boots at once against 4 free
regions give exactly 4 ACTIVE servers, each on its own region, and 28
that found no host with a free region; fpga-cli, Placement and Nova's
database agree, before and after the deletes. ``FPGA_NOVA_E2E_ROUNDS``
sets how many times (10).
"""

import collections
import json
import os
import subprocess
import time

import pytest

from tests.e2e import conftest

#: compute1 (from the walkthrough) and compute3, 2 regions each.
FPGA_HOSTS = ('compute1', 'compute3')
REGIONS_PER_HOST = 2
COMPUTES = 'compute1:2,compute2:0,compute3:2'
SCHEDULER_PROCESSES = 2
BOOTS = 32
ROUNDS = int(os.environ.get('FPGA_NOVA_E2E_ROUNDS', '10'))
CONCURRENT_BOOTS = os.path.join(conftest.REPO_DIR, 'benchmarks',
                                'concurrent_boots.py')
CLAIM_RACE = os.path.join(conftest.REPO_DIR, 'tools',
                          'placement_claim_race.py')

rounds = []


def _found_no_region(fault):
    """Whether Placement refused the build's claim: no host had a region.

    A claim Placement let through to a host without a free region would
    end at that host's fpga-cli instead ("no free region", then a
    reschedule until no host is left). openstack-placement 16.0.0 did
    that on MariaDB with its default allocation_conflict_retry_count
    (README, "Placement"); the cloud sets it to 1.
    """
    return 'No valid host was found' in fault


def _run_tool(cloud, script, *arguments):
    """Run script with the cloud's Python and credentials; its JSON."""
    result = subprocess.run(
        ['bash', '-c', '. %s && exec "$@"' % cloud.openrc, 'tool',
         cloud.venv_bin('python'), script] + list(arguments),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        timeout=conftest.COMMAND_TIMEOUT * 3)
    if result.returncode != 0:
        pytest.fail('%s %s failed:\n%s%s' % (
            os.path.basename(script), ' '.join(arguments), result.stdout,
            result.stderr))
    return json.loads(result.stdout)


def _boots(cloud, *arguments):
    return _run_tool(cloud, CONCURRENT_BOOTS, *arguments)


def _fpga_cli_regions(cloud, host):
    """{region id: image id} programmed on host's simulated FPGA."""
    state_dir = os.path.join(conftest.STATE_DIR, 'fpga', host)
    output = cloud.sh('FPGA_CLI_STATE_DIR=%s fpga-cli.py status --json'
                      % state_dir, quiet=True).stdout
    return {region['region_id']: region.get('image_id')
            for region in json.loads(output)['regions']
            if region.get('programmed')}


def _sql(query):
    """Rows of a query on Nova's main database, as tuples of strings."""
    result = subprocess.run(
        ['/usr/bin/mariadb', '--no-defaults', '--user=root', '--batch',
         '--skip-column-names',
         '--socket=%s' % os.path.join(conftest.STATE_DIR, 'mysql',
                                      'mysqld.sock'),
         'nova', '-e', query],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        check=True)
    return [tuple(line.split('\t')) for line in result.stdout.splitlines()]


def _db_regions(host):
    """{region id: instance uuid} of host's live instances."""
    return {region: uuid for uuid, region in _sql(
        "SELECT uuid, fpga_device FROM instances WHERE deleted = 0 AND "
        "host = '%s' AND fpga_device IS NOT NULL" % host)}


def _db_used(host):
    ((used,),) = _sql("SELECT fpga_regions_used FROM compute_nodes WHERE "
                      "deleted = 0 AND host = '%s'" % host)
    return int(used)


def _views(cloud, host):
    """What fpga-cli, Placement and the database count as used."""
    placement = _boots(cloud, 'usage', host)[host]
    return (len(_fpga_cli_regions(cloud, host)), placement, _db_used(host))


def _settled_views(cloud, host, expected, timeout=30):
    """_views once they are expected, or as they are after timeout.

    A build that succeeded stores its host's counts in the database just
    after it ended.
    """
    deadline = time.monotonic() + timeout
    views = _views(cloud, host)
    while views != expected and time.monotonic() < deadline:
        time.sleep(0.2)
        views = _views(cloud, host)
    return views


def test_1_second_fpga_compute_and_two_schedulers(cloud):
    """Re-run up with compute3 (2 regions) and two nova-schedulers."""
    command = cloud.aio_command('up', '--computes', COMPUTES,
                                '--schedulers',
                                str(SCHEDULER_PROCESSES))
    assert subprocess.run(command, stdin=subprocess.DEVNULL).returncode == 0
    # Room for every boot of a round: the quota must not be what stops
    # them, nor race (Nova's quota check is not atomic).
    cloud.sh('openstack quota set --instances %d --cores %d --ram %d admin'
             % (BOOTS * 2, BOOTS * 2, BOOTS * 2 * 512))
    services = json.loads(cloud.sh(
        'openstack compute service list --service nova-compute -f json',
        quiet=True).stdout)
    assert sorted((s['Host'], s['State']) for s in services) == [
        ('compute1', 'up'), ('compute2', 'up'), ('compute3', 'up')]
    # Two scheduler processes, both consuming the scheduler's queue.
    schedulers = []
    for name in ('nova-scheduler', 'nova-scheduler-2'):
        with open(os.path.join(conftest.STATE_DIR, 'run',
                               name + '.json')) as stream:
            schedulers.append(json.load(stream)['pid'])
    for pid in schedulers:
        assert os.path.exists('/proc/%d' % pid)
    for host in FPGA_HOSTS:
        assert _views(cloud, host) == (0, 0, 0)


def test_2_boot_storm_claims_every_region_once(cloud):
    """32 boots at once, 4 regions: 4 ACTIVE, 28 NoValidHost; 10 times."""
    regions = len(FPGA_HOSTS) * REGIONS_PER_HOST
    for number in range(1, ROUNDS + 1):
        prefix = 'storm%02d' % number
        result = _boots(cloud, 'boot', '--flavor', 'fpga-lzo', '--image',
                        'ubuntu_lzo', '--count', str(BOOTS), '--prefix',
                        prefix)
        servers = result['servers']
        active = [s for s in servers if s['status'] == 'ACTIVE']
        failed = [s for s in servers if s['status'] != 'ACTIVE']
        summary = 'round %d: %d ACTIVE, %d %s in %.1f s' % (
            number, len(active), len(failed),
            collections.Counter(s['status'] for s in failed),
            result['wall_seconds'])
        print(summary, flush=True)
        assert len(active) == regions, (summary, servers)
        for server in failed:
            assert server['status'] == 'ERROR', server
            assert _found_no_region(server['fault'] or ''), server
        assert collections.Counter(s['host'] for s in active) == {
            host: REGIONS_PER_HOST for host in FPGA_HOSTS}

        active_ids = {s['id'] for s in active}
        for host in FPGA_HOSTS:
            held = _db_regions(host)
            programmed = _fpga_cli_regions(cloud, host)
            # Every ACTIVE server of the host holds its own region, and
            # those are exactly the ones programmed.
            assert set(held.values()) == {
                s['id'] for s in active if s['host'] == host}
            assert set(held) == set(programmed)
            assert _settled_views(cloud, host, (REGIONS_PER_HOST,) * 3) == (
                REGIONS_PER_HOST,) * 3
        assert active_ids <= {uuid for host in FPGA_HOSTS
                              for uuid in _db_regions(host).values()}

        _boots(cloud, 'delete', '--prefix', prefix)
        for host in FPGA_HOSTS:
            assert _views(cloud, host) == (0, 0, 0)
        rounds.append(result)
    seconds = sorted(s['seconds'] for r in rounds for s in r['servers']
                     if s['status'] == 'ACTIVE')
    cloud.note('%d rounds of %d FPGA boots at once on %d regions: each '
               '%d ACTIVE, the others NoValidHost; wall time per round '
               '%.1f-%.1f s; create->ACTIVE median %.2f s' % (
                   len(rounds), BOOTS, regions, regions,
                   min(r['wall_seconds'] for r in rounds),
                   max(r['wall_seconds'] for r in rounds),
                   seconds[len(seconds) // 2]))


def test_3_the_same_successes_one_after_the_other(cloud):
    """Benchmark 4's other half: the 4 successes, booted serially."""
    result = _boots(cloud, 'boot', '--flavor', 'fpga-lzo', '--image',
                    'ubuntu_lzo', '--count', '4', '--prefix', 'serial',
                    '--serial')
    assert [s['status'] for s in result['servers']] == ['ACTIVE'] * 4
    _boots(cloud, 'delete', '--prefix', 'serial')
    for host in FPGA_HOSTS:
        assert _views(cloud, host) == (0, 0, 0)
    storm = sorted(r['wall_seconds'] for r in rounds)
    cloud.note('4 FPGA boots one after the other: %.1f s; 32 at once (4 '
               'ACTIVE): median %.1f s' % (result['wall_seconds'],
                                           storm[len(storm) // 2]))


def test_4_placement_alone_never_hands_out_a_region_twice(cloud):
    """32 claims at once on two 2-region providers, straight to Placement.

    The claims of the storm without Nova around them, so many more
    rounds fit: each gives exactly 4 claims and no provider over its
    regions. With Placement's default allocation_conflict_retry_count
    most rounds over-allocate.
    """
    rounds = ROUNDS * 2
    result = _run_tool(cloud, CLAIM_RACE, '--rounds', str(rounds),
                       '--claims', str(BOOTS))
    for number, outcome in enumerate(result['rounds'], 1):
        assert outcome['claimed'] == 2 * REGIONS_PER_HOST, (number, outcome)
        assert sorted(outcome['region_usage'].values()) == [
            REGIONS_PER_HOST] * 2, (number, outcome)
    assert result['over_allocated_rounds'] == 0
    cloud.note('%d rounds of %d region claims at once straight to '
               'Placement: each 4 claimed, none over a provider\'s regions'
               % (rounds, BOOTS))


def test_5_a_boot_right_after_a_restart(cloud):
    """restart returns once every compute serves: a boot at once lands.

    A compute's service record from before the restart still reads "up";
    a boot scheduled to it before the new process listens is lost, and
    the compute puts it in ERROR when it starts.
    """
    command = cloud.aio_command('restart', '--computes', COMPUTES,
                                '--schedulers', str(SCHEDULER_PROCESSES))
    assert subprocess.run(command, stdin=subprocess.DEVNULL).returncode == 0
    server = json.loads(cloud.sh(
        'openstack server create --flavor fpga-lzo --image ubuntu_lzo '
        '--nic none --wait -f json after-restart').stdout)
    assert server['status'] == 'ACTIVE'
    cloud.sh('openstack server delete --wait after-restart')
    for host in FPGA_HOSTS:
        assert _views(cloud, host) == (0, 0, 0)
