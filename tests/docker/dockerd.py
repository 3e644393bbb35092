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

"""A real Docker daemon private to a test run.

:class:`PrivateDockerDaemon` runs Debian's ``dockerd`` with a data root,
exec root, socket and pidfile of its own under one directory, and the
flags that work without systemd or a network of its own (vfs storage, no
iptables, no bridge). It stops the daemon by the pid it wrote, so that
other Docker daemons of the machine are never touched.
"""

import os
import shutil
import signal
import subprocess
import time

import docker

#: Seconds dockerd may take to answer; it starts in 1-3 s when the
#: machine is idle, the margin is for a machine busy with other tests.
START_TIMEOUT = 90
#: Seconds dockerd may take to stop its containers and containerd.
STOP_TIMEOUT = 30
LOG_TAIL_LINES = 15


class DaemonError(Exception):
    """The private daemon could not be started."""


class PrivateDockerDaemon(object):
    """One dockerd with all its state under base_dir."""

    def __init__(self, base_dir, executable='dockerd'):
        self.base_dir = str(base_dir)
        self.executable = executable
        self.data_root = os.path.join(self.base_dir, 'data')
        self.exec_root = os.path.join(self.base_dir, 'exec')
        self.socket = os.path.join(self.base_dir, 'docker.sock')
        self.pidfile = os.path.join(self.base_dir, 'docker.pid')
        self.log_path = os.path.join(self.base_dir, 'dockerd.log')
        self.url = 'unix://' + self.socket
        self._process = None

    def command(self):
        return [self.executable,
                '--data-root', self.data_root,
                '--exec-root', self.exec_root,
                '--host', self.url,
                '--pidfile', self.pidfile,
                '--storage-driver', 'vfs',
                '--iptables=false', '--ip6tables=false',
                '--bridge=none']

    def client(self):
        return docker.DockerClient(base_url=self.url, version='auto',
                                   timeout=60)

    def start(self):
        if shutil.which(self.executable) is None:
            raise DaemonError(
                '%s not found: install Debian\'s docker.io (the docker tox '
                'environment does)' % self.executable)
        if os.geteuid() != 0:
            raise DaemonError('dockerd must run as root')
        os.makedirs(self.base_dir, exist_ok=True)
        with open(self.log_path, 'ab') as log:
            self._process = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self._process.poll() is not None:
                raise DaemonError('dockerd exited with %s:\n%s'
                                  % (self._process.returncode,
                                     self.log_tail()))
            try:
                client = docker.DockerClient(base_url=self.url, timeout=5)
                try:
                    if client.ping():
                        return
                finally:
                    client.close()
            except Exception:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise DaemonError('dockerd did not answer within %d s:\n%s'
                                  % (START_TIMEOUT, self.log_tail()))
            time.sleep(0.2)

    def pid(self):
        """The daemon's pid, from its pidfile (or the process started)."""
        try:
            with open(self.pidfile) as pidfile:
                return int(pidfile.read().strip())
        except (OSError, ValueError):
            if self._process is not None and self._process.poll() is None:
                return self._process.pid
            return None

    def stop(self):
        """Stop the daemon (SIGTERM, then SIGKILL) and wait for it."""
        pid = self.pid()
        process, self._process = self._process, None
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + STOP_TIMEOUT
        while _alive(pid, process):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.1)
        if process is not None:
            process.wait()

    def remove_state(self):
        """Delete base_dir; call after stop()."""
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def log_tail(self, lines=LOG_TAIL_LINES):
        try:
            with open(self.log_path, errors='replace') as log:
                return ''.join(log.readlines()[-lines:])
        except OSError as e:
            return 'cannot read %s: %s' % (self.log_path, e)


def _alive(pid, process):
    if process is not None and process.pid == pid:
        return process.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
