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
# Installs the Debian packages a test environment found missing (none:
# nothing to do). Needs root.
#
# Usage: install-missing-packages.sh WHO PACKAGE...
#
# WHO says who needs them in the error without root ("the MariaDB
# tests").

set -euo pipefail

who=$1
shift
if [ $# -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "$who need $*, installed as root" >&2
    exit 1
fi
echo "installing $*"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "$@"
