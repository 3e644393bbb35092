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

"""Tests that need a patched Nova: its own services, its own unit tests."""

# First, as in Nova's own test packages: oslo.db keeps its transactions per
# thread, and green threads must not share them (a build runs its FPGA
# work in a thread beside its own database work).
from nova import monkey_patch  # noqa: E402

if hasattr(monkey_patch, 'patch'):
    # Nova 33 and later; importing the module patches in earlier ones.
    monkey_patch.patch()
