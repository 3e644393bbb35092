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

"""What one ``fpga-cli status`` costs on Nova's path, three ways.

As root, with the Python of a compute node's Nova (the all-in-one
cloud's virtualenv) and its rootwrap configuration::

    . /var/lib/fpga-nova-aio/openrc
    /opt/fpga-nova-aio/venv/bin/python benchmarks/status_poll.py \\
        --rootwrap-config /var/lib/fpga-nova-aio/etc/compute1/rootwrap.conf

Every way is ``nova_fpga.fpga_cli.FpgaCli``, as Nova calls it:

* direct: no root helper (Nova running as root);
* rootwrap: ``[fpga] root_helper`` alone, a new ``nova-rootwrap``
  process per call;
* rootwrap daemon: ``[fpga] root_helper_daemon``, the default for a Nova
  that does not run as root.

Both helpers run the tool inside ``timeout``, as for a non-root Nova,
also when this benchmark runs as root. The calls alternate between the
ways, so that the machine's noise falls on each alike. Prints the median
and 90th percentile per call, and, for scale, what starting the
interpreter costs, with and without site (``python -c pass``,
``python -S -c pass``: the reference fpga-cli.py starts without it).

``--resident-mib`` makes the caller as large as a Nova service: a spawn
that forks copies the caller's page tables, and so costs more in
nova-compute than in a small process.

The direct and daemon ways also run with two stand-ins for the tool
that only print a status line: a shell script (what Nova's path itself
costs) and a Python program started as fpga-cli.py starts, through
``sh`` and ``python -S`` (the least any Python tool costs on that path).
"""

import argparse
import configparser
import os
import statistics
import subprocess
import sys
import tempfile
import time

from nova_fpga import fpga_cli


def _timed(call):
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _with_helper(client):
    client.use_root_helper = True
    return client


# Tools that keep the status contract and do nothing else, each run under
# the name fpga-cli.py that the rootwrap filters allow. Their region total
# tells their answer from the real tool's.
STAND_IN_STATUS = fpga_cli.RegionStatus(0, 64)
STAND_INS = (
    ('shell', "#!/bin/sh\necho 'Used regions: 0/64'\n"),
    # sh reads the first lines, Python a string: as in bin/fpga-cli.py.
    ('python -S', "#!/bin/sh\n''''exec %(python)s -S \"$0\" \"$@\"\n'''\n"
                  "print('Used regions: 0/64')\n"),
)


def _stand_in_ways(rootwrap_config, work_dir):
    """(name, call) of the direct and daemon ways for each stand-in."""
    config = configparser.ConfigParser(interpolation=None)
    if not config.read(rootwrap_config):
        raise SystemExit('cannot read --rootwrap-config %r' % rootwrap_config)
    # Without exec_dirs, rootwrap searches PATH.
    exec_dirs = (config['DEFAULT'].get('exec_dirs')
                 or os.environ['PATH'].replace(os.pathsep, ','))
    daemon = os.path.join(os.path.dirname(sys.executable),
                          'nova-rootwrap-daemon')
    ways = []
    for name, text in STAND_INS:
        tool_dir = os.path.join(work_dir, name.replace(' ', ''))
        os.mkdir(tool_dir)
        tool = os.path.join(tool_dir, 'fpga-cli.py')
        with open(tool, 'w') as f:
            f.write(text % {'python': sys.executable})
        os.chmod(tool, 0o755)
        config['DEFAULT']['exec_dirs'] = tool_dir + ',' + exec_dirs
        tool_config = os.path.join(tool_dir, 'rootwrap.conf')
        with open(tool_config, 'w') as f:
            config.write(f)
        through_daemon = _with_helper(fpga_cli.FpgaCli(
            'fpga-cli.py',
            root_helper_daemon='%s %s' % (daemon, tool_config)))
        ways.append(('direct, %s stand-in' % name,
                     _stand_in_call(fpga_cli.FpgaCli(tool).status, tool_dir)))
        ways.append(('rootwrap daemon, %s stand-in' % name,
                     _stand_in_call(through_daemon.status, tool_dir)))
    return ways


def _stand_in_call(status, directory):
    """status; its first run with directory first on PATH, and checked.

    The first run starts a daemon, whose timeout(1) then finds the
    stand-in on the PATH the daemon inherited.
    """
    started = []

    def run():
        if started:
            return status()
        path = os.environ['PATH']
        os.environ['PATH'] = directory + os.pathsep + path
        try:
            answer = status()
        finally:
            os.environ['PATH'] = path
            started.append(True)
        if answer != STAND_IN_STATUS:
            raise RuntimeError('the stand-in in %s did not answer (%r)'
                               % (directory, answer))
        return answer
    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rootwrap-config', required=True)
    parser.add_argument('--fpga-exec', default='fpga-cli.py')
    parser.add_argument('--runs', type=int, default=50)
    parser.add_argument(
        '--resident-mib', type=int, default=0,
        help='memory this process holds while it calls, as a Nova service '
             'does (nova-compute: 127 MiB once its code is imported)')
    args = parser.parse_args(argv)
    resident = [bytearray(b'\1') * (1 << 20)
                for _ in range(args.resident_mib)]
    bin_dir = os.path.dirname(sys.executable)
    # timeout(1) finds fpga_exec on PATH, as under sudo's secure_path.
    os.environ['PATH'] = bin_dir + os.pathsep + os.environ.get('PATH', '')

    def status(client):
        return lambda: client.status()

    ways = [
        ('direct', status(fpga_cli.FpgaCli(args.fpga_exec))),
        ('rootwrap', status(_with_helper(fpga_cli.FpgaCli(
            args.fpga_exec, root_helper='%s %s' % (
                os.path.join(bin_dir, 'nova-rootwrap'),
                args.rootwrap_config))))),
        ('rootwrap daemon', status(_with_helper(fpga_cli.FpgaCli(
            args.fpga_exec, root_helper_daemon='%s %s' % (
                os.path.join(bin_dir, 'nova-rootwrap-daemon'),
                args.rootwrap_config))))),
        ('python -c pass', lambda: subprocess.run(
            [sys.executable, '-c', 'pass'], check=True)),
        # What the reference fpga-cli.py starts: Python without site.
        ('python -S -c pass', lambda: subprocess.run(
            [sys.executable, '-S', '-c', 'pass'], check=True)),
    ]
    work_dir = tempfile.TemporaryDirectory(prefix='status-poll-')
    ways += _stand_in_ways(args.rootwrap_config, work_dir.name)
    usable = []
    for name, call in ways:
        # The first call pays for imports and the daemon's start.
        try:
            call()
        except Exception as e:
            print('%s: not measured, its first call failed: %s: %s'
                  % (name, type(e).__name__, str(e).strip()[-300:]))
            continue
        usable.append((name, call))
    ways = usable
    seconds = {name: [] for name, _call in ways}
    for _run in range(args.runs):
        for name, call in ways:
            seconds[name].append(_timed(call))
    print('fpga-cli status, %d calls each, interleaved, from a process '
          'holding %d MiB more:' % (args.runs, len(resident)))
    for name, values in seconds.items():
        values.sort()
        print('  %-35s median %6.1f ms   p90 %6.1f ms' % (
            name, statistics.median(values) * 1000,
            values[int(len(values) * 0.9) - 1] * 1000))
    fpga_cli.stop_rootwrap_daemons()
    work_dir.cleanup()
    return 0


if __name__ == '__main__':
    sys.exit(main())
