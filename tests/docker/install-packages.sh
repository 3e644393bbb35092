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
# Installs the Debian packages the Docker driver tests need, when missing:
# docker.io (dockerd; the tests start a private daemon of their own),
# busybox-static (the root file system of the test images) and patch
# (the end-to-end tests patch the environment's Nova). Needs root, as the
# tests do. apt does not start the system's Docker service here
# (policy-rc.d), and the tests never use it.

set -euo pipefail

missing=()
command -v dockerd > /dev/null || missing+=(docker.io)
command -v patch > /dev/null || missing+=(patch)
# The statically linked busybox: the test images have no libraries.
if ! { [ -x /bin/busybox ] && ! ldd /bin/busybox > /dev/null 2>&1; }; then
    missing+=(busybox-static)
fi

exec bash "$(dirname "$0")/../../tools/install-missing-packages.sh" \
    "the Docker driver tests" ${missing[@]+"${missing[@]}"}
