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

# Walk through the fpga-cli contract on a simulated 2-region FPGA whose
# state and device nodes live in a temporary directory (removed at exit).
set -u

FPGA_CLI=${FPGA_CLI:-fpga-cli.py}
work=$(mktemp -d -t fpga-cli-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
export FPGA_CLI_STATE_DIR=$work/state FPGA_CLI_DEV_DIR=$work/dev \
    FPGA_CLI_REGIONS=2
unset FPGA_ERROR OS_CLOUD OS_AUTH_URL OS_IMAGE_URL

IP_CORE=dd834aa4-f950-40e6-8c23-9dab7f3f0138
failures=0

# run EXPECTED_EXIT_CODE COMMAND...: show the command, its output and exit
# code, and count a different exit code as a failure.
run() {
    local expected=$1 code
    shift
    echo "\$ $*"
    "$@" 2>&1
    code=$?
    echo "  (exit code $code)"
    if [ "$code" -ne "$expected" ]; then
        echo "  UNEXPECTED: wanted exit code $expected" >&2
        failures=$((failures + 1))
    fi
}

run 0 "$FPGA_CLI" status
first=$("$FPGA_CLI" burn "$IP_CORE")
echo "\$ $FPGA_CLI burn $IP_CORE"
echo "$first"
run 0 "$FPGA_CLI" status
second=$("$FPGA_CLI" burn "$IP_CORE")
echo "\$ $FPGA_CLI burn $IP_CORE"
echo "$second"
run 64 "$FPGA_CLI" burn "$IP_CORE"
run 0 "$FPGA_CLI" status --json
run 0 "$FPGA_CLI" erase "$first"
run 33 "$FPGA_CLI" erase "$first"
run 0 "$FPGA_CLI" erase "$second"
run 0 "$FPGA_CLI" status
run 127 env FPGA_ERROR=1 "$FPGA_CLI" status

if [ "$failures" -ne 0 ]; then
    echo "$failures step(s) did not behave as the contract says" >&2
    exit 1
fi
echo "Every step kept the fpga-cli contract."
