#!/usr/bin/env python3
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

"""Race region claims against Placement alone, the way Nova's schedulers
claim them.

Run with the Python of the cloud's virtualenv (openstacksdk), with admin
credentials in the environment (its openrc)::

    . /var/lib/fpga-nova-aio/openrc
    /opt/fpga-nova-aio/venv/bin/python tools/placement_claim_race.py

Creates two resource providers of its own (in an aggregate of their own,
so that no real compute node is claimed) with 2 ``CUSTOM_FPGA_REGION``
each, then, per round, lets ``--claims`` consumers claim at once: each
asks for allocation candidates and PUTs its allocations like Nova's
scheduler (microversion 1.36; a generation conflict is retried, a full
provider makes it try the next candidate). After each round it reads the
providers' usages and frees the claims. Prints JSON: per round the
claims that succeeded and each provider's region usage, and
``over_allocated_rounds``, the rounds where a provider's usage exceeded
its regions. The providers are deleted at the end, also on failure.
"""

import argparse
import json
import sys
import threading
import uuid

import openstack
import requests

RESOURCE_CLASS = 'CUSTOM_FPGA_REGION'
REGIONS = 2
MICROVERSION = '1.36'
#: Nova's report client tries a claim that lost a generation race 4 times.
CONFLICT_TRIES = 4
REQUEST_TIMEOUT = 120


class Placement(object):
    """Placement's API with one token, a requests session per thread."""

    def __init__(self, endpoint, token):
        self.endpoint = endpoint.rstrip('/')
        self.token = token
        self._local = threading.local()

    def call(self, method, path, body=None, microversion=MICROVERSION):
        session = getattr(self._local, 'session', None)
        if session is None:
            session = self._local.session = requests.Session()
        return session.request(
            method, self.endpoint + path, json=body, timeout=REQUEST_TIMEOUT,
            headers={'X-Auth-Token': self.token,
                     'Accept': 'application/json',
                     'OpenStack-API-Version': 'placement ' + microversion})

    def checked(self, method, path, body=None, microversion=MICROVERSION):
        response = self.call(method, path, body, microversion)
        if response.status_code >= 400:
            raise SystemExit('%s %s: %d %s' % (method, path,
                                               response.status_code,
                                               response.text[:500]))
        return response


def _inventories():
    def inventory(total, ratio=1.0):
        return {'total': total, 'reserved': 0, 'min_unit': 1,
                'max_unit': total, 'step_size': 1,
                'allocation_ratio': ratio}
    return {'VCPU': inventory(8, 16.0), 'MEMORY_MB': inventory(16384),
            'DISK_GB': inventory(100), RESOURCE_CLASS: inventory(REGIONS)}


def create_providers(placement, aggregate, count=2):
    placement.checked('PUT', '/resource_classes/' + RESOURCE_CLASS)
    providers = []
    for number in range(count):
        provider = placement.checked('POST', '/resource_providers', {
            'name': 'claim-race-%s-%d' % (aggregate[:8], number)}).json()
        providers.append(provider['uuid'])
        aggregates = placement.checked(
            'PUT', '/resource_providers/%s/aggregates' % provider['uuid'],
            {'aggregates': [aggregate],
             'resource_provider_generation': provider['generation']})
        generation = aggregates.json()['resource_provider_generation']
        placement.checked(
            'PUT', '/resource_providers/%s/inventories' % provider['uuid'],
            {'inventories': _inventories(),
             'resource_provider_generation': generation})
    return providers


def claim(placement, aggregate, consumer, project_id, user_id):
    """Claim one region as Nova's scheduler does; True if claimed."""
    candidates = placement.checked(
        'GET', '/allocation_candidates?resources=VCPU:1,MEMORY_MB:512,'
        'DISK_GB:1,%s:1&member_of=%s&limit=1000'
        % (RESOURCE_CLASS, aggregate)).json()
    for request in candidates['allocation_requests']:
        body = dict(request, consumer_generation=None,
                    project_id=project_id, user_id=user_id)
        for _try in range(CONFLICT_TRIES):
            response = placement.call('PUT', '/allocations/' + consumer,
                                      body)
            if response.status_code == 204:
                return True
            code = None
            if response.status_code == 409:
                code = (response.json().get('errors') or [{}])[0].get('code')
            if code != 'placement.concurrent_update':
                break  # full, or refused otherwise: the next candidate
    return False


def race(placement, aggregate, claims, project_id, user_id):
    consumers = [str(uuid.uuid4()) for _ in range(claims)]
    results = {}
    start = threading.Barrier(claims)

    def run(consumer):
        start.wait()
        results[consumer] = claim(placement, aggregate, consumer,
                                  project_id, user_id)

    threads = [threading.Thread(target=run, args=(consumer,))
               for consumer in consumers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return consumers, sum(results.values())


def region_usage(placement, provider):
    return placement.checked(
        'GET', '/resource_providers/%s/usages' % provider).json()[
            'usages'].get(RESOURCE_CLASS, 0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rounds', type=int, default=20)
    parser.add_argument('--claims', type=int, default=32)
    args = parser.parse_args(argv)
    conn = openstack.connect()
    placement = Placement(
        conn.session.get_endpoint(service_type='placement',
                                  interface='public'),
        conn.session.get_token())
    project_id = conn.session.get_project_id()
    user_id = conn.session.get_user_id()
    aggregate = str(uuid.uuid4())
    providers = []
    rounds = []
    try:
        providers = create_providers(placement, aggregate)
        for number in range(1, args.rounds + 1):
            consumers, claimed = race(placement, aggregate, args.claims,
                                      project_id, user_id)
            usage = {provider: region_usage(placement, provider)
                     for provider in providers}
            rounds.append({'claimed': claimed, 'region_usage': usage})
            print('round %d: %d of %d claims succeeded, region usage %s'
                  % (number, claimed, args.claims,
                     sorted(usage.values())), file=sys.stderr, flush=True)
            for consumer in consumers:
                placement.call('DELETE', '/allocations/' + consumer)
    finally:
        for provider in providers:
            placement.call('DELETE', '/resource_providers/' + provider)
    print(json.dumps({
        'regions_per_provider': REGIONS,
        'rounds': rounds,
        'over_allocated_rounds': sum(
            1 for result in rounds
            if max(result['region_usage'].values()) > REGIONS),
    }, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
