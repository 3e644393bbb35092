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

"""The build_instance and delete_instance hooks.

Nova calls them with the hooked method's arguments; they take the
instance (keyword ``instance``) and hand it to nova_fpga.regions.
"""

from oslo_log import log as logging

from nova_fpga import exception
from nova_fpga import regions

LOG = logging.getLogger(__name__)

FpgaBuildFailed = exception.FpgaBuildFailed


def _instance(args, kwargs):
    if 'instance' in kwargs:
        return kwargs['instance']
    for arg in args:
        if hasattr(arg, 'uuid') and hasattr(arg, 'flavor'):
            return arg
    return None


class FpgaBuildInstanceHook(object):
    """Before the guest is spawned: program a region with its IP core."""

    def pre(self, *args, **kwargs):
        instance = _instance(args, kwargs)
        if instance is None:
            raise FpgaBuildFailed('build_instance hook called without an '
                                  'instance: %r' % (args,))
        regions.program_instance_region(instance)


class FpgaDeleteInstanceHook(object):
    """After the guest is destroyed: erase its region."""

    def post(self, rv, *args, **kwargs):
        instance = _instance(args, kwargs)
        if instance is None:
            LOG.error('delete_instance hook called without an instance: '
                      '%r', args)
            return
        regions.erase_instance_region(instance)
