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
# Installs what the MariaDB tests need, when missing: Debian's
# mariadb-server (mariadbd; the tests start a private server of their own
# on 127.0.0.1) and patch. Needs root. apt does not start the system's
# MariaDB service here (policy-rc.d), and the tests never use it.

set -euo pipefail

missing=()
command -v mariadbd > /dev/null || [ -x /usr/sbin/mariadbd ] ||
    missing+=(mariadb-server)
command -v patch > /dev/null || missing+=(patch)

exec bash "$(dirname "$0")/../../tools/install-missing-packages.sh" \
    "the MariaDB tests" ${missing[@]+"${missing[@]}"}
