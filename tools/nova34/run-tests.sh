#!/bin/bash
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
#
# Proves patches/nova-34.0.0.patch in the current virtualenv (the nova34
# tox environment) with the runner every nova* environment shares
# (tools/run-nova-tests.sh): patches the installed nova 34.0.0 with
# nova-fpga-patch, runs Nova's own unit tests of the modules the patch
# touches (the modules given as arguments, minus the baseline failures
# listed in unit-baseline-failures.txt), then the functional and patch
# tests of tests/nova. Ends with the line "N passed, N failed, N skipped".
#
# Usage: run-tests.sh WORK_DIR NOVA_TEST_MODULE...

exec bash "$(dirname "$0")/../run-nova-tests.sh" nova34 "$@"
