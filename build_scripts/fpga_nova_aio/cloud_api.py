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

"""API work of ``up``, batched in one process of the cloud's virtualenv.

Run as ``<venv>/bin/python cloud_api.py COMMAND`` with a JSON request on
standard input (it holds passwords, which do not belong on a command
line). Uses openstacksdk: one process does in seconds what separate
``openstack`` commands would take a minute for.

register
    The service project, the service users (admin and service roles),
    and the catalog's services and endpoints. Idempotent.
wait-computes
    Waits until the named nova-compute services are up (and, for those
    given a start time, have reported since it), maps them to the
    cell (running the given discover command) and waits until Placement
    has their resource providers, with the FPGA regions of each as
    CUSTOM_FPGA_REGION inventory.
"""

import datetime
import json
import subprocess
import sys
import time

from keystoneauth1 import exceptions as ksa_exceptions
from keystoneauth1.identity import v3 as ksa_password
from keystoneauth1 import session as ksa_session
import openstack

FPGA_RESOURCE_CLASS = 'CUSTOM_FPGA_REGION'


def connect(auth):
    return openstack.connect(
        auth_url=auth['auth_url'], username=auth['username'],
        password=auth['password'], project_name=auth['project_name'],
        user_domain_name='Default', project_domain_name='Default',
        region_name=auth['region_name'], identity_api_version='3',
        load_envvars=False, load_yaml_config=False)


def _say(text):
    print(text, flush=True)


def _password_works(auth_url, user, password, project):
    session = ksa_session.Session(auth=ksa_password.Password(
        auth_url=auth_url, username=user, password=password,
        user_domain_name='Default', project_name=project,
        project_domain_name='Default'))
    try:
        session.get_token()
    except ksa_exceptions.Unauthorized:
        return False
    return True


def register(request):
    conn = connect(request['auth'])
    identity = conn.identity
    domain_id = 'default'
    project = identity.find_project(request['project'], domain_id=domain_id)
    if project is None:
        project = identity.create_project(
            name=request['project'], domain_id=domain_id,
            description='OpenStack services')
        _say('created project %s' % project.name)
    roles = {}
    for name in request['roles']:
        role = identity.find_role(name)
        if role is None:
            role = identity.create_role(name=name)
            _say('created role %s' % name)
        roles[name] = role
    for name, password in sorted(request['users'].items()):
        user = identity.find_user(name, domain_id=domain_id)
        if user is None:
            user = identity.create_user(
                name=name, password=password, domain_id=domain_id,
                default_project_id=project.id)
            _say('created user %s' % name)
        elif not _password_works(request['auth']['auth_url'], name,
                                 password, project.name):
            # Only when it differs: a password change revokes the user's
            # tokens, which running services hold.
            identity.update_user(user, password=password)
            _say('updated the password of user %s' % name)
        for role in roles.values():
            identity.assign_project_role_to_user(project, user, role)
    for service_spec in request['services']:
        service = identity.find_service(service_spec['name'])
        if service is None:
            service = identity.create_service(
                name=service_spec['name'], type=service_spec['type'],
                description=service_spec['description'], is_enabled=True)
            _say('created service %s (%s)' % (service.name, service.type))
        existing = {endpoint.interface: endpoint
                    for endpoint in identity.endpoints(service_id=service.id)
                    if endpoint.region_id == request['region']}
        for interface in ('public', 'internal', 'admin'):
            endpoint = existing.get(interface)
            if endpoint is None:
                identity.create_endpoint(
                    service_id=service.id, interface=interface,
                    url=service_spec['url'], region_id=request['region'],
                    is_enabled=True)
                _say('created %s endpoint %s' % (interface,
                                                 service_spec['url']))
            elif endpoint.url != service_spec['url']:
                identity.update_endpoint(endpoint, url=service_spec['url'])
                _say('updated %s endpoint %s' % (interface,
                                                 service_spec['url']))


def _wait(what, check, timeout, interval=1.0):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            result, last = check()
        except Exception as e:
            # The services may still be starting: try again until the
            # deadline, then say what the last failure was.
            result, last = False, '%s: %s' % (type(e).__name__, e)
        if result:
            return
        if time.monotonic() > deadline:
            raise SystemExit('timed out after %d s waiting for %s (%s)'
                             % (timeout, what, last))
        time.sleep(interval)


def wait_computes(request):
    conn = connect(request['auth'])
    hosts = request['hosts']
    timeout = request['timeout']

    started = request.get('started') or {}

    def reported_since_start(service):
        if service.host not in started:
            return True
        if not service.updated_at:
            return False
        updated = datetime.datetime.fromisoformat(service.updated_at)
        if updated.tzinfo is None:
            updated = updated.replace(tzinfo=datetime.timezone.utc)
        return updated.timestamp() >= started[service.host]

    def services_up():
        up = {service.host for service in conn.compute.services(
            binary='nova-compute')
            if service.state == 'up' and reported_since_start(service)}
        missing = sorted(set(hosts) - up)
        return not missing, 'not up yet: %s' % ', '.join(missing)

    _wait('the nova-compute services %s' % ', '.join(sorted(hosts)),
          services_up, timeout)
    _say('nova-compute services up: %s' % ', '.join(sorted(hosts)))

    def hypervisors():
        names = {hypervisor.name for hypervisor in conn.compute.hypervisors()}
        missing = sorted(set(hosts) - names)
        return not missing, 'not mapped to the cell yet: %s' % ', '.join(
            missing)

    if not hypervisors()[0]:
        if request.get('discover_command'):
            subprocess.run(request['discover_command'], check=True,
                           stdout=subprocess.DEVNULL)
        _wait('the hypervisors %s' % ', '.join(hosts), hypervisors, timeout)
    _say('hypervisors listed: %s' % ', '.join(sorted(hosts)))

    def inventories():
        for host, regions in sorted(hosts.items()):
            providers = conn.placement.get(
                '/resource_providers', params={'name': host},
                microversion='1.14').json()['resource_providers']
            if not providers:
                return False, 'no resource provider %s yet' % host
            inventory = conn.placement.get(
                '/resource_providers/%s/inventories' % providers[0]['uuid'],
                microversion='1.14').json()['inventories']
            if 'MEMORY_MB' not in inventory:
                return False, 'no inventory of %s yet' % host
            total = inventory.get(FPGA_RESOURCE_CLASS, {}).get('total', 0)
            if total != regions:
                return False, '%s has %d %s, not %d' % (
                    host, total, FPGA_RESOURCE_CLASS, regions)
        return True, None

    _wait('the Placement inventory of %s' % ', '.join(sorted(hosts)),
          inventories, timeout)
    _say('Placement inventory: %s' % ', '.join(
        '%s %d FPGA regions' % (host, regions)
        for host, regions in sorted(hosts.items())))


COMMANDS = {
    'register': register,
    'wait-computes': wait_computes,
}


def main(argv):
    if len(argv) != 2 or argv[1] not in COMMANDS:
        sys.stderr.write('usage: %s {%s} < request.json\n'
                         % (argv[0], '|'.join(sorted(COMMANDS))))
        return 2
    COMMANDS[argv[1]](json.load(sys.stdin))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
