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

"""The steps of down (and of the stop half of restart), and status."""

import concurrent.futures
import json
import os
import shutil
import signal
import subprocess
import sys
import time

from fpga_nova_aio import processes
from fpga_nova_aio import steps

#: Order in which services start; down stops them the other way round.
SERVICE_ORDER = ('mariadb', 'epmd', 'rabbitmq', 'keystone', 'placement',
                 'glance', 'neutron', 'nova-api', 'nova-conductor',
                 'nova-scheduler', 'dockerd')


def ordered_records(settings):
    """(name, record) of the running services, in start order."""
    records = processes.all_records(settings)

    def position(name):
        if name in SERVICE_ORDER:
            return (SERVICE_ORDER.index(name), name)
        return (len(SERVICE_ORDER), name)

    return [(name, records[name]) for name in sorted(records, key=position)]


# down

def remove_containers(settings):
    """Remove every container of the cloud's Docker daemon.

    Containers run outside the daemon's session (their shims detach), so
    they are removed through the daemon before it stops.
    """
    record = processes.load_record(processes.record_path(settings,
                                                         'dockerd'))
    if processes.running_pid(record) is None:
        return steps.already('the Docker daemon is not running')
    docker = ['docker', '--host', settings.docker_url]
    log = settings.log('down')
    _, output = steps.run(docker + ['ps', '--all', '--quiet'], log)
    containers = output.split()
    if containers:
        steps.run(docker + ['rm', '--force', '--volumes'] + containers, log,
                  describe='docker rm of %d containers' % len(containers))
    return steps.done('%d containers removed' % len(containers))


