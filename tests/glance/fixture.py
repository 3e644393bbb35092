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

"""A real Glance API service for tests.

The ``glance_server`` fixture starts Glance (the ``glance`` package from
PyPI) once per test session: on 127.0.0.1 at a free port, without Keystone
(every request runs in Glance's unauthenticated context and is an admin
request), with a SQLite database and file stores in a temporary directory.
It serves ``glance.wsgi.api:application`` with gunicorn, a pure-Python WSGI
server that, unlike the standard library's, decodes the chunked request
bodies glanceclient uploads with.

Tests that need Glance belong in tests/glance, whose conftest provides the
fixture; they get a :class:`GlanceServer`: ``url``, ``token``,
``environ()`` (the variables that point ``nova_fpga.glance`` and
``fpga-cli.py`` at it) and
``upload_image(name, data, container_format, properties)``.
:class:`GlanceServer` can also be used on its own (``start()``/``stop()``).
"""

import importlib.util
import io
import os
import signal
import socket
import subprocess
import sys
import time

from glanceclient import client as glance_client
from keystoneauth1 import session as ksa_session
from keystoneauth1 import token_endpoint
import pytest


#: Container formats the test Glance accepts: Glance's defaults, of which
#: ``docker`` is one, plus ``fpga`` for IP-core packages.
CONTAINER_FORMATS = ('ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker',
                     'compressed', 'fpga')

#: Seconds Glance may take to answer its first request. It starts in about
#: two seconds; the margin is for a machine busy with other test runs.
START_TIMEOUT = 120

#: Lines of the server log shown with a failing test.
LOG_TAIL_LINES = 80

#: Servers started by the fixture and not yet stopped.
RUNNING_SERVERS = []

#: One line per server the fixture ran: address, start and stop times, log.
SERVER_RECORDS = []

_GLANCE_API_CONF = """\
[DEFAULT]
enabled_backends = fs:file
debug = False

[image_format]
container_formats = {container_formats}

[database]
connection = sqlite:///{state_dir}/glance.sqlite

[glance_store]
default_backend = fs

[fs]
filesystem_store_datadir = {state_dir}/images

[os_glance_staging_store]
filesystem_store_datadir = {state_dir}/staging

[os_glance_tasks_store]
filesystem_store_datadir = {state_dir}/tasks

[paste_deploy]
config_file = {config_dir}/glance-api-paste.ini

[oslo_policy]
policy_file = {config_dir}/policy.yaml
"""

# Glance's own paste file needs the Keystone middleware for the other
# flavors it defines; this one holds only the unauthenticated pipeline.
_GLANCE_API_PASTE = """\
[composite:glance-api]
paste.composite_factory = glance.api:root_app_factory
/: api

[pipeline:api]
pipeline = versionnegotiation unauthenticated-context rootapp

[composite:rootapp]
paste.composite_factory = glance.api:root_app_factory
/: apiversions
/v2: apiv2app

[app:apiversions]
paste.app_factory = glance.api.versions:create_resource

[app:apiv2app]
paste.app_factory = glance.api.v2.router:API.factory

[filter:versionnegotiation]
paste.filter_factory = \
glance.api.middleware.version_negotiation:VersionNegotiationFilter.factory

[filter:unauthenticated-context]
paste.filter_factory = \
glance.api.middleware.context:UnauthenticatedContextMiddleware.factory
"""

# The unauthenticated context carries no roles and no project, which the
# default policies (role:admin, project scope) refuse: making every context
# an admin one is what running without Keystone means here.
_POLICY = """\
"context_is_admin": ""
"""


class GlanceServerError(Exception):
    """The test Glance could not be set up or did not start."""


