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

"""The API validator of the flavor extra spec ``hw:fpga_ip_id``.

From API microversion 2.86 Nova refuses unknown keys of a namespace it
knows, and ``hw`` is one. Nova loads validators from the
``nova.api.extra_spec_validators`` entry points (each a module with a
``register()`` function), so this one needs no patch: nova_fpga's
``setup.cfg`` registers this module there.
"""

from nova.api.validation.extra_specs import base
from nova import exception as nova_exception

from nova_fpga import exception
from nova_fpga import specs


class FpgaIpIdValidator(base.ExtraSpecValidator):
    """Accepts a Glance image UUID; a refusal names the value."""

    def validate(self, name, value):
        super().validate(name, value)
        try:
            specs.validate_ip_id(value)
        except exception.InvalidFpgaIpId as e:
            raise nova_exception.ValidationError(
                'Validation failed; %s' % e.message)


def register():
    return [
        FpgaIpIdValidator(
            name=specs.IP_ID_KEY,
            description=(
                'The FPGA IP core an instance of this flavor gets: the id '
                'of a Glance image with container format "fpga". The '
                'compute host programs a free FPGA region with it before '
                'the instance starts, and the scheduler only picks hosts '
                'with a free region.'),
            value={
                'type': str,
                'description': 'A Glance image UUID',
            },
        ),
    ]
