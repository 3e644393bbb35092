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

"""Exceptions raised by nova_fpga.

Every message names the offending value, so that an operator reading a
Nova instance fault or a log line knows what to fix.
"""


class FpgaError(Exception):
    """Base class of every nova_fpga error."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class FatalHookException(Exception):
    """Raised by a nova.hooks hook to stop the hooked Nova callable."""


class FpgaBuildFailed(FpgaError, FatalHookException):
    """Programming an instance's region failed; Nova reschedules."""


class FpgaConfigError(FpgaError):
    """The FPGA options of this service are unusable."""


class InvalidFpgaIpId(FpgaError):
    """An FPGA IP id (hw:fpga_ip_id) is not a Glance image UUID."""

    def __init__(self, value, source='hw:fpga_ip_id'):
        super().__init__(
            "Invalid %s %r: it must be the UUID of a Glance image with "
            "container format 'fpga'" % (source, value))
        self.value = value


class ImageIpIdNotAllowed(FpgaError):
    """An image asks for an IP core, which images may not choose here."""

    def __init__(self, image_id, value):
        # Short: Nova keeps 255 characters of an instance fault.
        self.reason = ('it asks for FPGA IP core %s (hw:fpga_ip_id); only '
                       'flavors may ([fpga] allow_image_ip_id)' % value)
        super().__init__('Image %s: %s' % (image_id, self.reason))
        self.image_id = image_id
        self.value = value


class UnusableFpgaImage(FpgaError):
    """The image hw:fpga_ip_id names cannot be burned (missing, not fpga)."""

    def __init__(self, image_id, reason):
        super().__init__("FPGA IP-core image %s cannot be burned: %s"
                         % (image_id, reason))
        self.image_id = image_id
        self.reason = reason


class UntrustedFpgaImage(UnusableFpgaImage):
    """The IP-core image's owner is not a trusted image owner."""

    def __init__(self, image_id, owner):
        super().__init__(
            image_id, 'owner %s is not a trusted FPGA image owner ([fpga] '
            'trusted_image_owners)' % (owner or '(none)'))
        self.owner = owner


class RegionInUse(FpgaError):
    """fpga-cli handed out a region another instance holds."""

    def __init__(self, region_id, holder, instance_uuid):
        super().__init__(
            "fpga-cli handed region %s to instance %s, but instance %s "
            "holds it: refusing it and leaving it programmed"
            % (region_id, instance_uuid, holder))
        self.region_id = region_id
        self.holder = holder


class InvalidRegionId(FpgaError):
    """A region id does not have the form fpga-cli may hand out."""

    def __init__(self, value, reason):
        super().__init__("Invalid FPGA region id %r: %s" % (value, reason))
        self.value = value


class FpgaCliNotFound(FpgaError):
    """The fpga-cli executable (fpga_exec) cannot be run."""


class FpgaCliTimeout(FpgaError):
    """fpga-cli did not finish within [fpga] command_timeout."""


class FpgaCliOutputInvalid(FpgaError):
    """fpga-cli succeeded but printed something outside its contract."""


class FpgaCliError(FpgaError):
    """fpga-cli exited with an error code."""

    def __init__(self, message, exit_code=None, stderr=''):
        super().__init__(message)
        self.exit_code = exit_code
        self.stderr = stderr


class FpgaBurnFailed(FpgaCliError):
    """Programming a region failed (fpga-cli exit code 64)."""


class FpgaRegionUnknown(FpgaCliError):
    """Erase named a region fpga-cli does not know (exit code 33)."""


class FpgaNotAccessible(FpgaCliError):
    """The FPGA cannot be reached (exit code 127)."""


class InvalidIpPackage(FpgaError):
    """An FPGA IP-core package (zip + manifest.json) is unusable."""
