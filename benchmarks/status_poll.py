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

* direct: ``nova_fpga.fpga_cli.FpgaCli`` with no root helper (Nova runs
  as root);
* rootwrap: ``nova-rootwrap <config> fpga-cli.py status``, what
  ``FpgaCli`` runs with ``[fpga] root_helper`` set when Nova does not
  run as root (a new rootwrap process per call; as root, oslo.concurrency
  skips the root helper and the call is the direct one);
* rootwrap daemon: the same filters through one long-running
  ``nova-rootwrap-daemon`` (oslo.rootwrap's client), which ``nova_fpga``
  does not use yet.

The calls alternate between the three, so that the machine's noise
falls on each alike. Prints the median and 90th percentile per call.
"""

import argparse
import os
import statistics
import sys
import time

from oslo_concurrency import processutils
from oslo_rootwrap import client as rootwrap_client

from nova_fpga import fpga_cli


def _timed(call):
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rootwrap-config', required=True)
    parser.add_argument('--fpga-exec', default='fpga-cli.py')
    parser.add_argument('--runs', type=int, default=50)
    args = parser.parse_args(argv)
    bin_dir = os.path.dirname(sys.executable)
    rootwrap = os.path.join(bin_dir, 'nova-rootwrap')
    daemon_command = [os.path.join(bin_dir, 'nova-rootwrap-daemon'),
                      args.rootwrap_config]

    direct = fpga_cli.FpgaCli(args.fpga_exec)
    daemon = rootwrap_client.Client(daemon_command)

    def through_rootwrap():
        out, _err = processutils.execute(
            rootwrap, args.rootwrap_config, args.fpga_exec, 'status')
        fpga_cli.parse_status(out)

    def through_daemon():
        code, out, err = daemon.execute([args.fpga_exec, 'status'])
        if code != 0 or not out.startswith('Used regions: '):
            raise SystemExit('rootwrap daemon: exit %d: %s%s'
                             % (code, out, err))

    ways = [('direct', lambda: direct.status()),
            ('rootwrap', through_rootwrap),
            ('rootwrap daemon', through_daemon)]
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
        print('  %-16s median %6.1f ms   p90 %6.1f ms' % (
            name, statistics.median(values) * 1000,
            values[int(len(values) * 0.9) - 1] * 1000))
    return 0


if __name__ == '__main__':
    sys.exit(main())
