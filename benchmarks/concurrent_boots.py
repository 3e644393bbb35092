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

"""Boot servers all at once, or one after the other; delete them.

Run with the Python of the cloud's virtualenv (openstacksdk), with the
cloud's admin credentials in the environment (its openrc)::

    concurrent_boots.py boot --flavor fpga-lzo --image ubuntu_lzo \\
        --count 32 --prefix race
    concurrent_boots.py boot ... --serial
    concurrent_boots.py delete --prefix race
    concurrent_boots.py usage compute1 compute3

``boot`` sends every create request at once (one thread each; with
``--serial`` one after the other, each waited for), waits until every
server is ACTIVE or ERROR, and prints a JSON object: ``servers`` (id,
name, status, host, fault message, seconds from its create request to
its final state) and ``wall_seconds``. ``delete`` deletes every server
whose name starts with the prefix and waits until they are gone.
``usage`` prints the ``CUSTOM_FPGA_REGION`` usage Placement has for each
named compute host's provider.
"""

import argparse
import concurrent.futures
import json
import sys
import time

import openstack
from openstack import connection

RESOURCE_CLASS = 'CUSTOM_FPGA_REGION'
POLL_SECONDS = 0.2
FAULT_WAIT_SECONDS = 10
TIMEOUT_SECONDS = 600


def boot_and_wait(conn, name, flavor, image, poll_seconds=POLL_SECONDS,
                  timeout_seconds=TIMEOUT_SECONDS):
    """Create a server and wait until it is ACTIVE or ERROR (or timed out).

    Returns {id, name, status, host, fault (message), seconds (from the
    create request to the status; for ERROR, to its fault)}.
    """
    started = time.monotonic()
    server = conn.compute.create_server(
        name=name, flavor_id=flavor.id, image_id=image.id, networks='none')
    error_seen = None
    while True:
        server = conn.compute.get_server(server.id)
        now = time.monotonic()
        if server.status == 'ACTIVE' or now - started > timeout_seconds:
            break
        if server.status == 'ERROR':
            # Nova records the fault just after the status.
            error_seen = error_seen or now
            if server.fault or now - error_seen > FAULT_WAIT_SECONDS:
                break
        time.sleep(poll_seconds)
    return {
        'id': server.id,
        'name': name,
        'status': server.status,
        'host': server.compute_host,
        'fault': (server.fault or {}).get('message'),
        'seconds': time.monotonic() - started,
    }


def boot(conn, args):
    flavor = conn.compute.find_flavor(args.flavor, ignore_missing=False)
    image = conn.image.find_image(args.image, ignore_missing=False)
    names = ['%s-%02d' % (args.prefix, number)
             for number in range(1, args.count + 1)]
    started = time.monotonic()
    if args.serial:
        servers = [boot_and_wait(conn, name, flavor, image)
                   for name in names]
    else:
        # A connection per thread over one authenticated session: the
        # requests go out at once, not one token request each first.
        def boot_one(name):
            return boot_and_wait(
                connection.Connection(session=conn.session), name, flavor,
                image)
        with concurrent.futures.ThreadPoolExecutor(
                max_workers=len(names)) as pool:
            servers = list(pool.map(boot_one, names))
    return {'servers': servers, 'wall_seconds': time.monotonic() - started}


def delete(conn, args):
    servers = [server for server in conn.compute.servers(all_projects=True)
               if server.name.startswith(args.prefix)]
    for server in servers:
        conn.compute.delete_server(server)
    for server in servers:
        conn.compute.wait_for_delete(server, interval=POLL_SECONDS,
                                     wait=TIMEOUT_SECONDS)
    return {'deleted': len(servers)}


def usage(conn, args):
    found = {}
    for host in args.hosts:
        (provider,) = conn.placement.resource_providers(name=host)
        response = conn.session.get(
            '/resource_providers/%s/usages' % provider.id,
            endpoint_filter={'service_type': 'placement'})
        found[host] = response.json()['usages'].get(RESOURCE_CLASS, 0)
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    commands = parser.add_subparsers(dest='command', required=True)
    boot_parser = commands.add_parser('boot')
    boot_parser.add_argument('--flavor', required=True)
    boot_parser.add_argument('--image', required=True)
    boot_parser.add_argument('--count', type=int, required=True)
    boot_parser.add_argument('--prefix', required=True)
    boot_parser.add_argument('--serial', action='store_true')
    delete_parser = commands.add_parser('delete')
    delete_parser.add_argument('--prefix', required=True)
    usage_parser = commands.add_parser('usage')
    usage_parser.add_argument('hosts', nargs='+')
    args = parser.parse_args(argv)
    command = {'boot': boot, 'delete': delete, 'usage': usage}[args.command]
    json.dump(command(openstack.connect(), args), sys.stdout)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
