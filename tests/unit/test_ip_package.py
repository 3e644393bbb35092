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

import hashlib
import json
import types

import pytest

from nova_fpga import exception
from nova_fpga import ip_package
from tests import zips

BITSTREAM = b'\x00\x01bitstream' * 100


def package(**overrides):
    data, manifest = ip_package.build_package(
        BITSTREAM, 'lzo_compression', '1.0.0', bitstream_name='lzo.bit',
        extra_files={'tools/lzo-test': b'#!/bin/sh\n'}, board='simulated',
        description='LZO compression')
    return data, manifest


def manifest_dict(**changes):
    data = {'name': 'lzo', 'version': '1', 'bitstream': 'lzo.bit',
            'sha256': hashlib.sha256(BITSTREAM).hexdigest()}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def image(data_manifest=None, container_format='fpga'):
    properties = {}
    if data_manifest is not None:
        properties['manifest'] = data_manifest
    return types.SimpleNamespace(id='img-1', container_format=container_format,
                                 properties=properties)


def test_built_package_verifies():
    data, manifest = package()
    opened = ip_package.IpPackage.from_bytes(data)
    assert opened.manifest == manifest
    assert opened.bitstream == BITSTREAM
    assert manifest.files == ('tools/lzo-test',)


def test_verify_image_accepts_a_matching_manifest_property():
    data, manifest = package()
    result = ip_package.verify_image(
        image(json.dumps(manifest.to_dict())), data)
    assert result.manifest.name == 'lzo_compression'


def test_verify_image_without_manifest_property_uses_the_package():
    data, _ = package()
    assert ip_package.verify_image(image(), data).bitstream == BITSTREAM


@pytest.mark.parametrize('members, message', [
    ({'lzo.bit': BITSTREAM}, 'has no manifest.json'),
    ({'manifest.json': 'not json', 'lzo.bit': BITSTREAM},
     'is not valid JSON'),
    ({'manifest.json': '[1, 2]', 'lzo.bit': BITSTREAM},
     'must be a JSON object'),
    ({'manifest.json': json.dumps(manifest_dict(sha256=None)),
      'lzo.bit': BITSTREAM}, 'lacks the field(s) sha256'),
    ({'manifest.json': json.dumps(manifest_dict(sha256='abc')),
      'lzo.bit': BITSTREAM}, "sha256 'abc' is not 64"),
    ({'manifest.json': json.dumps(manifest_dict(name='')),
      'lzo.bit': BITSTREAM}, "field 'name' must be a non-empty string"),
    ({'manifest.json': json.dumps(manifest_dict()), 'lzo.bit': b'evil'},
     "bitstream 'lzo.bit' has sha256 %s, but its manifest says"
     % hashlib.sha256(b'evil').hexdigest()),
    ({'manifest.json': json.dumps(manifest_dict())}, "lacks 'lzo.bit'"),
    ({'manifest.json': json.dumps(manifest_dict(files=['x'])),
      'lzo.bit': BITSTREAM}, "lacks 'x'"),
    ({'manifest.json': json.dumps(manifest_dict(files='x')),
      'lzo.bit': BITSTREAM}, 'must be a list of file names'),
    ({'manifest.json': json.dumps(manifest_dict()), 'lzo.bit': BITSTREAM,
      '../../etc/cron.d/x': 'evil'}, "'../../etc/cron.d/x', which escapes"),
    ({'manifest.json': json.dumps(manifest_dict()), 'lzo.bit': BITSTREAM,
      '/etc/passwd': 'evil'}, "'/etc/passwd', which escapes"),
    ({'manifest.json': json.dumps(manifest_dict(bitstream='../lzo.bit')),
      'lzo.bit': BITSTREAM}, "'../lzo.bit', which escapes"),
])
def test_bad_packages_are_refused_with_the_reason(members, message):
    with pytest.raises(exception.InvalidIpPackage) as e:
        ip_package.IpPackage.from_bytes(zips.zip_of(members), where='image X')
    assert message in e.value.message
    assert e.value.message.startswith('image X')


def test_not_a_zip_is_refused():
    with pytest.raises(exception.InvalidIpPackage, match='not a zip'):
        ip_package.IpPackage.from_bytes(b'docker save output')


def test_wrong_container_format_is_refused():
    data, _ = package()
    with pytest.raises(exception.InvalidIpPackage) as e:
        ip_package.verify_image(image(container_format='docker'), data)
    assert "container format 'docker', not 'fpga'" in e.value.message


def test_manifest_property_must_match_the_package():
    data, manifest = package()
    other = dict(manifest.to_dict(), version='2.0.0')
    with pytest.raises(exception.InvalidIpPackage, match='does not match'):
        ip_package.verify_image(image(json.dumps(other)), data)


def test_unparseable_manifest_property_is_named():
    data, _ = package()
    with pytest.raises(exception.InvalidIpPackage) as e:
        ip_package.verify_image(image('{broken'), data)
    assert 'image img-1 property manifest is not valid JSON' in (
        e.value.message)
