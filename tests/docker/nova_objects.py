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

"""Real Nova objects (Instance, Flavor, ImageMeta) for driver tests.

They are built the way the compute manager hands them to a driver: the
image's properties copied into the instance's system metadata with the
``image_`` prefix, the flavor loaded, no database behind them.
"""

import itertools

import nova.conf
from nova import objects
from nova import utils
from oslo_utils import uuidutils

CONF = nova.conf.CONF

_instance_ids = itertools.count(1)


def image_record(image_id, container_format='docker', properties=None):
    return {'id': image_id, 'name': 'test-image',
            'container_format': container_format, 'disk_format': 'raw',
            'status': 'active', 'min_ram': 0, 'min_disk': 0,
            'properties': dict(properties or {})}


def make_instance(image_id, properties=None, container_format='docker',
                  vcpus=1, memory_mb=64, swap=0, fpga_device=None):
    """(instance, image_meta) for a boot of image_id on this host."""
    record = image_record(image_id, container_format, properties)
    flavor = objects.Flavor(
        id=1, flavorid='docker-test', name='docker-test', vcpus=vcpus,
        memory_mb=memory_mb, root_gb=1, ephemeral_gb=0, swap=swap,
        extra_specs={})
    instance_id = next(_instance_ids)
    instance = objects.Instance(
        id=instance_id, uuid=uuidutils.generate_uuid(),
        hostname='docker-test-%d' % instance_id,
        host=CONF.host, node=CONF.host, image_ref=image_id,
        flavor=flavor, vcpus=vcpus, memory_mb=memory_mb,
        project_id='test-project', user_id='test-user',
        system_metadata=utils.get_system_metadata_from_image(record))
    if fpga_device is not None:
        instance.fpga_device = fpga_device
    return instance, objects.ImageMeta.from_dict(record)
