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
# The Docker compute driver's tests, in the current virtualenv (the docker
# tox environment), as root:
#
# 1. tests/docker under pytest: the driver against a private Docker
#    daemon the tests start, and a real Glance;
# 2. tests/docker/functional under stestr: Nova's in-process services
#    (patched with patches/nova-34.0.0.patch, applied here once) boot FPGA
#    flavors as containers.
#
# Ends with the line "N passed, N failed".
#
# Usage: run-tests.sh WORK_DIR [PYTEST_ARGS...]

set -u

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PATCH=$REPO/patches/nova-34.0.0.patch
WORK=$1
shift
SITE=$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

passed=0
failed=0
started=$SECONDS
mkdir -p "$WORK"

# The environment is reused between runs: patch its Nova once.
if ! patch -d "$SITE" -p1 -R -s -f --dry-run < "$PATCH" > /dev/null; then
    if ! patch -d "$SITE" -p1 -s -f < "$PATCH"; then
        echo "patches/nova-34.0.0.patch does not apply to $SITE/nova"
        echo "0 passed, 1 failed"
        exit 1
    fi
fi

echo "=== pytest tests/docker"
log=$WORK/pytest.log
(cd "$REPO" && python -m pytest -q -p no:cacheprovider \
    -W ignore::DeprecationWarning "${@:-tests/docker}") > "$log" 2>&1
rc=$?
# The daemon's own log lines go to the report of a failing test only.
grep -v '^time="' "$log" | tail -n 60
summary=$(grep -E '^[0-9]+ (passed|failed)|^(=+ )?[0-9]+ (passed|failed)' \
    "$log" | tail -n 1)
p=$(echo "$summary" | sed -n 's/.*\b\([0-9][0-9]*\) passed.*/\1/p')
f=$(echo "$summary" | sed -n 's/.*\b\([0-9][0-9]*\) failed.*/\1/p')
e=$(echo "$summary" | sed -n 's/.*\b\([0-9][0-9]*\) error.*/\1/p')
f=$(( ${f:-0} + ${e:-0} ))
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "pytest exited $rc without counting a failure"
    f=1
fi
passed=$(( passed + ${p:-0} ))
failed=$(( failed + f ))

echo "=== stestr tests/docker/functional"
dir=$WORK/functional
log=$WORK/functional.log
rm -rf "$dir" && mkdir -p "$dir"
(
    cd "$dir" &&
    stestr --test-path="$REPO/tests/docker/functional" --top-dir="$REPO" \
        init > /dev/null &&
    stestr --test-path="$REPO/tests/docker/functional" --top-dir="$REPO" \
        run --concurrency 1
) > "$log" 2>&1
rc=$?
grep -v '\.\.\. ok$' "$log" | grep -v '^time="' | grep -v '^\s*$' |
    tail -n 80
p=$(sed -n 's/^ - Passed: \([0-9]*\)$/\1/p' "$log" | tail -n 1)
f=$(sed -n 's/^ - Failed: \([0-9]*\)$/\1/p' "$log" | tail -n 1)
if [ -z "$p" ] || { [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; }; then
    echo "stestr exited $rc without counting a failure"
    f=$(( ${f:-0} + 1 ))
fi
passed=$(( passed + ${p:-0} ))
failed=$(( failed + ${f:-0} ))

echo "docker tests took $(( SECONDS - started )) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
