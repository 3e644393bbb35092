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

"""Errors of the Docker compute driver.

They are Nova exceptions, so that the compute manager records their
message as the instance fault. Errors an image causes are raised as
Nova's ImageUnacceptable instead, which ends a build without trying
other hosts.
"""

from nova import exception


class DockerUnavailable(exception.HypervisorUnavailable):
    msg_fmt = ('Docker daemon at %(url)s is unreachable: %(reason)s. Is '
               'dockerd running, and may this service use it ([docker] '
               'host_url)?')


class DockerApiError(exception.NovaException):
    msg_fmt = 'Docker daemon at %(url)s failed to %(action)s: %(reason)s'

    #: The daemon's HTTP status and its own words, set by the raiser.
    status_code = None
    explanation = None


class ContainerOwnedElsewhere(exception.NovaException):
    msg_fmt = ('Container %(name)s of instance %(instance_uuid)s belongs to '
               'compute host %(owner)s, not to %(host)s: not touching it')


class DeviceUnavailable(exception.NovaException):
    msg_fmt = 'Cannot pass %(detail)s into instance %(instance_uuid)s'
