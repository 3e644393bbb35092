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
# tox environment): patches the installed nova 34.0.0 with nova-fpga-patch,
# runs Nova's own unit tests of the modules the patch touches (the modules
# given as arguments, minus the baseline failures listed in
# unit-baseline-failures.txt),
# then the functional and patch tests of tests/nova. Ends with the line
# "N passed, N failed, N skipped".
#
# Usage: run-tests.sh WORK_DIR NOVA_TEST_MODULE...

set -u

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BASELINE=$HERE/unit-baseline-failures.txt
WORK=$1
shift
SITE=$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
CONCURRENCY=${NOVA34_CONCURRENCY:-2}

passed=0
failed=0
skipped=0

apply_patch() {
    # All-or-nothing; a no-op when the (reused) environment is patched.
    nova-fpga-patch apply --nova-dir "$SITE" --patches-dir "$REPO/patches"
}

# run_stestr NAME TEST_PATH TOP_DIR STESTR_RUN_ARGS...
run_stestr() {
    local name=$1 test_path=$2 top_dir=$3
    shift 3
    local dir=$WORK/$name log=$WORK/$name.log
    rm -rf "$dir" && mkdir -p "$dir"
    echo "=== $name: stestr run $*"
    (
        cd "$dir" &&
        stestr --test-path="$test_path" --top-dir="$top_dir" init > /dev/null &&
        stestr --test-path="$test_path" --top-dir="$top_dir" run \
            --concurrency "$CONCURRENCY" "$@"
    ) > "$log" 2>&1
    local rc=$?
    # Passing tests are counted below; print everything else.
    grep -v '\.\.\. ok$' "$log" | grep -v '^\s*$' | tail -n 200
    local p f s
    p=$(sed -n 's/^ - Passed: \([0-9]*\)$/\1/p' "$log" | tail -n 1)
    f=$(sed -n 's/^ - Failed: \([0-9]*\)$/\1/p' "$log" | tail -n 1)
    s=$(sed -n 's/^ - Skipped: \([0-9]*\)$/\1/p' "$log" | tail -n 1)
    if [ -z "$p" ] || { [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; }; then
        # No totals, or a failure stestr did not count (discovery).
        echo "$name: stestr exited $rc without counting a failure"
        f=$(( ${f:-0} + 1 ))
    fi
    passed=$(( passed + ${p:-0} ))
    failed=$(( failed + ${f:-0} ))
    skipped=$(( skipped + ${s:-0} ))
}

mkdir -p "$WORK"
started=$SECONDS
if ! apply_patch; then
    echo "nova-fpga-patch could not apply the patch to $SITE/nova"
    echo "0 passed, 1 failed"
    exit 1
fi

modules=""
for module in "$@"; do
    modules="$modules${modules:+|}${module//./\\.}"
done
export OS_NOVA_DISABLE_EVENTLET_PATCHING=${OS_NOVA_DISABLE_EVENTLET_PATCHING:-False}
run_stestr nova-unit "$SITE/nova/tests/unit" "$SITE" \
    --exclude-list "$BASELINE" "^($modules)\\."
run_stestr fpga-nova "$REPO/tests/nova" "$REPO"

echo "nova34 took $(( SECONDS - started )) s"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
