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

# The fpga-nova all-in-one cloud: up, down, status, restart.
#
# Everything is done by build_scripts/fpga_nova_aio (Python 3 standard
# library only); this wrapper only makes sure a Python 3 is there on a
# fresh Debian machine, which may lack even that. "aio.sh --help" lists
# the commands and options.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ "$(id -u)" -ne 0 ]; then
    echo "aio.sh: error: run as root (it installs Debian packages and" \
         "starts services)" >&2
    exit 1
fi

# Debian's own interpreter: the virtualenv the cloud runs in is made
# from it, and a Python from elsewhere on PATH may lack venv or ensurepip.
python=/usr/bin/python3
if ! [ -x "$python" ] || ! "$python" -c 'import venv, ensurepip' \
        >/dev/null 2>&1; then
    echo "aio.sh: installing python3 and python3-venv with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q python3 python3-venv
fi

# Only the package beside this script: the user's PYTHONPATH has no say.
PYTHONPATH=$here exec "$python" -m fpga_nova_aio "$@"
