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

"""The names the patched Nova exposes, resolved the way Nova resolves them."""

import testtools

from nova.api.validation.extra_specs import validators
from nova import exception
from nova.scheduler import filters

from nova_fpga import hooks as fpga_hooks_facility
from nova_fpga.nova import fpga_filter

IP_ID = 'dd834aa4-f950-40e6-8c23-9dab7f3f0138'


class HooksModuleTest(testtools.TestCase):

    def test_nova_hooks_is_the_restored_facility(self):
        from nova import hooks
        self.assertIs(fpga_hooks_facility.add_hook, hooks.add_hook)
        self.assertIs(fpga_hooks_facility.FatalHookException,
                      hooks.FatalHookException)
        self.assertEqual('nova.hooks', hooks.NS)


class FpgaFilterExposureTest(testtools.TestCase):

    def test_all_filters_offers_fpga_filter_under_its_documented_name(self):
        handler = filters.HostFilterHandler()
        classes = handler.get_matching_classes(
            ['nova.scheduler.filters.all_filters'])
        self.assertIn(fpga_filter.FpgaFilter, classes)
        by_path = handler.get_matching_classes(
            ['nova.scheduler.filters.fpga_filter.FpgaFilter'])
        self.assertEqual([fpga_filter.FpgaFilter], by_path)


class ExtraSpecValidatorTest(testtools.TestCase):
    """Loaded from nova_fpga's nova.api.extra_spec_validators entry point."""

    def setUp(self):
        super().setUp()
        validators.load_validators()

    def test_ip_id_validator_is_registered(self):
        self.assertIsNotNone(validators.VALIDATORS.get('hw:fpga_ip_id'),
                             'no validator for hw:fpga_ip_id: is the '
                             'nova.api.extra_spec_validators entry point of '
                             'nova_fpga installed?')

    def test_uuid_is_valid(self):
        validators.validate('hw:fpga_ip_id', IP_ID)

    def test_malformed_value_is_refused_naming_it(self):
        ex = self.assertRaises(exception.ValidationError,
                               validators.validate, 'hw:fpga_ip_id',
                               'lzo-compression')
        self.assertIn('lzo-compression', str(ex))


class DockerDriverShimTest(testtools.TestCase):

    def test_shim_imports_without_the_driver(self):
        import nova.virt.docker as shim
        self.assertRaises(AttributeError, getattr, shim, 'NoSuchDriver')

    def test_docker_driver_resolves_to_nova_fpga_driver(self):
        import nova.virt.docker as shim
        try:
            from nova_fpga.virt.docker import driver
        except ImportError:
            # The driver (or what it needs) is not installed: Nova's loader
            # reports the ImportError as "Unable to load the virtualization
            # driver" and the compute service stops.
            self.assertRaises(ImportError, getattr, shim, 'DockerDriver')
        else:
            self.assertIs(driver.DockerDriver, shim.DockerDriver)
