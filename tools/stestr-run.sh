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
# Sourced by the test runners: run_stestr, which runs one stestr suite
# the way Nova's tox.ini does and adds its totals to $passed, $failed and
# $skipped. Uses $WORK (a directory per suite goes there), $CONCURRENCY
# and $PYTHON (default python).

# run_stestr NAME TEST_PATH TOP_DIR STESTR_RUN_ARGS...; sets $skipped_now
run_stestr() {
    local name=$1 test_path=$2 top_dir=$3
    shift 3
    local dir=$WORK/$name log=$WORK/$name.log python=${PYTHON:-python}
    rm -rf "$dir" && mkdir -p "$dir"
    echo "=== $name: stestr run $*"
    (
        cd "$dir" &&
        "$python" -m stestr --test-path="$test_path" --top-dir="$top_dir" \
            init > /dev/null &&
        "$python" -m stestr --test-path="$test_path" --top-dir="$top_dir" \
            run --concurrency "$CONCURRENCY" "$@"
    ) > "$log" 2>&1
    local rc=$?
    # Passing tests are counted below; print everything else.
    grep -v '\.\.\. ok$' "$log" | grep -v '^\s*$' | tail -n 200
    local p f
    p=$(sed -n 's/^ - Passed: \([0-9]*\)$/\1/p' "$log" | tail -n 1)
    f=$(sed -n 's/^ - Failed: \([0-9]*\)$/\1/p' "$log" | tail -n 1)
    skipped_now=$(sed -n 's/^ - Skipped: \([0-9]*\)$/\1/p' "$log" |
        tail -n 1)
    if [ -z "$p" ] || { [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; }; then
        # No totals, or a failure stestr did not count (discovery).
        echo "$name: stestr exited $rc without counting a failure"
        f=$(( ${f:-0} + 1 ))
    fi
    passed=$(( passed + ${p:-0} ))
    failed=$(( failed + ${f:-0} ))
    skipped=$(( skipped + ${skipped_now:-0} ))
}
