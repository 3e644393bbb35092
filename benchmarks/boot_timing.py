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

"""Time create->ACTIVE of servers, one after the other.

Run with the Python of the cloud's virtualenv (openstacksdk), with the
cloud's credentials in the environment (its openrc)::

    . /var/lib/fpga-nova-aio/openrc
    /opt/fpga-nova-aio/venv/bin/python benchmarks/boot_timing.py \
        --flavor fpga-lzo --flavor m1.small --image ubuntu_lzo --count 10

Each server is created, polled every 50 ms until ACTIVE, deleted, and
waited for until it is gone, so that the next one finds its resources
(an FPGA region) free again. With several flavors the boots alternate
between them (fpga, plain, fpga, ...), so that the machine's noise falls
on each alike. Prints {"seconds": {flavor: [...]}, "median": {flavor:
...}} as JSON, and with two flavors the ratio of the first's median to
the second's; exits 1 when a server does not become ACTIVE.
"""

import argparse
import json
import statistics
import sys

import openstack

import concurrent_boots

POLL_SECONDS = 0.05
TIMEOUT_SECONDS = 120


def time_boot(conn, name, flavor, image):
    """Seconds from create to ACTIVE; the server is deleted after."""
    server = concurrent_boots.boot_and_wait(
        conn, name, flavor, image, poll_seconds=POLL_SECONDS,
        timeout_seconds=TIMEOUT_SECONDS)
    try:
        if server['status'] != 'ACTIVE':
            raise SystemExit('server %s (%s) is %s after %.1f s: %s' % (
                name, server['id'], server['status'], server['seconds'],
                server['fault']))
        return server['seconds']
    finally:
        conn.compute.delete_server(server['id'])
        try:
            conn.compute.wait_for_delete(
                conn.compute.get_server(server['id']), interval=0.2,
                wait=TIMEOUT_SECONDS)
        except openstack.exceptions.NotFoundException:
            pass  # gone before the first look


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--flavor', required=True, action='append')
    parser.add_argument('--image', required=True)
    parser.add_argument('--count', type=int, default=5)
    args = parser.parse_args(argv)
    conn = openstack.connect()
    flavors = [conn.compute.find_flavor(name, ignore_missing=False)
               for name in args.flavor]
    image = conn.image.find_image(args.image, ignore_missing=False)
    seconds = {name: [] for name in args.flavor}
    for number in range(1, args.count + 1):
        for name, flavor in zip(args.flavor, flavors):
            seconds[name].append(time_boot(
                conn, 'timing-%s-%d' % (name, number), flavor, image))
    result = {'seconds': seconds,
              'median': {name: statistics.median(values)
                         for name, values in seconds.items()}}
    if len(args.flavor) == 2:
        first, second = (result['median'][name] for name in args.flavor)
        result['ratio'] = first / second
    json.dump(result, sys.stdout)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
