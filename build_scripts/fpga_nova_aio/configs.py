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

"""The configuration files of the cloud's services.

Each function returns the text of one file; :func:`write` puts it in
place atomically (mode 0640: most hold passwords). Options are the ones
an operator would set by hand, with a comment where the value is not the
obvious one.
"""

import os

from fpga_nova_aio import settings as aio_settings

PORTS = aio_settings.PORTS


def ini(sections):
    """INI text from {section: {option: value}}.

    A list value is a multi-valued option (one line per value); None
    leaves the option out; booleans are written True/False.
    """
    lines = []
    for section, options in sections.items():
        lines.append('[%s]' % section)
        for name, value in options.items():
            if value is None:
                continue
            for item in (value if isinstance(value, list) else [value]):
                lines.append('%s = %s' % (name, item))
        lines.append('')
    return '\n'.join(lines)


def write(path, text, mode=0o640):
    """Write text to path atomically; return whether the content changed."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        with open(path) as stream:
            if stream.read() == text:
                return False
    except OSError:
        pass
    temporary = path + '.tmp'
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, 'w') as stream:
        stream.write(text)
    os.replace(temporary, path)
    return True


def _authtoken(settings, secrets, user):
    """A keystonemiddleware section: validates the tokens of requests."""
    section = _service_auth(settings, secrets, user)
    section['www_authenticate_uri'] = settings.auth_url
    # Token validations are cached in the service process without
    # memcached (the cloud runs none).
    section['memcached_servers'] = None
    return section


def _service_auth(settings, secrets, user):
    """A keystoneauth section: how a service calls another one."""
    return {
        'auth_url': settings.auth_url,
        'auth_type': 'password',
        'project_domain_name': 'Default',
        'user_domain_name': 'Default',
        'project_name': aio_settings.SERVICE_PROJECT,
        'username': user,
        'password': secrets['user-%s' % user],
        'region_name': aio_settings.REGION,
    }


def _logging(settings):
    return {
        'debug': settings.debug,
        # A service's stderr goes to its log file.
        'use_stderr': True,
        'log_file': None,
    }


# Keystone

def keystone_conf(settings, secrets):
    keys = settings.path('keystone')
    return ini({
        'DEFAULT': _logging(settings),
        'database': {'connection': secrets.db_url(settings, 'keystone')},
        'token': {'provider': 'fernet'},
        'fernet_tokens': {'key_repository': os.path.join(keys, 'fernet')},
        # Receipts (multi-factor auth) use the token keys too.
        'fernet_receipts': {'key_repository': os.path.join(keys, 'fernet')},
        'credential': {'key_repository': os.path.join(keys, 'credential')},
    })


# Placement

def placement_conf(settings, secrets):
    return ini({
        'DEFAULT': _logging(settings),
        'placement_database': {
            'connection': secrets.db_url(settings, 'placement')},
        'api': {'auth_strategy': 'keystone'},
        'keystone_authtoken': _authtoken(settings, secrets, 'placement'),
        # Placement retries a write that lost a provider generation race
        # inside the transaction that lost it: on MariaDB's repeatable
        # read the retry checks capacity against the old snapshot and
        # can claim a region another request just took. With one try
        # the conflict goes back to Nova, which retries afresh.
        'placement': {'allocation_conflict_retry_count': 1},
    })


# Glance

#: Glance's container formats plus the two of fpga-nova: "fpga" (IP-core
#: packages) and "docker" (``docker save`` archives).
GLANCE_CONTAINER_FORMATS = 'ami,ari,aki,bare,ovf,ova,compressed,docker,fpga'


def glance_api_conf(settings, secrets):
    images = settings.path('glance')
    return ini({
        'DEFAULT': dict(_logging(settings), enabled_backends='fs:file'),
        'database': {'connection': secrets.db_url(settings, 'glance')},
        'keystone_authtoken': _authtoken(settings, secrets, 'glance'),
        'paste_deploy': {'flavor': 'keystone'},
        'image_format': {'container_formats': GLANCE_CONTAINER_FORMATS},
        'glance_store': {'default_backend': 'fs'},
        'fs': {'filesystem_store_datadir': os.path.join(images, 'images')},
        'os_glance_staging_store': {
            'filesystem_store_datadir': os.path.join(images, 'staging')},
        'os_glance_tasks_store': {
            'filesystem_store_datadir': os.path.join(images, 'tasks')},
        'oslo_concurrency': {'lock_path': os.path.join(images, 'lock')},
    })


# Neutron

def neutron_conf(settings, secrets):
    return ini({
        'DEFAULT': dict(
            _logging(settings),
            core_plugin='ml2',
            # The API alone: Nova asks it for ports and security groups
            # (even for servers booted with --nic none); no agents run.
            service_plugins='',
            auth_strategy='keystone',
            transport_url=secrets.transport_url(settings),
            notify_nova_on_port_status_changes=False,
            notify_nova_on_port_data_changes=False,
            api_paste_config=settings.path('etc', 'neutron',
                                           'api-paste.ini'),
        ),
        'database': {'connection': secrets.db_url(settings, 'neutron')},
        'keystone_authtoken': _authtoken(settings, secrets, 'neutron'),
        'oslo_concurrency': {
            'lock_path': settings.path('neutron', 'lock')},
    })


def ml2_conf(settings):
    return ini({
        'ml2': {
            'type_drivers': 'flat',
            'tenant_network_types': '',
            'mechanism_drivers': '',
            'extension_drivers': 'port_security',
        },
    })


# Nova

#: Nova's default filters (AvailabilityZoneFilter of the original
#: instructions is gone: Placement does its work), FpgaFilter added.
ENABLED_FILTERS = ('ComputeFilter', 'ComputeCapabilitiesFilter',
                   'ImagePropertiesFilter',
                   'ServerGroupAntiAffinityFilter',
                   'ServerGroupAffinityFilter', 'FpgaFilter')
FPGA_FILTER_CLASS = 'nova.scheduler.filters.fpga_filter.FpgaFilter'


def _nova_common(settings, secrets, state_path):
    """What every Nova service of the cloud shares."""
    return {
        'DEFAULT': dict(
            _logging(settings),
            transport_url=secrets.transport_url(settings),
            my_ip=settings.my_address,
            state_path=state_path,
        ),
        'service_user': dict(_service_auth(settings, secrets, 'nova'),
                             send_service_user_token=True),
        'placement': _service_auth(settings, secrets, 'nova'),
        'neutron': _service_auth(settings, secrets, 'nova'),
        'glance': {'region_name': aio_settings.REGION},
        'oslo_concurrency': {'lock_path': os.path.join(state_path, 'lock')},
    }


def nova_controller_conf(settings, secrets):
    sections = _nova_common(settings, secrets, settings.path('nova',
                                                             'controller'))
    sections.update({
        'api': {'auth_strategy': 'keystone'},
        'api_database': {'connection': secrets.db_url(settings, 'nova_api')},
        'database': {'connection': secrets.db_url(settings, 'nova')},
        'keystone_authtoken': _authtoken(settings, secrets, 'nova'),
        'wsgi': {'api_paste_config': settings.path('etc', 'nova',
                                                   'api-paste.ini')},
        'conductor': {'workers': 1},
        'scheduler': {
            'workers': 1,
            # Compute hosts that join later (a compute-only machine) are
            # mapped to the cell without running nova-manage.
            'discover_hosts_in_cells_interval': 30,
        },
        'filter_scheduler': {
            # As the original instructions: all filters, FpgaFilter named
            # too (the patch makes it part of all_filters as well).
            'available_filters': ['nova.scheduler.filters.all_filters',
                                  FPGA_FILTER_CLASS],
            'enabled_filters': ','.join(ENABLED_FILTERS),
        },
    })
    return ini(sections)


#: Seconds between two resource audits of a compute service, which
#: report the FPGA regions used (FpgaFilter reads them). Nova's default is
#: 60; a shorter one reaps orphaned regions sooner.
RESOURCE_AUDIT_SECONDS = 10


def nova_compute_conf(settings, secrets, compute):
    state_path = settings.path('nova', compute.name)
    etc = settings.compute_etc(compute)
    rootwrap_conf = os.path.join(etc, 'rootwrap.conf')
    sections = _nova_common(settings, secrets, state_path)
    sections['DEFAULT'].update(
        host=compute.name,
        compute_driver=_compute_driver(settings),
        instances_path=os.path.join(state_path, 'instances'),
        rootwrap_config=rootwrap_conf,
        update_resources_interval=RESOURCE_AUDIT_SECONDS,
        # Options of the 2016 instructions, on the FPGA node only.
        fpga_access=compute.has_fpga,
        fpga_exec='fpga-cli.py' if compute.has_fpga else None,
        fpga_simulation_mode=False if compute.has_fpga else None,
    )
    sections['fpga'] = {
        # The service runs as root, so fpga-cli runs directly; these
        # are what a compute service of another user would run it with
        # (with sudo in front on a production node).
        'root_helper': '%s %s' % (settings.venv_bin('nova-rootwrap'),
                                  rootwrap_conf),
        'root_helper_daemon': '%s %s' % (
            settings.venv_bin('nova-rootwrap-daemon'), rootwrap_conf),
    }
    sections['docker'] = {
        'host_url': settings.docker_url,
        # Unpacked images are kept in the daemon's data root, not in the
        # shared temporary directory.
        'image_download_dir': os.path.join(state_path, 'image-download'),
    }
    sections['compute'] = {
        # A build refused on this host (say an IP package fpga-cli does
        # not accept) must not take the host out of scheduling after ten
        # in a row, as Nova does by default for broken hypervisors.
        'consecutive_build_service_disable_threshold': 0,
    }
    return ini(sections)


def _compute_driver(settings):
    if settings.compute_driver == 'fake':
        # Keeps a stable node identity across restarts (FakeDriver does
        # not).
        return 'fake.FakeDriverWithoutFakeNodes'
    return 'docker.DockerDriver'


def rootwrap_conf(settings, filters_dir):
    return ini({
        'DEFAULT': {
            'filters_path': filters_dir,
            'exec_dirs': ','.join([os.path.dirname(
                settings.venv_bin('python')), '/sbin', '/usr/sbin', '/bin',
                '/usr/bin', '/usr/local/bin', '/usr/local/sbin']),
            'use_syslog': False,
        },
    })


def compute_clouds_yaml(settings, secrets):
    """The credentials fpga-cli.py verifies IP packages in Glance with.

    Nova runs fpga-cli through rootwrap (and, elsewhere, sudo), which
    clear the environment: fpga-cli looks for a cloud named "fpga-cli"
    in a clouds.yaml, here the one OS_CLIENT_CONFIG_FILE of the compute
    service names.
    """
    return _clouds_yaml({
        'fpga-cli': {
            'auth': {
                'auth_url': settings.auth_url,
                'username': 'nova',
                'password': secrets['user-nova'],
                'project_name': aio_settings.SERVICE_PROJECT,
                'user_domain_name': 'Default',
                'project_domain_name': 'Default',
            },
            'region_name': aio_settings.REGION,
            'interface': 'public',
            'identity_api_version': 3,
        },
    })


def _clouds_yaml(clouds):
    """YAML text of a clouds.yaml (strings and numbers only)."""
    lines = ['clouds:']

    def emit(mapping, indent):
        for key, value in mapping.items():
            if isinstance(value, dict):
                lines.append('%s%s:' % (' ' * indent, key))
                emit(value, indent + 2)
            elif isinstance(value, int):
                lines.append('%s%s: %d' % (' ' * indent, key, value))
            else:
                lines.append('%s%s: "%s"' % (' ' * indent, key, value))

    emit(clouds, 2)
    return '\n'.join(lines) + '\n'


def user_clouds_yaml(settings, secrets):
    return _clouds_yaml({
        aio_settings.CLOUD_NAME: {
            'auth': {
                'auth_url': settings.auth_url,
                'username': aio_settings.ADMIN_USER,
                'password': secrets['admin'],
                'project_name': aio_settings.ADMIN_PROJECT,
                'user_domain_name': 'Default',
                'project_domain_name': 'Default',
            },
            'region_name': aio_settings.REGION,
            'interface': 'public',
            'identity_api_version': 3,
        },
    })


def openrc(settings, secrets, fpga_compute=None):
    lines = [
        '# fpga-nova all-in-one cloud: the admin credentials and the',
        '# tools. Source it: . %s' % settings.path('openrc'),
        'export OS_AUTH_URL=%s' % settings.auth_url,
        'export OS_USERNAME=%s' % aio_settings.ADMIN_USER,
        'export OS_PASSWORD=%s' % secrets['admin'],
        'export OS_PROJECT_NAME=%s' % aio_settings.ADMIN_PROJECT,
        'export OS_USER_DOMAIN_NAME=Default',
        'export OS_PROJECT_DOMAIN_NAME=Default',
        'export OS_IDENTITY_API_VERSION=3',
        'export OS_IMAGE_API_VERSION=2',
        'export OS_REGION_NAME=%s' % aio_settings.REGION,
        '# openstack, nova, glance, nova-manage and fpga-cli.py',
        'export PATH=%s:$PATH' % os.path.dirname(settings.venv_bin('python')),
    ]
    if settings.runs_computes:
        lines += [
            '# The Docker daemon of the compute services',
            'export DOCKER_HOST=%s' % settings.docker_url,
        ]
    if fpga_compute is not None:
        lines += [
            '# The simulated FPGA of %s, as its nova-compute sees it'
            % fpga_compute.name,
            '# (fpga-cli.py status)',
            'export FPGA_CLI_STATE_DIR=%s'
            % settings.fpga_state_dir(fpga_compute),
            'export FPGA_CLI_REGIONS=%d' % fpga_compute.fpga_regions,
        ]
    return '\n'.join(lines) + '\n'


# RabbitMQ

def rabbitmq_conf(settings, secrets):
    return '\n'.join([
        'listeners.tcp.1 = %s:%d' % (settings.bind_address,
                                     PORTS['rabbitmq']),
        # Made on the first start, when the database is empty.
        'default_user = %s' % aio_settings.RABBIT_USER,
        'default_pass = %s' % secrets['rabbit'],
        'default_permissions.configure = .*',
        'default_permissions.read = .*',
        'default_permissions.write = .*',
        'loopback_users = none',
        'log.console = true',
        'log.file = false',
        '',
    ])


# gunicorn

#: neutron 29.0.0 lists ports with Port.port_forwardings, a relationship
#: that only exists once the port-forwarding model is imported (by the
#: router service plugin, which an API without agents does not need) and
#: SQLAlchemy has configured its mappers (on the first query, which may
#: come after). Without this, Nova's every server lookup gets a 500.
NEUTRON_WORKER_INIT = """
def post_worker_init(worker):
    import neutron.db.models.port_forwarding  # noqa: F401
    from sqlalchemy import orm
    orm.configure_mappers()
"""


def gunicorn_conf(settings, name, module):
    """gunicorn.conf.py of a WSGI service.

    Everything is in this file (read from the working directory) and
    nothing on gunicorn's command line: Nova and Neutron parse sys.argv
    as their own options.
    """
    return '\n'.join([
        '# gunicorn settings of %s (a Python file).' % name,
        'wsgi_app = %r' % module,
        'bind = [%r]' % ('%s:%d' % (settings.bind_address, PORTS[name])),
        'workers = 1',
        'threads = 4',
        'timeout = 120',
        'graceful_timeout = 5',
        # A connection closes after each response: no client reuses one
        # the server has meanwhile closed (a reset request).
        'keepalive = 0',
        'control_socket_disable = True',
        'accesslog = "-"',
        'proc_name = %r' % name,
        NEUTRON_WORKER_INIT if name == 'neutron' else '',
    ])
