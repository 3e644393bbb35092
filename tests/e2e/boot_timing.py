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

    boot_timing.py --flavor fpga-lzo --image ubuntu_lzo --count 5

Each server is created, polled every 50 ms until ACTIVE, deleted, and
waited for until it is gone, so that the next one finds its resources
(an FPGA region) free again. Prints {"flavor": ..., "seconds": [...]} as
JSON; exits 1 when a server does not become ACTIVE.
"""

import argparse
import json
import sys
import time

import openstack

POLL_SECONDS = 0.05
TIMEOUT_SECONDS = 120


def time_boot(conn, name, flavor, image):
    started = time.monotonic()
    server = conn.compute.create_server(
        name=name, flavor_id=flavor.id, image_id=image.id, networks='none')
    try:
        while True:
            server = conn.compute.get_server(server.id)
            if server.status == 'ACTIVE':
                return time.monotonic() - started
            if server.status == 'ERROR':
                raise SystemExit('server %s (%s) went to ERROR: %s'
                                 % (name, server.id, server.fault))
            if time.monotonic() - started > TIMEOUT_SECONDS:
                raise SystemExit('server %s (%s) not ACTIVE after %d s'
                                 % (name, server.id, TIMEOUT_SECONDS))
            time.sleep(POLL_SECONDS)
    finally:
        conn.compute.delete_server(server)
        conn.compute.wait_for_delete(server, interval=0.2,
                                     wait=TIMEOUT_SECONDS)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--flavor', required=True)
    parser.add_argument('--image', required=True)
    parser.add_argument('--count', type=int, default=5)
    args = parser.parse_args(argv)
    conn = openstack.connect()
    flavor = conn.compute.find_flavor(args.flavor, ignore_missing=False)
    image = conn.image.find_image(args.image, ignore_missing=False)
    seconds = [time_boot(conn, 'timing-%s-%d' % (args.flavor, number),
                         flavor, image)
               for number in range(1, args.count + 1)]
    json.dump({'flavor': args.flavor, 'seconds': seconds}, sys.stdout)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
