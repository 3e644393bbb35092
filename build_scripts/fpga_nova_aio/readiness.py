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

"""Whether a service serves yet, and whether its port is free."""

import http.client
import os
import socket

from fpga_nova_aio import settings as aio_settings
from fpga_nova_aio import steps

PORTS = aio_settings.PORTS


def port_open(address, port):
    try:
        with socket.create_connection((address, port), timeout=2):
            return True
    except OSError:
        return False


def _listening_inodes(port):
    """Socket inodes listening on a TCP port (any address)."""
    inodes = set()
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            with open(table) as stream:
                next(stream)
                for line in stream:
                    fields = line.split()
                    local, state, inode = fields[1], fields[3], fields[9]
                    # 0A is TCP_LISTEN.
                    if state == '0A' and int(local.rsplit(':', 1)[1],
                                             16) == port:
                        inodes.add(inode)
        except OSError:
            continue
    return inodes


def port_owner(port):
    """'pid N (name)' of a process listening on port, or None."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    wanted = {'socket:[%s]' % inode for inode in inodes}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        fd_dir = '/proc/%s/fd' % entry
        try:
            for fd in os.listdir(fd_dir):
                if os.readlink(os.path.join(fd_dir, fd)) in wanted:
                    with open('/proc/%s/comm' % entry) as stream:
                        return 'pid %s (%s)' % (entry, stream.read().strip())
        except OSError:
            continue
    return 'another program'


def check_port_free(name):
    port = PORTS[name]
    owner = port_owner(port)
    if owner:
        raise steps.StepFailed(
            'port %d, which %s listens on, is in use by %s: stop it (for '
            'example a Debian service: systemctl stop <service>) and run '
            'up again' % (port, name, owner))


def http_ready(url):
    def check():
        host, port = url.split('//', 1)[1].split('/', 1)[0].split(':')
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        try:
            connection.request('GET', '/')
            return connection.getresponse().status < 500
        finally:
            connection.close()
    return check


class _UnixHTTPConnection(http.client.HTTPConnection):

    def __init__(self, path):
        super().__init__('localhost', timeout=5)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(self.socket_path)


def docker_ready(socket_path):
    def check():
        connection = _UnixHTTPConnection(socket_path)
        try:
            connection.request('GET', '/_ping')
            return connection.getresponse().status == 200
        finally:
            connection.close()
    return check


def mariadb_ready(socket_path):
    """The server sent its greeting (not an error packet)."""
    def check():
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(socket_path)
            greeting = sock.recv(64)
        # 4 bytes of packet header, then 0x0a (protocol 10) or 0xff.
        return len(greeting) > 4 and greeting[4] == 0x0a
    return check


def amqp_ready(address, port):
    """The broker answers the AMQP 0-9-1 header with Connection.Start."""
    def check():
        with socket.create_connection((address, port), timeout=5) as sock:
            sock.sendall(b'AMQP\x00\x00\x09\x01')
            frame = sock.recv(7)
        # A method frame (type 1) on channel 0.
        return len(frame) == 7 and frame[0] == 1
    return check
