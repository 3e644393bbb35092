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

"""Errors of the patch tool.

Each message is complete on its own: the command line prints it as is, so
it names the directory, file or version involved and, where there is one,
what the operator can do about it.
"""

from nova_fpga import exception


class PatchToolError(exception.FpgaError):
    """Base class of every error the patch tool reports."""


class NovaNotFound(PatchToolError):
    """There is no nova package where one was looked for."""


class NovaVersionUnknown(PatchToolError):
    """A nova package was found but its version cannot be read."""


class UnsupportedNovaVersion(PatchToolError):
    """No patch file was made for the Nova that was found."""

    def __init__(self, install, patches_dir, supported):
        lines = ["Nova %s (%s in %s) is not supported: there is no %s in %s."
                 % (install.package_version, install.version_source,
                    install.nova_dir, install.patch_file_name, patches_dir)]
        if supported:
            lines.append('Supported Nova releases:')
            lines.extend('  %-24s %s'
                         % (release.description, release.file_name)
                         for release in supported)
        else:
            lines.append('That directory holds no patch files at all.')
        super().__init__('\n'.join(lines))
        self.install = install
        self.supported = supported


class ShippedDataNotFound(PatchToolError):
    """The patch files or the rootwrap filter file are not installed."""


class MalformedPatch(PatchToolError):
    """A patch file is not a unified diff the tool can take apart."""


class PatchCommandError(PatchToolError):
    """GNU patch cannot be run, or failed in a way it should not have."""


class TreeNotWritable(PatchToolError):
    """Files the patch changes cannot be written by this user."""


class RootwrapDirError(PatchToolError):
    """The rootwrap filter directory is unusable."""
