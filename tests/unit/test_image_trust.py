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

"""Which IP-core images may be burned ([fpga] trusted_image_owners)."""

import pytest

from nova_fpga import exception
from nova_fpga import image_trust

IMAGE = 'dd834aa4-f950-40e6-8c23-9dab7f3f0138'
ADMIN_PROJECT = 'a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5'
USER_PROJECT = '0f1e2d3c4b5a69788796a5b4c3d2e1f0'


def image(owner=ADMIN_PROJECT, container_format='fpga', status='active'):
    return {'owner': owner, 'container_format': container_format,
            'status': status}


@pytest.mark.parametrize('owner, trusted, project, is_admin', [
    # Listed owners, whoever builds.
    (ADMIN_PROJECT, [ADMIN_PROJECT], USER_PROJECT, False),
    # An admin building from the project that owns the image.
    (ADMIN_PROJECT, [], ADMIN_PROJECT, True),
    # Every owner.
    (USER_PROJECT, ['*'], USER_PROJECT, False),
])
def test_trusted_images(owner, trusted, project, is_admin):
    image_trust.check_burnable(IMAGE, image(owner), trusted, project,
                               is_admin)


@pytest.mark.parametrize('owner, trusted, project, is_admin', [
    # A user's own image, by default and with other owners listed.
    (USER_PROJECT, [], USER_PROJECT, False),
    (USER_PROJECT, [ADMIN_PROJECT], USER_PROJECT, False),
    # The admin project's image, built by a user of another project.
    (ADMIN_PROJECT, [], USER_PROJECT, False),
    # An admin building from another project than the image's.
    (USER_PROJECT, [], ADMIN_PROJECT, True),
    # A non-admin in the image's project is no admin project.
    (ADMIN_PROJECT, [], ADMIN_PROJECT, False),
    # No owner at all.
    (None, [], ADMIN_PROJECT, True),
])
def test_untrusted_owners_are_refused_naming_image_and_owner(
        owner, trusted, project, is_admin):
    with pytest.raises(exception.UntrustedFpgaImage) as e:
        image_trust.check_burnable(IMAGE, image(owner), trusted, project,
                                   is_admin)
    assert IMAGE in e.value.message
    assert str(owner or '(none)') in e.value.message
    assert 'trusted_image_owners' in e.value.message


@pytest.mark.parametrize('record, named', [
    (image(container_format='bare'), "container format 'bare'"),
    (image(container_format=None), 'container format None'),
    (image(status='queued'), "status 'queued'"),
])
def test_images_that_are_no_ip_core_are_refused(record, named):
    with pytest.raises(exception.UnusableFpgaImage) as e:
        image_trust.check_burnable(IMAGE, record, [ADMIN_PROJECT],
                                   ADMIN_PROJECT, True)
    assert IMAGE in e.value.message and named in e.value.message
