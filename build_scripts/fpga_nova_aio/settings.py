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

"""What the cloud is made of: versions, ports, paths, roles, passwords."""

import dataclasses
import json
import os
import secrets

# The project's checkout: build_scripts/fpga_nova_aio/settings.py.
REPO_DIR = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

DEFAULT_STATE_DIR = '/var/lib/fpga-nova-aio'
DEFAULT_VENV = '/opt/fpga-nova-aio/venv'
#: What the default log directory, /var/log/<name of the state
#: directory>, is for the default state directory.
DEFAULT_LOG_DIR = '/var/log/fpga-nova-aio'

NOVA_VERSION = '34.0.0'
#: The OpenStack constraints (2026.2, adjusted for nova 34.0.0) the
#: virtualenv is installed with.
CONSTRAINTS_FILE = os.path.join(REPO_DIR, 'constraints',
                                'upper-constraints-2026.2.txt')
#: Service releases of 2026.2 (the constraints file pins libraries and
#: clients, not services).
SERVICE_PACKAGES = (
    'nova==' + NOVA_VERSION,
    'keystone==30.0.0',
    'glance==33.0.0',
    'openstack-placement==16.0.0',
    'neutron==29.0.0',
)
OTHER_PACKAGES = (
    'python-openstackclient',
    'python-novaclient',
    'python-glanceclient',
    'osc-placement',
    'openstacksdk',
    'PyMySQL',
    'gunicorn',
    # The Docker compute driver's client library.
    'docker',
    # neutron 29.0.0 uses it but its wheel does not declare it.
    'pyroute2',
    # Without it the services log an ERROR on start (oslo.cache cannot
    # load its memcache_pool backend), though none uses memcached here.
    'python-memcached',
)
#: Debian packages: the servers, the Docker daemon, what the container
#: images are built from, and what pip and nova-fpga-patch need.
DEBIAN_PACKAGES = (
    'mariadb-server',
    'rabbitmq-server',
    'docker.io',
    'busybox-static',
    'python3-venv',
    'python3-dev',
    'build-essential',
    'patch',
    'git',
    'ca-certificates',
)

LOOPBACK = '127.0.0.1'
PORTS = {
    'mariadb': 3306,
    'epmd': 4369,
    'rabbitmq': 5672,
    'rabbitmq-dist': 25672,
    'keystone': 5000,
    'placement': 8778,
    'nova-api': 8774,
    'glance': 9292,
    'neutron': 9696,
}

REGION = 'RegionOne'
ADMIN_USER = 'admin'
ADMIN_PROJECT = 'admin'
SERVICE_PROJECT = 'service'
RABBIT_USER = 'openstack'
#: Keystone users of the services (all in the service project).
SERVICE_USERS = ('nova', 'glance', 'placement', 'neutron')
#: Databases and the MariaDB user that owns each.
DATABASES = {
    'keystone': 'keystone',
    'glance': 'glance',
    'placement': 'placement',
    'neutron': 'neutron',
    'nova_api': 'nova',
    'nova': 'nova',
    'nova_cell0': 'nova',
}
#: The name of the cloud in the clouds.yaml written for the user.
CLOUD_NAME = 'fpga-nova-aio'

ROLES = ('all', 'controller', 'compute')


@dataclasses.dataclass(frozen=True)
class Compute(object):
    """One nova-compute service: its host name and FPGA regions."""

    name: str
    fpga_regions: int

    @property
    def has_fpga(self):
        return self.fpga_regions > 0


#: The computes of role "all".
ALL_IN_ONE_COMPUTES = (Compute('compute1', 2), Compute('compute2', 0))


@dataclasses.dataclass(frozen=True)
class Settings(object):
    role: str
    state_dir: str
    venv: str
    log_dir: str
    compute_driver: str
    computes: tuple
    #: Where the controller's services listen (role all, controller).
    bind_address: str = LOOPBACK
    #: Where this machine reaches the controller's services.
    controller_address: str = LOOPBACK
    #: This machine's address, as other machines reach it (my_ip).
    my_address: str = LOOPBACK
    #: The controller's secrets.json (role compute).
    secrets_file: str = None
    debug: bool = False
    #: nova-scheduler processes (role all, controller).
    schedulers: int = 1

    @property
    def runs_controller(self):
        return self.role in ('all', 'controller')

    @property
    def runs_computes(self):
        return self.role in ('all', 'compute')

    def path(self, *parts):
        return os.path.join(self.state_dir, *parts)

    def venv_bin(self, name):
        return os.path.join(self.venv, 'bin', name)

    def log(self, name):
        return os.path.join(self.log_dir, name + '.log')

    def url(self, service, suffix=''):
        return 'http://%s:%d%s' % (self.controller_address, PORTS[service],
                                   suffix)

    @property
    def auth_url(self):
        return self.url('keystone', '/v3')

    @property
    def docker_dir(self):
        return self.path('docker')

    @property
    def docker_socket(self):
        return os.path.join(self.docker_dir, 'docker.sock')

    @property
    def docker_url(self):
        return 'unix://' + self.docker_socket

    def compute_etc(self, compute):
        return self.path('etc', compute.name)

    def fpga_state_dir(self, compute):
        return self.path('fpga', compute.name)


class Secrets(object):
    """The cloud's passwords, kept in <state>/secrets.json (mode 0600).

    Made once, on the first up; a compute-only machine copies the
    controller's file (--secrets).
    """

    def __init__(self, values):
        self.values = values

    def __getitem__(self, name):
        try:
            return self.values[name]
        except KeyError:
            raise KeyError('secrets.json has no password %r' % name)

    @classmethod
    def generate(cls):
        names = (['admin', 'rabbit']
                 + ['db-%s' % user for user in set(DATABASES.values())]
                 + ['user-%s' % user for user in SERVICE_USERS])
        return cls({name: secrets.token_hex(16) for name in sorted(names)})

    @classmethod
    def load(cls, path):
        with open(path) as stream:
            values = json.load(stream)
        if not isinstance(values, dict):
            raise ValueError('%s does not hold a JSON object' % path)
        return cls(values)

    def save(self, path):
        temporary = path + '.tmp'
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as stream:
            json.dump(self.values, stream, indent=2, sort_keys=True)
            stream.write('\n')
        os.replace(temporary, path)

    def db_url(self, settings, database):
        user = DATABASES[database]
        return 'mysql+pymysql://%s:%s@%s:%d/%s?charset=utf8' % (
            user, self['db-%s' % user], settings.controller_address,
            PORTS['mariadb'], database)

    def transport_url(self, settings):
        return 'rabbit://%s:%s@%s:%d/' % (
            RABBIT_USER, self['rabbit'], settings.controller_address,
            PORTS['rabbitmq'])
