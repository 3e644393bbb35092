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

"""What ``compute_driver = docker.DockerDriver`` loads.

Nova imports ``nova.virt.<compute_driver>`` only, so the patch adds the
package ``nova.virt.docker``, whose attributes are looked up here when
they are first used. Importing the package never imports the driver: a
controller or a host on another driver can carry the patch without the
driver's dependencies.
"""

import importlib

# Attribute of nova.virt.docker -> (module, attribute) it stands for.
DRIVER_CLASSES = {
    'DockerDriver': ('nova_fpga.virt.docker.driver', 'DockerDriver'),
}


def docker_attribute(name):
    """Resolve an attribute of ``nova.virt.docker``.

    Raises AttributeError for unknown names (as a module would) and
    ImportError when the driver cannot be imported, which Nova's driver
    loader reports as "Unable to load the virtualization driver".
    """
    try:
        module_name, attribute = DRIVER_CLASSES[name]
    except KeyError:
        raise AttributeError(
            "module 'nova.virt.docker' has no attribute %r" % name)
    module = importlib.import_module(module_name)
    return getattr(module, attribute)