def erase_fpga_regions(settings):
    """Erase the regions still programmed on the simulated FPGAs.

    Their device nodes live in /dev, outside the state directory; erase
    removes them, as it would after a delete.
    """
    fpga_root = settings.path('fpga')
    tool = settings.venv_bin('fpga-cli.py')
    erased = []
    if not os.path.isdir(fpga_root) or not os.path.exists(tool):
        return steps.already('no simulated FPGA')
    for name in sorted(os.listdir(fpga_root)):
        env = dict(os.environ, FPGA_CLI_STATE_DIR=os.path.join(fpga_root,
                                                               name))
        for variable in list(env):
            # Erasing needs no Glance.
            if variable.startswith('OS_'):
                del env[variable]
        result = subprocess.run([tool, 'status', '--json'], env=env,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        if result.returncode != 0:
            continue
        for region in json.loads(result.stdout).get('regions', []):
            region_id = region.get('region_id')
            if region_id:
                subprocess.run([tool, 'erase', region_id], env=env,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
                erased.append(region_id)
    if not erased:
        return steps.already('no region programmed')
    return steps.done('erased %s' % ', '.join(erased))


#: Services down stops last, after the others are gone: what the others
#: use while they shut down cleanly.
BACKING_SERVICES = ('mariadb', 'epmd', 'rabbitmq', 'dockerd')


def stop_services(settings):
    """Stop the services by pid, side by side.

    First the OpenStack services, then those they use.
    """
    records = ordered_records(settings)
    running = [name for name, record in records
               if processes.running_pid(record) is not None]
    durations = {}

    def stop(item):
        name, record = item
        started = time.monotonic()
        processes.stop_record(processes.record_path(settings, name), record)
        durations[name] = time.monotonic() - started

    groups = ([item for item in records if item[0] not in BACKING_SERVICES],
              [item for item in records if item[0] in BACKING_SERVICES])
    for group in groups:
        with concurrent.futures.ThreadPoolExecutor(
                max_workers=max(1, len(group))) as pool:
            list(pool.map(stop, group))
    if not running:
        return steps.already('no service running')
    slowest = max(running, key=lambda name: durations.get(name, 0))
    return steps.done('stopped %d services (slowest: %s, %s)' % (
        len(running), slowest, steps.format_seconds(durations[slowest])))


def _processes_using(path):
    """Pids of processes whose command line or cwd is under path."""
    pids = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as stream:
                cmdline = stream.read().replace(b'\0', b' ').decode(
                    'utf-8', 'replace')
            cwd = os.readlink('/proc/%s/cwd' % entry)
        except OSError:
            continue
        if path + '/' in cmdline or cwd == path or cwd.startswith(
                path + '/'):
            pids.append(int(entry))
    return pids


def _mounts_under(path):
    mounts = []
    with open('/proc/self/mountinfo') as stream:
        for line in stream:
            mount_point = line.split()[4].replace('\\040', ' ')
            if mount_point == path or mount_point.startswith(path + '/'):
                mounts.append(mount_point)
    # Deepest first.
    return sorted(mounts, key=len, reverse=True)


def clean_leftovers(settings):
    """Processes and mounts the daemons left under the state directory.

    Container shims and mounts belong to the Docker daemon but outlive
    it when it is killed; they are the cloud's by their paths.
    """
    state = os.path.realpath(settings.state_dir)
    if not os.path.isdir(state):
        return steps.already('no state directory')
    leftovers = _processes_using(state)
    for pid in leftovers:
        processes.send_signal(pid, signal.SIGKILL)
    unmounted = []
    for mount_point in _mounts_under(state):
        result = subprocess.run(['umount', mount_point],
                                stderr=subprocess.DEVNULL)
        if result.returncode != 0:
            subprocess.run(['umount', '--lazy', mount_point],
                           stderr=subprocess.DEVNULL)
        unmounted.append(mount_point)
    remaining = _mounts_under(state)
    if remaining:
        raise steps.StepFailed('cannot unmount %s' % ', '.join(remaining))
    if not leftovers and not unmounted:
        return steps.already('no process or mount left')
    return steps.done('%d processes ended, %d mounts removed' % (
        len(leftovers), len(unmounted)))


def remove_state(settings, purge):
    removed = []
    for path in ([settings.state_dir]
                 + ([settings.log_dir, settings.venv] if purge else [])):
        if os.path.exists(path):
            # Docker's vfs layers hold read-only directories; rmtree
            # copes, as root.
            shutil.rmtree(path)
            removed.append(path)
    if not removed:
        return steps.already('nothing to remove')
    return steps.done('removed %s' % ', '.join(removed))


def down_steps(settings, purge):
    return [
        steps.Step('Containers of the Docker daemon',
                   lambda: remove_containers(settings)),
        steps.Step('Regions of the simulated FPGAs',
                   lambda: erase_fpga_regions(settings)),
        steps.Step('Services (by pid)', lambda: stop_services(settings)),
        steps.Step('Leftover processes and mounts',
                   lambda: clean_leftovers(settings)),
        steps.Step('State%s' % (', logs and virtualenv' if purge else ''),
                   lambda: remove_state(settings, purge)),
    ]


def stop_steps(settings):
    return [
        steps.Step('Containers of the Docker daemon',
                   lambda: remove_containers(settings)),
        steps.Step('Services (by pid)', lambda: stop_services(settings)),
    ]


# status

def status(settings):
    """Print the services; return 0 if all run, 3 if none, else 1."""
    rows = ordered_records(settings)
    if not rows:
        print('Nothing is running (state directory %s).'
              % settings.state_dir)
        return 3
    total = 0
    dead = 0
    print('%-22s %-8s %8s  %s' % ('service', 'pid', 'RSS', 'log'))
    for name, record in rows:
        pid = processes.running_pid(record)
        rss = processes.service_rss(record)
        total += rss
        if pid is None:
            dead += 1
        print('%-22s %-8s %6d MiB  %s' % (
            name, pid if pid else 'DEAD', rss // (1024 * 1024),
            record.get('log', '')))
    print('%-22s %-8s %6d MiB' % ('total', '', total // (1024 * 1024)))
    if os.path.exists(settings.path('openrc')):
        print('credentials: . %s' % settings.path('openrc'))
    if dead:
        print('%d of %d services are not running: see their logs, then '
              'run up again.' % (dead, len(rows)), file=sys.stderr)
        return 1
    return 0
