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
# What the debian12 tox environment tests, installed with apt, system-wide
# (as root): Debian 12's python3-nova 2:26.2.2 in
# /usr/lib/python3/dist-packages (the package ships Nova's test tree too),
# and the Debian packages Nova's tests import: Placement (for Nova's
# Placement fixture), stestr and the test libraries. Idempotent: apt runs
# only when one of them is missing, and nothing is upgraded.
#
# Debian puts Nova's api-paste.ini in nova-common, whose maintainer
# scripts set up a Nova service (a user, /etc/nova, a database
# configuration); the tests only need the file, so it is taken out of
# that package (without installing it) into ENV_DIR/etc/nova, where the
# functional tests look for it.
#
# Usage: install-packages.sh ENV_DIR

set -euo pipefail

ENV_DIR=$1
NOVA_UPSTREAM_VERSION=26.2.2
PACKAGES=(
    python3-nova
    python3-placement
    python3-stestr
    python3-subunit
    python3-testtools
    python3-testscenarios
    python3-testresources
    python3-fixtures
    python3-oslotest
    python3-ddt
    python3-requests-mock
    python3-wsgi-intercept
    python3-gabbi
    python3-osprofiler
    python3-barbicanclient
    python3-ironicclient
    python3-oslo.vmware
    python3-hacking
    python3-pymysql
    python3-psycopg2
    patch
)

installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = \
        'install ok installed' ]
}

missing=()
for package in "${PACKAGES[@]}"; do
    installed "$package" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing with apt: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -q
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
        "${missing[@]}"
fi

version=$(dpkg-query -W -f='${Version}' python3-nova)
case $version in
    *:"$NOVA_UPSTREAM_VERSION"-*) ;;
    *)
        echo "python3-nova $version is installed, not $NOVA_UPSTREAM_VERSION"
        exit 1
        ;;
esac
echo "python3-nova $version"

paste_ini=$ENV_DIR/etc/nova/api-paste.ini
if [ ! -f "$paste_ini" ]; then
    download=$(mktemp -d)
    trap 'rm -rf "$download"' EXIT
    # apt downloads as its own user.
    chmod 755 "$download"
    (cd "$download" && apt-get download -q "nova-common=$version")
    dpkg-deb --fsys-tarfile "$download"/nova-common_*.deb |
        tar -x -C "$download" ./usr/share/nova-common/api-paste.ini
    install -D -m 644 "$download/usr/share/nova-common/api-paste.ini" \
        "$paste_ini"
fi