class GlanceServer:
    """One Glance API process and the directory holding its state."""

    #: Any token will do: Glance without Keystone does not check it, but
    #: clients insist on sending one.
    token = 'glance-test-token'

    def __init__(self, base_dir):
        self.base_dir = str(base_dir)
        self.config_dir = os.path.join(self.base_dir, 'etc')
        self.state_dir = os.path.join(self.base_dir, 'state')
        self.log_path = os.path.join(self.base_dir, 'glance-api.log')
        self.manage_log_path = os.path.join(self.base_dir, 'glance-manage.log')
        self.port = None
        self.url = None
        self.start_seconds = None
        self._process = None

    def environ(self):
        """Variables pointing nova_fpga.glance and fpga-cli.py at Glance."""
        return {'OS_IMAGE_URL': self.url, 'OS_AUTH_TOKEN': self.token}

    def client(self):
        """A glanceclient v2 client talking to this Glance."""
        session = ksa_session.Session(
            auth=token_endpoint.Token(self.url, self.token), timeout=60)
        return glance_client.Client('2', session=session)

    def upload_image(self, name, data, container_format='fpga',
                     properties=None, disk_format='raw'):
        """Create an image, upload ``data`` (bytes) to it, return its id.

        ``properties`` are extra image properties; Glance stores strings,
        so a manifest goes in as its JSON text. With ``data=None`` the image
        is created without data and stays ``queued``.
        """
        client = self.client()
        image = client.images.create(
            name=name, container_format=container_format,
            disk_format=disk_format, **(properties or {}))
        if data is not None:
            client.images.upload(image['id'], io.BytesIO(data))
        return image['id']

    def start(self):
        """Write the configuration, create the database, start Glance."""
        started = time.monotonic()
        for directory in (self.config_dir, self.state_dir):
            os.makedirs(directory, exist_ok=True)
        for store in ('images', 'staging', 'tasks'):
            os.makedirs(os.path.join(self.state_dir, store), exist_ok=True)
        self._write_config()
        self._sync_database()

        # The listening socket is opened here and handed to the server, so
        # the port is known and taken before the server starts: no window
        # for another process to grab a port found free.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind(('127.0.0.1', 0))
            listener.listen(64)
            self.port = listener.getsockname()[1]
            self.url = 'http://127.0.0.1:%d' % self.port
            environ = dict(os.environ)
            environ['OS_GLANCE_CONFIG_DIR'] = self.config_dir
            with open(self.log_path, 'ab') as log:
                self._process = subprocess.Popen(
                    [sys.executable, '-m', 'gunicorn',
                     '--bind', 'fd://%d' % listener.fileno(),
                     '--workers', '1', '--threads', '4',
                     '--timeout', '120', '--graceful-timeout', '5',
                     '--access-logfile', '-',
                     # A connection closes after each response: no client
                     # reuses one the server has meanwhile timed out (a
                     # reset request), and stopping waits for no idle one.
                     '--keep-alive', '0',
                     # Its default control socket is one fixed path in the
                     # home directory, shared by concurrent test runs.
                     '--no-control-socket',
                     'glance.wsgi.api:application'],
                    cwd=self.base_dir, env=environ, stdin=subprocess.DEVNULL,
                    stdout=log, stderr=subprocess.STDOUT,
                    pass_fds=(listener.fileno(),), start_new_session=True)
        finally:
            listener.close()
        self._wait_until_serving()
        self.start_seconds = time.monotonic() - started

    def stop(self):
        """Stop the Glance process started by :meth:`start`."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            # The server got its own session at start: its process group
            # holds its worker and nothing else.
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def log_tail(self, lines=LOG_TAIL_LINES):
        try:
            with open(self.log_path, errors='replace') as log:
                return ''.join(log.readlines()[-lines:])
        except OSError as error:
            return 'cannot read %s: %s' % (self.log_path, error)

    def _write_config(self):
        values = {'state_dir': self.state_dir, 'config_dir': self.config_dir,
                  'container_formats': ','.join(CONTAINER_FORMATS)}
        for name, text in (('glance-api.conf', _GLANCE_API_CONF),
                           ('glance-api-paste.ini', _GLANCE_API_PASTE),
                           ('policy.yaml', _POLICY)):
            with open(os.path.join(self.config_dir, name), 'w') as config:
                config.write(text.format(**values) if name.endswith('.conf')
                             else text)

    def _sync_database(self):
        with open(self.manage_log_path, 'ab') as log:
            result = subprocess.run(
                [sys.executable, '-m', 'glance.cmd.manage', '--config-file',
                 os.path.join(self.config_dir, 'glance-api.conf'), 'db_sync'],
                cwd=self.base_dir, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, timeout=300)
        if result.returncode != 0:
            with open(self.manage_log_path, errors='replace') as log:
                output = log.read()[-4000:]
            raise GlanceServerError(
                'glance-manage db_sync exited with %d; its log %s ends:\n%s'
                % (result.returncode, self.manage_log_path, output))

    def _wait_until_serving(self):
        deadline = time.monotonic() + START_TIMEOUT
        last_error = None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise GlanceServerError(
                    'Glance exited with %d before serving; its log %s ends:'
                    '\n%s' % (self._process.returncode, self.log_path,
                              self.log_tail()))
            try:
                # The image schema comes from the API application itself, so
                # an answer means Glance loaded, not only that the socket
                # (open before the server) accepts connections.
                connection = socket.create_connection(
                    ('127.0.0.1', self.port), timeout=5)
                with connection:
                    connection.sendall(
                        b'GET /v2/schemas/image HTTP/1.0\r\n'
                        b'Host: 127.0.0.1\r\n\r\n')
                    status_line = connection.makefile('rb').readline()
                if status_line.split()[1:2] == [b'200']:
                    return
                last_error = status_line.decode(errors='replace').strip()
            except (OSError, IndexError) as error:
                last_error = error
            time.sleep(0.1)
        self.stop()
        raise GlanceServerError(
            'Glance did not serve within %d s (last answer: %s); its log %s '
            'ends:\n%s' % (START_TIMEOUT, last_error, self.log_path,
                           self.log_tail()))


@pytest.fixture(scope='session')
def glance_server(tmp_path_factory):
    """A running Glance API without Keystone, shared by the whole session."""
    for module in ('glance', 'gunicorn'):
        if importlib.util.find_spec(module) is None:
            pytest.skip('%s is not installed: run these tests with '
                        '"tox -e glance"' % module)
    server = GlanceServer(tmp_path_factory.mktemp('glance'))
    RUNNING_SERVERS.append(server)
    try:
        server.start()
        yield server
    finally:
        stopping = time.monotonic()
        server.stop()
        RUNNING_SERVERS.remove(server)
        if server.start_seconds is not None:
            SERVER_RECORDS.append(
                'Glance API at %s: started in %.1f s, stopped in %.1f s, '
                'log %s' % (server.url, server.start_seconds,
                            time.monotonic() - stopping, server.log_path))
