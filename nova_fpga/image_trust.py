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

"""Which IP-core images may be burned: ``[fpga] trusted_image_owners``.

A bitstream can damage the FPGA, so a compute host burns only images
whose Glance ``owner`` (the Keystone project ID of the project that
created them) it trusts:

* a project ID listed in ``[fpga] trusted_image_owners``;
* the admin projects: the project of the request building the instance,
  when that request holds the admin role (Nova's ``context_is_admin``
  policy). An admin may burn the IP cores of the project they work in.

``*`` in the list trusts every owner, and the image is then not looked
up at all (simulation with made-up image ids, as the 2016 tool allowed).

The image must also be an IP-core package: container format ``fpga``
and status ``active``. This module needs no Nova; the compute side looks
the image up with Nova's image API (:mod:`nova_fpga.nova.compute`).
"""

from nova_fpga import exception
from nova_fpga import ip_package

TRUST_EVERY_OWNER = '*'


def trusts_every_owner(trusted_owners):
    return TRUST_EVERY_OWNER in (trusted_owners or ())


def check_burnable(image_id, image, trusted_owners, request_project_id,
                   request_is_admin):
    """Raise UnusableFpgaImage unless image may be burned.

    :param image: the image's record (a dict with ``owner``,
        ``container_format`` and ``status``, as Nova's image API gives).
    :param trusted_owners: ``[fpga] trusted_image_owners``.
    :param request_project_id: the project of the building request.
    :param request_is_admin: whether that request holds the admin role.
    """
    if trusts_every_owner(trusted_owners):
        return
    container_format = image.get('container_format')
    if container_format != ip_package.CONTAINER_FORMAT:
        raise exception.UnusableFpgaImage(
            image_id, 'container format %r, not the %r of an FPGA IP core'
            % (container_format, ip_package.CONTAINER_FORMAT))
    if image.get('status') not in (None, 'active'):
        raise exception.UnusableFpgaImage(
            image_id, 'status %r, not \'active\'' % image['status'])
    owner = image.get('owner')
    if owner and owner in trusted_owners:
        return
    if owner and request_is_admin and owner == request_project_id:
        return
    raise exception.UntrustedFpgaImage(image_id, owner)
