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
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

from nova_fpga import fpga_cli


def _timed(call):
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _with_helper(client):
    client.use_root_helper = True
    return client


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rootwrap-config', required=True)
    parser.add_argument('--fpga-exec', default='fpga-cli.py')
    parser.add_argument('--runs', type=int, default=50)
    args = parser.parse_args(argv)
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
    print('fpga-cli status, %d calls each, interleaved:' % args.runs)
    for name, values in seconds.items():
        values.sort()
        print('  %-17s median %6.1f ms   p90 %6.1f ms' % (
            name, statistics.median(values) * 1000,
            values[int(len(values) * 0.9) - 1] * 1000))
    fpga_cli.stop_rootwrap_daemons()
    return 0


if __name__ == '__main__':
    sys.exit(main())
