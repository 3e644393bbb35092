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
# Proves the patch of one supported Nova release in the current Python
# environment (a nova* tox environment): patches the nova package this
# Python imports with nova-fpga-patch (which picks the patch file for its
# version and packaging), runs Nova's own unit tests of the modules the
# patch touches (the modules given as arguments, minus the baseline
# failures listed in tools/TARGET/unit-baseline-failures.txt), then the
# functional and patch tests of tests/nova. Ends with the line
# "N passed, N failed, N skipped".
#
# Usage: run-nova-tests.sh TARGET WORK_DIR NOVA_TEST_MODULE...
#
# TARGET names the directory of tools/ holding the target's baseline
# failures (nova34, debian12, ...).
#
# With NOVA_TESTS_BASELINE=1 (tox passes it on) it finds the baseline
# instead: it takes the patch out again, runs the same selection of
# Nova's unit tests on the unpatched release without exclusions, and
# lists the tests that fail there (WORK_DIR/baseline-failures.txt), for
# unit-baseline-failures.txt with their reasons.

set -u

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
TARGET=$1
WORK=$2
shift 2
BASELINE=$HERE/$TARGET/unit-baseline-failures.txt
PYTHON=${PYTHON:-python}
# The directory holding the nova package this Python imports (a
# virtualenv's site-packages, or a distribution's dist-packages), found
# without importing Nova.
NOVA_DIR=$("$PYTHON" -c 'import importlib.util, os
spec = importlib.util.find_spec("nova")
print(os.path.dirname(os.path.dirname(spec.origin)))')
CONCURRENCY=${NOVA_TESTS_CONCURRENCY:-${NOVA34_CONCURRENCY:-2}}

passed=0
failed=0
skipped=0

apply_patch() {
    # All-or-nothing; a no-op when the (reused) environment is patched.
    nova-fpga-patch apply --nova-dir "$NOVA_DIR" --patches-dir "$REPO/patches"
}

. "$HERE/stestr-run.sh"

modules=""
for module in "$@"; do
    modules="$modules${modules:+|}${module//./\\.}"
done
export OS_NOVA_DISABLE_EVENTLET_PATCHING=${OS_NOVA_DISABLE_EVENTLET_PATCHING:-False}
mkdir -p "$WORK"
started=$SECONDS

if [ "${NOVA_TESTS_BASELINE:-0}" = 1 ]; then
    nova-fpga-patch revert --nova-dir "$NOVA_DIR" \
        --patches-dir "$REPO/patches"
    if nova-fpga-patch status --nova-dir "$NOVA_DIR" \
            --patches-dir "$REPO/patches" > /dev/null; then
        echo "the patch is still applied to $NOVA_DIR/nova"
        exit 1
    fi
    run_stestr nova-unit-unpatched "$NOVA_DIR/nova/tests/unit" "$NOVA_DIR" \
        "^($modules)\\."
    (cd "$WORK/nova-unit-unpatched" &&
        "$PYTHON" -m stestr failing --list 2>/dev/null) |
        sed 's/\[.*\]$//' | sort > "$WORK/baseline-failures.txt"
    echo "Failing on the unpatched release ($WORK/baseline-failures.txt):"
    cat "$WORK/baseline-failures.txt"
    echo "$TARGET baseline took $(( SECONDS - started )) s"
    echo "$passed passed, $failed failed, $skipped skipped"
    exit 0
fi

if ! apply_patch; then
    echo "nova-fpga-patch could not apply the patch to $NOVA_DIR/nova"
    echo "0 passed, 1 failed"
    exit 1
fi

run_stestr nova-unit "$NOVA_DIR/nova/tests/unit" "$NOVA_DIR" \
    --exclude-list "$BASELINE" "^($modules)\\."
run_stestr fpga-nova "$REPO/tests/nova" "$REPO"

echo "$TARGET took $(( SECONDS - started )) s"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
