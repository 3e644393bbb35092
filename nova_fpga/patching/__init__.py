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

"""Applying the fpga-nova patch to an installed Nova.

The command line lives in :mod:`nova_fpga.patch_tool`; this package holds
what it is made of, one concept a module:

* :mod:`.nova_install` finds the ``nova`` package, reads its version and
  names the patch file made for it;
* :mod:`.shipped_data` finds the patch files and the rootwrap filter file
  installed with ``nova_fpga`` (or in a source checkout);
* :mod:`.unified_diff` splits a patch into its per-file parts;
* :mod:`.nova_tree` asks GNU patch whether the patch is applied, and applies
  or reverts it all-or-nothing;
* :mod:`.rootwrap_filters` installs and removes the filter file that lets
  Nova run fpga-cli as root.
"""
