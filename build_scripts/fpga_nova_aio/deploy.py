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

"""The steps of up.

``up`` converges: every step first looks whether its work is already
done (a service running with the same configuration and code, a database
already synced for this Nova and this patch) and skips it then, so a
re-run after a failure or a change picks up where things differ.
"""

import filecmp
import hashlib
import json
import os
import re
import shutil

from fpga_nova_aio import configs
from fpga_nova_aio import packages
from fpga_nova_aio import processes
from fpga_nova_aio import readiness
from fpga_nova_aio import settings as aio_settings
from fpga_nova_aio import steps

PORTS = aio_settings.PORTS
HERE = os.path.dirname(os.path.abspath(__file__))

COMPUTE_PREFIX = 'nova-compute-'
SCHEDULER_NAME_RE = re.compile(r'nova-scheduler(-[0-9]+)?\Z')
#: Seconds the compute services get to register and report resources.
COMPUTE_TIMEOUT = 180


# The services

class Cloud(object):
    """The services of one machine, for a role."""

    def __init__(self, settings, secrets=None):
        self.settings = settings
        self.secrets = secrets

    # Paths

    def etc(self, *parts):
        return self.settings.path('etc', *parts)

    @property
    def mariadb_socket(self):
        return self.settings.path('mysql', 'mysqld.sock')

    @property
    def fpga_compute(self):
        for compute in self.settings.computes:
            if compute.has_fpga:
                return compute
        return None

    # Service definitions

    def mariadb(self):
        s = self.settings
        return processes.Service(
            s, 'mariadb',
            ['/usr/sbin/mariadbd', '--no-defaults', '--user=root',
             '--datadir=' + s.path('mysql', 'data'),
             '--socket=' + self.mariadb_socket,
             '--pid-file=' + s.path('mysql', 'mariadbd.pid'),
             '--bind-address=' + s.bind_address,
             '--port=%d' % PORTS['mariadb'],
             '--max-connections=1000', '--skip-name-resolve',
             '--performance-schema=OFF',
             '--character-set-server=utf8mb4',
             '--collation-server=utf8mb4_general_ci'],
            ready=readiness.mariadb_ready(self.mariadb_socket),
            address='%s:%d' % (s.bind_address, PORTS['mariadb']))

    def epmd(self):
        s = self.settings
        return processes.Service(
            s, 'epmd',
            ['/usr/bin/epmd', '-address', s.bind_address,
             '-port', str(PORTS['epmd'])],
            ready=lambda: readiness.port_open(s.bind_address, PORTS['epmd']),
            address='%s:%d' % (s.bind_address, PORTS['epmd']))

    def rabbitmq(self):
        s = self.settings
        base = s.path('rabbitmq')
        return processes.Service(
            s, 'rabbitmq', ['/usr/lib/rabbitmq/bin/rabbitmq-server'],
            env={
                'HOME': base,
                'RABBITMQ_NODENAME': 'rabbit@localhost',
                'RABBITMQ_CONF_ENV_FILE': os.path.join(base, 'rabbitmq-env'),
                'RABBITMQ_CONFIG_FILE': os.path.join(base, 'rabbitmq.conf'),
                'RABBITMQ_ADVANCED_CONFIG_FILE': os.path.join(
                    base, 'advanced.config'),
                'RABBITMQ_ENABLED_PLUGINS_FILE': os.path.join(
                    base, 'enabled_plugins'),
                'RABBITMQ_MNESIA_BASE': os.path.join(base, 'mnesia'),
                'RABBITMQ_LOG_BASE': os.path.join(base, 'log'),
                'RABBITMQ_LOGS': '-',
                'RABBITMQ_PID_FILE': os.path.join(base, 'rabbitmq.pid'),
                'RABBITMQ_DIST_PORT': str(PORTS['rabbitmq-dist']),
                'RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS':
                    '-kernel inet_dist_use_interface {%s}'
                    % s.bind_address.replace('.', ','),
                'ERL_EPMD_ADDRESS': s.bind_address,
                'ERL_EPMD_PORT': str(PORTS['epmd']),
            },
            config_files=[os.path.join(base, 'rabbitmq.conf')],
            ready=readiness.amqp_ready(s.bind_address, PORTS['rabbitmq']),
            address='%s:%d' % (s.bind_address, PORTS['rabbitmq']))

    def wsgi(self, name, module, config_env, config_files):
        s = self.settings
        directory = self.etc(name)
        return processes.Service(
            s, name, [s.venv_bin('gunicorn')], env=config_env,
            cwd=directory,
            config_files=[os.path.join(directory, 'gunicorn.conf.py')]
            + list(config_files) + packages.code_markers(s),
            ready=readiness.http_ready(s.url(name)),
            address=s.url(name))

    def keystone(self):
        return self.wsgi('keystone', 'keystone.wsgi.api:application',
                         {'OS_KEYSTONE_CONFIG_DIR': self.etc('keystone')},
                         [self.etc('keystone', 'keystone.conf')])

    def placement(self):
        return self.wsgi('placement', 'placement.wsgi.api:application',
                         {'OS_PLACEMENT_CONFIG_DIR': self.etc('placement')},
                         [self.etc('placement', 'placement.conf')])

    def glance(self):
        return self.wsgi('glance', 'glance.wsgi.api:application',
                         {'OS_GLANCE_CONFIG_DIR': self.etc('glance')},
                         [self.etc('glance', 'glance-api.conf')])

    def neutron(self):
        return self.wsgi('neutron', 'neutron.wsgi.api:application',
                         {'OS_NEUTRON_CONFIG_DIR': self.etc('neutron')},
                         [self.etc('neutron', 'neutron.conf'),
                          self.etc('neutron', 'plugins', 'ml2',
                                   'ml2_conf.ini')])

    def nova_api(self):
        return self.wsgi('nova-api', 'nova.wsgi.osapi_compute:application',
                         {'OS_NOVA_CONFIG_DIR': self.etc('nova')},
                         [self.etc('nova', 'nova.conf')])

    def nova_service(self, binary, name=None):
        s = self.settings
        conf = self.etc('nova', 'nova.conf')
        return processes.Service(
            s, name or binary, [s.venv_bin(binary), '--config-file', conf],
            config_files=[conf] + packages.code_markers(s))

    def schedulers(self):
        """nova-scheduler, nova-scheduler-2, ...: one process each.

        Separate services, as schedulers on separate controllers are,
        rather than the workers one nova-scheduler forks.
        """
        return [self.nova_service('nova-scheduler', 'nova-scheduler' + (
            '-%d' % number if number > 1 else ''))
            for number in range(1, self.settings.schedulers + 1)]

    def start_schedulers(self):
        wanted = self.schedulers()
        names = {service.name for service in wanted}
        stopped = []
        for name, record in processes.all_records(self.settings).items():
            if SCHEDULER_NAME_RE.match(name) and name not in names:
                processes.stop_record(
                    processes.record_path(self.settings, name), record)
                stopped.append(name)
        results = [service.ensure_running() for service in wanted]
        text = ', '.join('%s pid %d' % (service.name, service.pid())
                         for service in wanted)
        if stopped:
            text += '; stopped %s' % ', '.join(sorted(stopped))
        if stopped or any(not result.skipped for result in results):
            return steps.done(text)
        return steps.already(text)

    def dockerd(self):
        s = self.settings
        base = s.docker_dir
        return processes.Service(
            s, 'dockerd',
            ['/usr/sbin/dockerd',
             '--config-file', os.path.join(base, 'daemon.json'),
             '--data-root', os.path.join(base, 'data'),
             '--exec-root', os.path.join(base, 'exec'),
             '--host', s.docker_url,
             '--pidfile', os.path.join(base, 'docker.pid'),
             # Works without systemd, overlay support or a network of
             # its own: containers run with --network none.
             '--storage-driver', 'vfs',
             '--iptables=false', '--ip6tables=false', '--bridge=none'],
            ready=readiness.docker_ready(s.docker_socket),
            address=s.docker_url)

    def nova_compute(self, compute):
        s = self.settings
        etc = s.compute_etc(compute)
        conf = os.path.join(etc, 'nova.conf')
        env = {}
        config_files = [conf, os.path.join(etc, 'rootwrap.conf')] + (
            packages.code_markers(s))
        if compute.has_fpga:
            # fpga-cli.py, which nova-compute runs, reads its simulated
            # FPGA and its Glance credentials from the environment.
            env = {
                'FPGA_CLI_STATE_DIR': s.fpga_state_dir(compute),
                'FPGA_CLI_REGIONS': str(compute.fpga_regions),
                'OS_CLIENT_CONFIG_FILE': os.path.join(etc, 'clouds.yaml'),
            }
            if compute != self.fpga_compute:
                # The simulated FPGAs share /dev: their region devices
                # must not have the same names.
                env['FPGA_CLI_DEV_NAME'] = 'fpga-%s-' % compute.name
            config_files.append(os.path.join(etc, 'clouds.yaml'))
        return processes.Service(
            s, COMPUTE_PREFIX + compute.name,
            [s.venv_bin('nova-compute'), '--config-file', conf],
            env=env, config_files=config_files)

    # Steps of up

    def up_steps(self):
        s = self.settings
        up = [
            steps.Step('Debian packages',
                       lambda: packages.install_debian_packages(s)),
            steps.Step('Python virtualenv',
                       lambda: packages.create_virtualenv(s)),
            steps.Step('OpenStack services and clients (pip)',
                       lambda: packages.install_openstack(s)),
            steps.Step('nova_fpga and fpga_hooks (pip)',
                       lambda: packages.install_project(s)),
            steps.Step('Nova patch (nova-fpga-patch apply)',
                       lambda: packages.patch_nova(s)),
            steps.Step('Passwords and configuration files',
                       self.write_configuration),
        ]
        if s.runs_controller:
            up += [
                steps.Step('MariaDB', self.start_mariadb),
                steps.Step('Databases and their users', self.create_databases),
                steps.Step('RabbitMQ', self.start_rabbitmq),
                steps.Step('Keystone database and keys', self.setup_keystone),
                steps.Step('Keystone API', self.start(self.keystone)),
                steps.Step('Service users, services and endpoints',
                           self.register_services),
                steps.Step('Placement database', self.sync(
                    'placement', [s.venv_bin('placement-manage'),
                                  '--config-file',
                                  self.etc('placement', 'placement.conf'),
                                  'db', 'sync'])),
                steps.Step('Placement API', self.start(self.placement)),
                steps.Step('Glance database', self.sync(
                    'glance', [s.venv_bin('glance-manage'), '--config-file',
                               self.etc('glance', 'glance-api.conf'),
                               'db_sync'])),
                steps.Step('Glance API', self.start(self.glance)),
                steps.Step('Neutron database', self.sync(
                    'neutron', [s.venv_bin('neutron-db-manage'),
                                '--config-file',
                                self.etc('neutron', 'neutron.conf'),
                                '--config-file',
                                self.etc('neutron', 'plugins', 'ml2',
                                         'ml2_conf.ini'),
                                'upgrade', 'heads'])),
                steps.Step('Neutron API', self.start(self.neutron)),
                steps.Step('Nova databases and cells', self.setup_nova_db),
                steps.Step('Nova API', self.start(self.nova_api)),
                steps.Step('nova-conductor', self.start(
                    lambda: self.nova_service('nova-conductor'))),
                steps.Step('nova-scheduler', self.start_schedulers),
            ]
        if s.runs_computes:
            up.append(steps.Step('Docker daemon', self.start_dockerd))
            for compute in s.computes:
                up.append(steps.Step(
                    'nova-compute %s (%s)' % (
                        compute.name,
                        '%d-region simulated FPGA' % compute.fpga_regions
                        if compute.has_fpga else 'no FPGA'),
                    self.start(lambda c=compute: self.nova_compute(c))))
            up.append(steps.Step('Compute hosts in the cell and in '
                                 'Placement', self.wait_for_computes))
        up.append(steps.Step('openrc and clouds.yaml', self.write_openrc))
        return up

    def start(self, make_service):
        def start_service():
            service = make_service()
            if service.pid() is None and service.name in PORTS:
                readiness.check_port_free(service.name)
            return service.ensure_running()
        return start_service

    # Configuration

    def load_or_make_secrets(self):
        s = self.settings
        path = s.path('secrets.json')
        os.makedirs(s.state_dir, exist_ok=True)
        os.chmod(s.state_dir, 0o700)
        if s.secrets_file:
            try:
                secrets = aio_settings.Secrets.load(s.secrets_file)
            except (OSError, ValueError) as e:
                raise steps.StepFailed('--secrets %s cannot be read: %s'
                                       % (s.secrets_file, e))
            secrets.save(path)
        elif os.path.exists(path):
            secrets = aio_settings.Secrets.load(path)
        else:
            secrets = aio_settings.Secrets.generate()
            secrets.save(path)
        self.secrets = secrets
        return secrets

    def write_configuration(self):
        s = self.settings
        secrets = self.load_or_make_secrets()
        files = {}
        if s.runs_controller:
            files.update(self._controller_files(secrets))
        if s.runs_computes:
            files.update(self._compute_files(secrets))
        changed = [path for path, text in sorted(files.items())
                   if configs.write(path, text)]
        for compute in s.computes if s.runs_computes else ():
            self._install_rootwrap(compute)
        for directory in self._state_directories():
            os.makedirs(directory, exist_ok=True)
        if not changed:
            return steps.already('%d files in %s' % (len(files),
                                                     self.etc()))
        return steps.done('%d of %d files written in %s' % (
            len(changed), len(files), self.etc()))

    def _venv_etc(self, *parts):
        return os.path.join(self.settings.venv, 'etc', *parts)

    def _copy_text(self, source):
        with open(source) as stream:
            return stream.read()

    def _controller_files(self, secrets):
        s = self.settings
        files = {
            self.etc('keystone', 'keystone.conf'):
                configs.keystone_conf(s, secrets),
            self.etc('placement', 'placement.conf'):
                configs.placement_conf(s, secrets),
            self.etc('glance', 'glance-api.conf'):
                configs.glance_api_conf(s, secrets),
            self.etc('glance', 'glance-api-paste.ini'):
                self._copy_text(self._venv_etc('glance',
                                               'glance-api-paste.ini')),
            self.etc('neutron', 'neutron.conf'):
                configs.neutron_conf(s, secrets),
            self.etc('neutron', 'plugins', 'ml2', 'ml2_conf.ini'):
                configs.ml2_conf(s),
            self.etc('neutron', 'api-paste.ini'):
                self._copy_text(self._venv_etc('neutron', 'api-paste.ini')),
            self.etc('nova', 'nova.conf'):
                configs.nova_controller_conf(s, secrets),
            self.etc('nova', 'api-paste.ini'):
                self._copy_text(self._venv_etc('nova', 'api-paste.ini')),
            s.path('rabbitmq', 'rabbitmq.conf'):
                configs.rabbitmq_conf(s, secrets),
            s.path('rabbitmq', 'rabbitmq-env'): '',
            s.path('rabbitmq', 'enabled_plugins'): '[].\n',
        }
        for name, module in (
                ('keystone', 'keystone.wsgi.api:application'),
                ('placement', 'placement.wsgi.api:application'),
                ('glance', 'glance.wsgi.api:application'),
                ('neutron', 'neutron.wsgi.api:application'),
                ('nova-api', 'nova.wsgi.osapi_compute:application')):
            files[self.etc(name, 'gunicorn.conf.py')] = (
                configs.gunicorn_conf(s, name, module))
        return files

    def _compute_files(self, secrets):
        s = self.settings
        files = {os.path.join(s.docker_dir, 'daemon.json'): '{}\n'}
        for compute in s.computes:
            etc = s.compute_etc(compute)
            files[os.path.join(etc, 'nova.conf')] = configs.nova_compute_conf(
                s, secrets, compute)
            files[os.path.join(etc, 'rootwrap.conf')] = (
                configs.rootwrap_conf(s, os.path.join(etc, 'rootwrap.d')))
            files[os.path.join(etc, 'rootwrap.d', 'compute.filters')] = (
                self._copy_text(self._venv_etc('nova', 'rootwrap.d',
                                               'compute.filters')))
            if compute.has_fpga:
                files[os.path.join(etc, 'clouds.yaml')] = (
                    configs.compute_clouds_yaml(s, secrets))
        return files

    def _install_rootwrap(self, compute):
        """fpga.filters in the compute's rootwrap filter directory.

        Installed by nova-fpga-patch, as the README tells operators.
        """
        filters_dir = os.path.join(self.settings.compute_etc(compute),
                                   'rootwrap.d')
        installed = os.path.join(filters_dir, 'fpga.filters')
        shipped = os.path.join(aio_settings.REPO_DIR, 'etc', 'nova',
                               'rootwrap.d', 'fpga.filters')
        # Again after an upgrade changed the shipped file.
        if not (os.path.exists(installed)
                and filecmp.cmp(installed, shipped, shallow=False)):
            packages.install_rootwrap_filters(self.settings, filters_dir)

    def _state_directories(self):
        s = self.settings
        directories = [s.path('run'), s.path('tmp'), s.path('done')]
        if s.runs_controller:
            directories += [s.path('nova', 'controller'),
                            s.path('neutron', 'lock'),
                            s.path('glance', 'lock')]
        if s.runs_computes:
            for compute in s.computes:
                directories.append(s.path('nova', compute.name))
                if compute.has_fpga:
                    directories.append(s.fpga_state_dir(compute))
        return directories

    # Markers of one-time work (database syncs)

    def _marker(self, name):
        return self.settings.path('done', name)

    def _is_done(self, name, key):
        try:
            with open(self._marker(name)) as stream:
                return stream.read().strip() == key
        except OSError:
            return False

    def _mark_done(self, name, key):
        path = self._marker(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as stream:
            stream.write(key + '\n')

    def _version_key(self, *extra):
        digest = hashlib.sha256()
        for package in aio_settings.SERVICE_PACKAGES + tuple(extra):
            digest.update(package.encode())
        patch = os.path.join(aio_settings.REPO_DIR, 'patches', 'nova-%s.patch'
                             % aio_settings.NOVA_VERSION)
        if os.path.exists(patch):
            with open(patch, 'rb') as stream:
                digest.update(stream.read())
        return digest.hexdigest()

    def sync(self, name, argv):
        def run_sync():
            key = self._version_key(name)
            if self._is_done(name + '-db', key):
                return steps.already('%s database at the installed release'
                                     % name)
            steps.run(argv, self.settings.log(name + '-manage'))
            self._mark_done(name + '-db', key)
            return steps.done('%s database synced' % name)
        return run_sync

    # MariaDB

    def start_mariadb(self):
        s = self.settings
        service = self.mariadb()
        if service.pid() is None:
            readiness.check_port_free('mariadb')
        data = s.path('mysql', 'data')
        installed = ''
        if not os.path.isdir(os.path.join(data, 'mysql')):
            shutil.rmtree(data, ignore_errors=True)
            os.makedirs(data)
            try:
                steps.run(['/usr/bin/mariadb-install-db', '--no-defaults',
                           '--user=root', '--datadir=' + data,
                           '--auth-root-authentication-method=socket',
                           '--skip-test-db'], s.log('mariadb'))
            except steps.StepFailed:
                shutil.rmtree(data, ignore_errors=True)
                raise
            installed = 'data directory made, '
        outcome = service.ensure_running()
        if installed:
            return steps.done(installed + outcome.text)
        return outcome

    def create_databases(self):
        lines = []
        users = sorted(set(aio_settings.DATABASES.values()))
        for user in users:
            password = self.secrets['db-%s' % user]
            lines += [
                "CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s';"
                % (user, password),
                "ALTER USER '%s'@'%%' IDENTIFIED BY '%s';" % (user, password),
            ]
        for database, user in sorted(aio_settings.DATABASES.items()):
            lines += [
                'CREATE DATABASE IF NOT EXISTS %s CHARACTER SET utf8mb4;'
                % database,
                "GRANT ALL PRIVILEGES ON %s.* TO '%s'@'%%';"
                % (database, user),
            ]
        steps.run(['/usr/bin/mariadb', '--no-defaults',
                   '--socket=' + self.mariadb_socket, '--user=root'],
                  self.settings.log('mariadb'),
                  stdin_text='\n'.join(lines) + '\n',
                  describe='mariadb (creating the databases)')
        return steps.done('%d databases, %d users' % (
            len(aio_settings.DATABASES), len(users)))

    # RabbitMQ

    def start_rabbitmq(self):
        epmd, rabbitmq = self.epmd(), self.rabbitmq()
        for service in (epmd, rabbitmq):
            if service.pid() is None:
                readiness.check_port_free(service.name)
        epmd.ensure_running()
        return rabbitmq.ensure_running()

    # Keystone

    def setup_keystone(self):
        s = self.settings
        manage = [s.venv_bin('keystone-manage'), '--config-file',
                  self.etc('keystone', 'keystone.conf')]
        log = s.log('keystone-manage')
        done = []
        key = self._version_key('keystone')
        if not self._is_done('keystone-db', key):
            steps.run(manage + ['db_sync'], log)
            self._mark_done('keystone-db', key)
            done.append('database synced')
        for repository, command in (('fernet', 'fernet_setup'),
                                    ('credential', 'credential_setup')):
            directory = s.path('keystone', repository)
            if not os.path.isdir(directory) or not os.listdir(directory):
                os.makedirs(directory, mode=0o700, exist_ok=True)
                steps.run(manage + [command, '--keystone-user', 'root',
                                    '--keystone-group', 'root'], log)
                done.append('%s keys made' % repository)
        bootstrap = [
            '--bootstrap-password', self.secrets['admin'],
            '--bootstrap-username', aio_settings.ADMIN_USER,
            '--bootstrap-project-name', aio_settings.ADMIN_PROJECT,
            '--bootstrap-admin-url', s.auth_url,
            '--bootstrap-internal-url', s.auth_url,
            '--bootstrap-public-url', s.auth_url,
            '--bootstrap-region-id', aio_settings.REGION]
        bootstrap_key = hashlib.sha256(
            json.dumps(bootstrap).encode()).hexdigest()
        if not self._is_done('keystone-bootstrap', bootstrap_key):
            steps.run(manage + ['bootstrap'] + bootstrap, log,
                      describe='keystone-manage bootstrap')
            self._mark_done('keystone-bootstrap', bootstrap_key)
            done.append('admin user and identity endpoints made')
        if not done:
            return steps.already('database, keys and admin user')
        return steps.done(', '.join(done))

    def _admin_auth(self):
        return {
            'auth_url': self.settings.auth_url,
            'username': aio_settings.ADMIN_USER,
            'password': self.secrets['admin'],
            'project_name': aio_settings.ADMIN_PROJECT,
            'region_name': aio_settings.REGION,
        }

    def cloud_api(self, command, request, abort_if=None):
        return steps.run(
            [self.settings.venv_bin('python'),
             os.path.join(HERE, 'cloud_api.py'), command],
            self.settings.log('setup-api'), stdin_text=json.dumps(request),
            describe='cloud_api.py %s' % command, abort_if=abort_if)[1]

    def register_services(self):
        s = self.settings
        request = {
            'auth': self._admin_auth(),
            'project': aio_settings.SERVICE_PROJECT,
            'roles': ['admin', 'service'],
            'region': aio_settings.REGION,
            'users': {user: self.secrets['user-%s' % user]
                      for user in aio_settings.SERVICE_USERS},
            'services': [
                {'name': 'nova', 'type': 'compute',
                 'description': 'OpenStack Compute',
                 'url': s.url('nova-api', '/v2.1')},
                {'name': 'placement', 'type': 'placement',
                 'description': 'Placement API', 'url': s.url('placement')},
                {'name': 'glance', 'type': 'image',
                 'description': 'OpenStack Image', 'url': s.url('glance')},
                {'name': 'neutron', 'type': 'network',
                 'description': 'OpenStack Networking',
                 'url': s.url('neutron')},
            ],
        }
        what = '%d users, %d services' % (len(request['users']),
                                          len(request['services']))
        key = hashlib.sha256(json.dumps(request, sort_keys=True).encode())
        if self._is_done('keystone-catalog', key.hexdigest()):
            return steps.already(what)
        output = self.cloud_api('register', request)
        self._mark_done('keystone-catalog', key.hexdigest())
        changes = [line for line in output.splitlines()
                   if line.startswith(('created', 'updated'))]
        return steps.done('%s (%d changes)' % (what, len(changes)))

    # Nova

    def setup_nova_db(self):
        s = self.settings
        key = self._version_key('nova')
        if self._is_done('nova-db', key):
            return steps.already('nova_api, nova_cell0 and nova at the '
                                 'installed release')
        manage = [s.venv_bin('nova-manage'), '--config-file',
                  self.etc('nova', 'nova.conf')]
        log = s.log('nova-manage')
        steps.run(manage + ['api_db', 'sync'], log)
        steps.run(manage + ['cell_v2', 'map_cell0', '--database_connection',
                            self.secrets.db_url(s, 'nova_cell0')], log,
                  describe='nova-manage cell_v2 map_cell0')
        # Exit status 2: the cell exists already.
        steps.run(manage + ['cell_v2', 'create_cell', '--name', 'cell1'],
                  log, ok_codes=(0, 2))
        steps.run(manage + ['db', 'sync'], log)
        self._mark_done('nova-db', key)
        return steps.done('nova_api, cell0 and cell1 synced')

    # Docker and the computes

    def start_dockerd(self):
        service = self.dockerd()
        os.makedirs(self.settings.docker_dir, exist_ok=True)
        return service.ensure_running()

    def _dead_service(self, services):
        """A reason to stop waiting: a service that exited."""
        def check():
            for service in services:
                if service.pid() is None:
                    return '%s is not running; its log %s ends with:\n%s' % (
                        service.name, service.log_path,
                        steps.tail(service.log_path, 15))
            return None
        return check

    def wait_for_computes(self):
        s = self.settings
        watched = [self.nova_compute(c) for c in s.computes]
        if s.runs_controller:
            watched += [self.nova_service('nova-conductor')]
            watched += self.schedulers()
        pids = {c.name: self.nova_compute(c).pid() for c in s.computes}
        request = {
            'auth': self._admin_auth(),
            'hosts': {c.name: c.fpga_regions for c in s.computes},
            # A service record a compute wrote before a restart still
            # reads "up": only one written since its process started
            # says it serves.
            'started': {name: processes.started_at(pid)
                        for name, pid in pids.items() if pid},
            'timeout': COMPUTE_TIMEOUT,
            # A compute-only machine waits for the controller's periodic
            # host discovery instead.
            'discover_command': [
                s.venv_bin('nova-manage'), '--config-file',
                self.etc('nova', 'nova.conf'), 'cell_v2', 'discover_hosts',
            ] if s.runs_controller else None,
        }
        output = self.cloud_api('wait-computes', request,
                                abort_if=self._dead_service(watched))
        return steps.done(output.strip().splitlines()[-1])

    def write_openrc(self):
        s = self.settings
        changed = configs.write(
            s.path('openrc'), configs.openrc(s, self.secrets,
                                             self.fpga_compute), mode=0o600)
        changed |= configs.write(
            s.path('clouds.yaml'),
            configs.user_clouds_yaml(s, self.secrets), mode=0o600)
        text = '%s, %s' % (s.path('openrc'), s.path('clouds.yaml'))
        return steps.done(text) if changed else steps.already(text)

    # Summary

    def summary(self, seconds):
        s = self.settings
        records = processes.all_records(s)
        total = sum(processes.service_rss(r) for r in records.values())
        what = {
            'all': 'The cloud is up',
            'controller': 'The controller is up',
            'compute': 'Compute %s is up, joined to the controller at %s' % (
                ', '.join(c.name for c in s.computes),
                s.controller_address),
        }[s.role]
        lines = [
            '',
            '%s (%s, %d services using %d MiB of memory).'
            % (what, steps.format_seconds(seconds), len(records),
               total // (1024 * 1024)),
            '  credentials:  . %s   (or OS_CLIENT_CONFIG_FILE=%s '
            'OS_CLOUD=%s)' % (s.path('openrc'), s.path('clouds.yaml'),
                              aio_settings.CLOUD_NAME),
            '  service logs: %s/<service>.log' % s.log_dir,
            '  status:       %s status;  stop and remove: %s down'
            % (_command_name(), _command_name()),
        ]
        print('\n'.join(lines))


def _command_name():
    return os.environ.get('FPGA_NOVA_AIO_COMMAND', 'aio.sh')
