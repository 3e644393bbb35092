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

"""Where fpga-cli finds Glance credentials, if anywhere.

Answered without importing the OpenStack client libraries (about a second
of start-up): fpga-cli asks on every burn, and most burns in simulation
have no Glance at all.

In order:

1. ``OS_IMAGE_URL`` and ``OS_AUTH_TOKEN``: a Glance used directly with
   that token (a Glance without Keystone).
2. ``OS_CLOUD``, ``OS_AUTH_URL`` or ``OS_AUTH_TYPE``: the variables every
   OpenStack client reads (with ``clouds.yaml`` for ``OS_CLOUD``).
3. A cloud named ``fpga-cli`` in a ``clouds.yaml`` at the standard places
   (``./clouds.yaml``, ``~/.config/openstack/clouds.yaml``,
   ``/etc/openstack/clouds.yaml``). This is how Nova's fpga-cli gets
   credentials: rootwrap and sudo clear the environment.
"""

import os

DEDICATED_CLOUD = 'fpga-cli'
_CREDENTIAL_VARIABLES = ('OS_CLOUD', 'OS_AUTH_URL', 'OS_AUTH_TYPE')


def clouds_yaml_paths(environ):
    """The clouds.yaml files OpenStack clients read, in their order."""
    home = environ.get('HOME') or os.path.expanduser('~')
    paths = [os.path.join(os.getcwd(), 'clouds.yaml'),
             os.path.join(home, '.config', 'openstack', 'clouds.yaml'),
             '/etc/openstack/clouds.yaml']
    if environ.get('OS_CLIENT_CONFIG_FILE'):
        paths.insert(0, environ['OS_CLIENT_CONFIG_FILE'])
    return paths


def glance_environment(environ):
    """The environment to reach Glance with, or None without credentials."""
    if environ.get('OS_IMAGE_URL') and environ.get('OS_AUTH_TOKEN'):
        return environ
    if any(environ.get(name) for name in _CREDENTIAL_VARIABLES):
        return environ
    for path in clouds_yaml_paths(environ):
        if _defines_cloud(path, DEDICATED_CLOUD):
            return dict(environ, OS_CLOUD=DEDICATED_CLOUD,
                        OS_CLIENT_CONFIG_FILE=path)
    return None


def _defines_cloud(path, name):
    try:
        with open(path) as clouds_yaml:
            text = clouds_yaml.read()
    except OSError:
        return False
    # Only a file that mentions the name is parsed.
    if name not in text:
        return False
    import yaml
    try:
        clouds = (yaml.safe_load(text) or {}).get('clouds') or {}
    except (yaml.YAMLError, AttributeError):
        return False
    return name in clouds
