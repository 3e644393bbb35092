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

"""The connection to the Docker daemon.

Every call into the Docker SDK goes through :meth:`DockerDaemon.calling`,
which turns "cannot reach the daemon" into DockerUnavailable and the
daemon's refusals into DockerApiError, both naming the daemon's URL.
``docker.errors.NotFound`` passes through: callers decide what a missing
container or image means.
"""

import contextlib

import docker
from docker import errors as docker_errors
from oslo_log import log as logging
import requests

from nova_fpga.virt.docker import exception

LOG = logging.getLogger(__name__)


def _reason(error):
    """The root cause of a connection error, in a few words."""
    seen = set()
    cause = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
        for argument in getattr(cause, 'args', ()):
            if isinstance(argument, OSError) and argument.strerror:
                return argument.strerror
        cause = cause.__cause__ or cause.__context__
    return str(error)


class DockerDaemon(object):
    """One Docker daemon, reached through the Docker SDK."""

    def __init__(self, url, timeout):
        self.url = url
        self.timeout = timeout
        self._client = None

    @property
    def client(self):
        """A connected docker.DockerClient (connecting when needed)."""
        if self._client is None:
            with self.calling('connect'):
                # version='auto' asks the daemon for its API version, so
                # that connecting fails here, with the URL, when the
                # daemon is unreachable.
                self._client = docker.DockerClient(
                    base_url=self.url, version='auto', timeout=self.timeout)
        return self._client

    @contextlib.contextmanager
    def calling(self, action):
        """Translate the SDK's errors for action (a verb phrase)."""
        try:
            yield
        except docker_errors.NotFound:
            raise
        except (requests.exceptions.ConnectionError,
                requests.exceptions.Timeout) as e:
            raise exception.DockerUnavailable(
                url=self.url, reason=_reason(e)) from e
        except docker_errors.APIError as e:
            error = exception.DockerApiError(
                url=self.url, action=action,
                reason=e.explanation or str(e))
            error.status_code = e.status_code
            error.explanation = e.explanation or str(e)
            raise error from e
        except docker_errors.DockerException as e:
            # The SDK wraps a failed version query (the first request of
            # a new client) in a bare DockerException.
            raise exception.DockerUnavailable(
                url=self.url, reason=_reason(e)) from e

    def ping(self):
        """Check that the daemon answers; return its version record."""
        client = self.client
        with self.calling('answer a version query'):
            return client.version()

    def info(self):
        client = self.client
        with self.calling('describe the host'):
            return client.info()

    def close(self):
        client, self._client = self._client, None
        if client is not None:
            client.close()
