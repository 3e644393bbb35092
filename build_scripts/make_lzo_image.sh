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

# Build the walkthrough's container image (default name ubuntu_lzo) in the
# Docker daemon DOCKER_HOST names, without a registry: a root file system
# of Debian's statically linked busybox (whose lzop is the software LZO
# tool) and lzo-accel, a stand-in for the accelerator's user-space tool,
# imported with "docker import".
#
# Usage: make_lzo_image.sh [IMAGE_NAME]
set -euo pipefail

image=${1:-ubuntu_lzo}
busybox=/bin/busybox

if ! [ -x "$busybox" ] || ! "$busybox" --list >/dev/null 2>&1; then
    echo "make_lzo_image.sh: error: $busybox is missing: install Debian's" \
         "busybox-static" >&2
    exit 1
fi
if ldd "$busybox" >/dev/null 2>&1; then
    echo "make_lzo_image.sh: error: $busybox is dynamically linked: install" \
         "Debian's busybox-static (the image has no C library)" >&2
    exit 1
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root/bin" "$root/usr/bin" "$root/tmp" "$root/dev" "$root/proc" \
         "$root/sys" "$root/data"
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done

cat >"$root/usr/bin/lzo-accel" <<'EOF'
#!/bin/sh
# lzo-accel: the LZO accelerator's user tool (a stand-in). Nova's Docker
# driver names the FPGA region the container got in FPGA_DEVICE.
if [ -z "${FPGA_DEVICE:-}" ] || ! [ -c "$FPGA_DEVICE" ]; then
    echo "lzo-accel: no FPGA region device in this container" >&2
    exit 1
fi
if [ $# -eq 0 ]; then
    echo "lzo-accel: LZO accelerator at $FPGA_DEVICE"
    exit 0
fi
# With arguments it is lzop (whose output may be on stdout).
echo "lzo-accel: LZO accelerator at $FPGA_DEVICE" >&2
exec lzop "$@"
EOF
chmod 755 "$root/usr/bin/lzo-accel"

tar --numeric-owner --owner=0 --group=0 -C "$root" -c . |
    docker import \
        --change 'ENV PATH=/usr/bin:/bin' \
        --change 'CMD ["/bin/sleep", "infinity"]' \
        - "$image" >/dev/null
echo "Built the Docker image $image ($(docker image inspect \
    --format '{{.Size}}' "$image") bytes)."
