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

"""An instance's FPGA region: programmed at build, erased at delete.

The fpga_hooks plug-ins call these two functions and nothing else, so the
rules live here, tested once for every Nova release.
"""

from oslo_log import log as logging

from nova_fpga import conf as fpga_conf
from nova_fpga import exception
from nova_fpga import fpga_cli
from nova_fpga import specs

LOG = logging.getLogger(__name__)

# Nova copies every image property into the instance's system metadata
# under this prefix, so the image's properties are known without Glance.
IMAGE_PROPERTY_PREFIX = 'image_'


def image_properties(instance):
    """The instance image's properties, from its system metadata."""
    system_metadata = getattr(instance, 'system_metadata', None) or {}
    return {key[len(IMAGE_PROPERTY_PREFIX):]: value
            for key, value in system_metadata.items()
            if key.startswith(IMAGE_PROPERTY_PREFIX)}


def requested_ip_id(instance, conf=None):
    """The IP core the instance asks for, or None."""
    conf = conf or fpga_conf.CONF
    return specs.get_ip_id(instance.flavor.extra_specs,
                           image_properties(instance),
                           conf.fpga.allow_image_ip_id)


def program_instance_region(instance, conf=None):
    """Burn the IP core the instance asks for; record the region.

    Returns the region id, or None when the instance asks for no IP core.
    Raises FpgaBuildFailed (a FatalHookException, so Nova stops the build
    and reschedules it) naming fpga-cli's error. A region that was burned
    but could not be recorded on the instance is erased again.
    """
    conf = conf or fpga_conf.CONF
    try:
        ip_id = requested_ip_id(instance, conf)
        if ip_id is None:
            return None
        if not conf.fpga_access:
            raise exception.FpgaConfigError(
                'instance asks for IP core %s but this host has no FPGA '
                '(fpga_access is False)' % ip_id)
        region_id = fpga_cli.FpgaCli.from_conf(conf).burn(ip_id)
    except exception.FpgaError as e:
        raise exception.FpgaBuildFailed(
            'Cannot program an FPGA region for instance %s: %s'
            % (instance.uuid, e.message))
    LOG.info('Programmed FPGA region %(region)s with IP core %(ip)s for '
             'instance %(instance)s',
             {'region': region_id, 'ip': ip_id, 'instance': instance.uuid})
    try:
        instance.fpga_device = region_id
        instance.save()
    except Exception as e:
        _erase(instance, region_id, conf)
        raise exception.FpgaBuildFailed(
            'Cannot record FPGA region %s on instance %s: %s'
            % (region_id, instance.uuid, e))
    return region_id


def erase_instance_region(instance, conf=None):
    """Erase the instance's region, if it has one.

    Never raises: a failed erase is logged with the instance and the
    region, and must not block the delete.
    Returns whether a region was erased.
    """
    region_id = getattr(instance, 'fpga_device', None)
    if not region_id:
        return False
    return _erase(instance, region_id, conf or fpga_conf.CONF)


def _erase(instance, region_id, conf):
    try:
        fpga_cli.FpgaCli.from_conf(conf).erase(region_id)
    except exception.FpgaError as e:
        LOG.error('Cannot erase FPGA region %(region)s of instance '
                  '%(instance)s: %(error)s',
                  {'region': region_id, 'instance': instance.uuid,
                   'error': e.message})
        return False
    LOG.info('Erased FPGA region %(region)s of instance %(instance)s',
             {'region': region_id, 'instance': instance.uuid})
    return True
