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

import pytest

from nova_fpga import exception
from nova_fpga import specs

IP = 'dd834aa4-f950-40e6-8c23-9dab7f3f0138'
OTHER_IP = '064704cb-b416-4acf-b149-b7272e1a9a20'


def test_flavor_ip_id_is_returned_lower_case():
    assert specs.get_ip_id({'hw:fpga_ip_id': IP.upper()}) == IP


def test_no_ip_id_anywhere_is_none():
    assert specs.get_ip_id({'hw:cpu_policy': 'dedicated'}, {}) is None
    assert specs.get_ip_id(None, None) is None


def test_image_ip_id_is_ignored_unless_allowed():
    assert specs.get_ip_id({}, {'hw:fpga_ip_id': IP}) is None
    assert specs.get_ip_id({}, {'hw:fpga_ip_id': IP},
                           allow_image_ip_id=True) == IP


def test_flavor_wins_over_image():
    assert specs.get_ip_id({'hw:fpga_ip_id': IP}, {'hw:fpga_ip_id': OTHER_IP},
                           allow_image_ip_id=True) == IP


@pytest.mark.parametrize('value', [
    'lzo', '', ' ' + IP, IP + '\n', IP[:-1], IP + '0', IP.replace('-', ''),
    '../../etc/passwd', 42, None])
def test_malformed_ip_id_is_refused_naming_it(value):
    with pytest.raises(exception.InvalidFpgaIpId) as e:
        specs.validate_ip_id(value)
    assert repr(value) in e.value.message
    assert e.value.value == value


def test_error_says_where_the_value_came_from():
    with pytest.raises(exception.InvalidFpgaIpId) as e:
        specs.get_ip_id({}, {'hw:fpga_ip_id': 'bad'}, allow_image_ip_id=True)
    assert 'image property hw:fpga_ip_id' in e.value.message
    with pytest.raises(exception.InvalidFpgaIpId) as e:
        specs.get_ip_id({'hw:fpga_ip_id': 'bad'})
    assert 'flavor extra spec hw:fpga_ip_id' in e.value.message
