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
# The patched Nova's main database on MariaDB, in the current virtualenv
# (the nova34-mysql tox environment):
#
# 1. starts Debian's mariadbd by hand, private to this run: its own data
#    directory, socket and pid file under WORK_DIR, listening on
#    127.0.0.1 at a free port; creates the user Nova's opportunistic
#    database tests look for (openstack_citest, password openstack_citest,
#    allowed to create and drop databases, and the openstack_citest
#    database), and points them at this server with
#    OS_TEST_DBAPI_ADMIN_CONNECTION;
# 2. applies patches/nova-34.0.0.patch (nova-fpga-patch, a no-op when the
#    reused environment is patched);
# 3. runs Nova's own MySQL migration walk and model/migration sync tests
#    of the main database, which must not be skipped;
# 4. runs tests/mysql: "nova-manage db sync" of the patch on a MariaDB
#    database that unpatched Nova created and filled;
# 5. stops the server by the pid it wrote.
#
# Ends with the line "N passed, N failed".
#
# Usage: run-tests.sh WORK_DIR

set -u

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WORK=$1
SITE=$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
MARIADB=$WORK/mariadb
SOCKET=$MARIADB/mariadb.sock
PIDFILE=$MARIADB/mariadb.pid
CONCURRENCY=${NOVA_TESTS_CONCURRENCY:-2}

passed=0
skipped=0
failed=0
started=$SECONDS

finish() {
    echo "nova34-mysql took $(( SECONDS - started )) s"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

stop_mariadb() {
    local pid
    pid=$(cat "$PIDFILE" 2>/dev/null) || return 0
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
}

start_mariadb() {
    rm -rf "$MARIADB" && mkdir -p "$MARIADB/data"
    local as_root=()
    [ "$(id -u)" -eq 0 ] && as_root=(--user=root)
    mariadb-install-db --no-defaults "${as_root[@]}" \
        --datadir="$MARIADB/data" --auth-root-authentication-method=normal \
        --skip-test-db > "$MARIADB/install.log" 2>&1 || {
        cat "$MARIADB/install.log"; return 1; }
    PORT=$(python -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # Its own session: stopped by pid, never together with this shell.
    setsid mariadbd --no-defaults "${as_root[@]}" \
        --datadir="$MARIADB/data" --socket="$SOCKET" --pid-file="$PIDFILE" \
        --bind-address=127.0.0.1 --port="$PORT" --skip-name-resolve \
        --max-connections=1000 --log-error="$MARIADB/error.log" \
        < /dev/null > /dev/null 2>&1 &
    for _ in $(seq 600); do
        if mariadb-admin --no-defaults --socket="$SOCKET" -uroot ping \
                > /dev/null 2>&1; then
            break
        fi
        sleep 0.1
    done
    mariadb --no-defaults --socket="$SOCKET" -uroot -e "
        CREATE USER 'openstack_citest'@'%' IDENTIFIED BY 'openstack_citest';
        GRANT ALL PRIVILEGES ON *.* TO 'openstack_citest'@'%'
            WITH GRANT OPTION;
        CREATE DATABASE openstack_citest;" || {
        tail -n 30 "$MARIADB/error.log"; return 1; }
    export OS_TEST_DBAPI_ADMIN_CONNECTION="mysql+pymysql://openstack_citest:openstack_citest@127.0.0.1:$PORT/"
    echo "MariaDB $(mariadbd --version | awk '{print $3}') on 127.0.0.1:$PORT"
}

. "$REPO/tools/stestr-run.sh"

mkdir -p "$WORK"
trap stop_mariadb EXIT
if ! start_mariadb; then
    echo "MariaDB did not start"
    failed=1
    finish
fi
if ! python -m nova_fpga.patch_tool apply --nova-dir "$SITE" \
        --patches-dir "$REPO/patches"
then
    echo "nova-fpga-patch could not apply the patch to $SITE/nova"
    failed=1
    finish
fi

export OS_NOVA_DISABLE_EVENTLET_PATCHING=${OS_NOVA_DISABLE_EVENTLET_PATCHING:-False}
run_stestr nova-mysql "$SITE/nova/tests/unit" "$SITE" \
    '^nova\.tests\.unit\.db\.main\.test_migrations\.(TestModelsSyncMySQL|TestMigrationsWalkMySQL)\.'
if [ "${skipped_now:-0}" -ne 0 ]; then
    # Opportunistic tests skip when they cannot reach the database.
    echo "nova-mysql: $skipped_now MySQL tests skipped instead of running"
    failed=$(( failed + skipped_now ))
fi
run_stestr fpga-nova-mysql "$REPO/tests/mysql" "$REPO"
if [ "${skipped_now:-0}" -ne 0 ]; then
    echo "fpga-nova-mysql: $skipped_now tests skipped instead of running"
    failed=$(( failed + skipped_now ))
fi
finish
