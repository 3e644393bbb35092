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

"""Which IP core an instance asks for: the ``hw:fpga_ip_id`` spec.

Flavors are the operator's, so a flavor's ``hw:fpga_ip_id`` is always
honoured. Images can be the users', and an IP core a user chose could
damage the FPGA, so an image's ``hw:fpga_ip_id`` counts only when the
operator set ``[fpga] allow_image_ip_id``, and never overrides a flavor.
"""

import re

from oslo_log import log as logging

from nova_fpga import exception

LOG = logging.getLogger(__name__)

IP_ID_KEY = 'hw:fpga_ip_id'
# A Glance image id in its canonical form. The rootwrap filter for
# "fpga-cli burn" carries the same pattern.
IP_ID_PATTERN = (r'[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
                 r'[0-9a-fA-F]{4}-[0-9a-fA-F]{12}')
_IP_ID_RE = re.compile(IP_ID_PATTERN + r'\Z')


def validate_ip_id(value, source=IP_ID_KEY):
    """Return the IP id in lower case, or raise InvalidFpgaIpId."""
    if not isinstance(value, str) or not _IP_ID_RE.match(value):
        raise exception.InvalidFpgaIpId(value, source=source)
    return value.lower()


def get_ip_id(extra_specs, image_properties=None, allow_image_ip_id=False):
    """The IP core id an instance asks for, or None.

    :param extra_specs: the flavor's extra specs (a dict).
    :param image_properties: the image's properties (a dict), or None.
    :param allow_image_ip_id: whether images may choose the IP core.
    """
    flavor_value = (extra_specs or {}).get(IP_ID_KEY)
    if flavor_value is not None:
        return validate_ip_id(flavor_value, source='flavor extra spec %s'
                              % IP_ID_KEY)
    image_value = (image_properties or {}).get(IP_ID_KEY)
    if image_value is None:
        return None
    if not allow_image_ip_id:
        LOG.info('Ignoring image property %(key)s=%(value)s: images may '
                 'choose an IP core only with [fpga] allow_image_ip_id',
                 {'key': IP_ID_KEY, 'value': image_value})
        return None
    return validate_ip_id(image_value, source='image property %s'
                          % IP_ID_KEY)


def refused_image_ip_id(extra_specs, image_properties=None,
                        allow_image_ip_id=False):
    """The image's hw:fpga_ip_id when it would choose the IP core unallowed.

    get_ip_id() ignores such a value; a build refuses it instead, so that
    a user whose image asks for an IP core learns it gets none. A flavor
    that names an IP core decides alone, and the image's value is moot.
    Returns None when nothing is refused.
    """
    if allow_image_ip_id or (extra_specs or {}).get(IP_ID_KEY) is not None:
        return None
    return (image_properties or {}).get(IP_ID_KEY)
