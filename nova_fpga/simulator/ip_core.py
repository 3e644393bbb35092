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

"""Fetching and verifying the IP core a burn programs.

Kept apart from :mod:`nova_fpga.simulator.cli`, which imports it only
for a burn that must fetch a package: ``status`` and ``erase``, which
Nova runs far more often, do not pay for importing the package checks
and the Glance client (about a second).
"""

import logging
import warnings

from nova_fpga import glance_credentials
from nova_fpga import ip_package


def fetch_verified_manifest(environ, image_id):
    """The manifest of image_id's verified package.

    The environment must hold Glance credentials. Raises FpgaError naming
    what is wrong with the image or its package.
    """
    glance_environ = glance_credentials.glance_environment(environ)
    # stderr carries the contract's one error line: the client libraries'
    # warnings and log records must not mix into it.
    warnings.simplefilter('ignore')
    logging.getLogger().addHandler(logging.NullHandler())
    # Imported only now, for the same reason: importing the client
    # libraries can already warn.
    from nova_fpga import glance
    source = glance.image_source_from_environment(glance_environ)
    image = source.get(image_id)
    return ip_package.verify_image(image, source.data(image_id)).manifest
