#!/usr/bin/env python3
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

"""Build an FPGA IP-core package for Glance (container format fpga).

The package is a zip of a bitstream, extra files and manifest.json.

Example (the LZO accelerator of the walkthrough)::

    make_ip_package.py --name lzo_compression --version 1.0.0 \\
        --bitstream lzo_compression.bit --file lzo-tools.txt \\
        --board simulated --output lzo_compression.zip \\
        --manifest-output manifest.json

It writes the package and, with --manifest-output, the manifest alone:
the text to set as the image's ``manifest`` property. Needs nova_fpga
(the cloud's virtualenv has it: source the cloud's openrc first).
"""

import argparse
import io
import os
import sys
import zipfile

try:
    from nova_fpga import exception
    from nova_fpga import ip_package
except ImportError:
    sys.exit('make_ip_package.py: error: nova_fpga cannot be imported by '
             '%s: run it with the Python that has nova_fpga (source the '
             'all-in-one cloud\'s openrc, or pip install nova_fpga)'
             % sys.executable)


def _read(path, what):
    try:
        with open(path, 'rb') as stream:
            return stream.read()
    except OSError as e:
        sys.exit('make_ip_package.py: error: cannot read the %s %s: %s'
                 % (what, path, e.strerror))


def build_parser():
    parser = argparse.ArgumentParser(
        prog='make_ip_package.py',
        description='Build an FPGA IP-core package (zip with '
                    'manifest.json) for Glance.')
    parser.add_argument('--name', required=True,
                        help='the IP core\'s name, e.g. lzo_compression')
    parser.add_argument('--version', required=True,
                        help='the IP core\'s version, e.g. 1.0.0')
    parser.add_argument('--bitstream', required=True, metavar='FILE',
                        help='the bitstream file; stored under its base '
                             'name')
    parser.add_argument('--file', action='append', default=[],
                        metavar='FILE', dest='files',
                        help='an extra file (user-space tool, driver); '
                             'stored under its base name; repeatable')
    parser.add_argument('--board',
                        help='the FPGA board the bitstream is built for '
                             '(the reference fpga-cli.py simulates '
                             '"simulated")')
    parser.add_argument('--vendor', help='who built the IP core')
    parser.add_argument('--description', help='what the IP core does')
    parser.add_argument('--output', required=True, metavar='ZIP',
                        help='where to write the package')
    parser.add_argument('--manifest-output', metavar='JSON',
                        help='also write the manifest here (the value of '
                             'the image property "manifest")')
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    bitstream_name = os.path.basename(args.bitstream)
    extra_files = {}
    for path in args.files:
        name = os.path.basename(path)
        if name == bitstream_name or name == ip_package.MANIFEST_NAME:
            sys.exit('make_ip_package.py: error: --file %s has the name of '
                     'the bitstream or of the manifest' % path)
        if name in extra_files:
            sys.exit('make_ip_package.py: error: two --file arguments are '
                     'named %s' % name)
        extra_files[name] = _read(path, 'extra file')
    optional = {key: getattr(args, key)
                for key in ('board', 'vendor', 'description')
                if getattr(args, key)}
    try:
        package, manifest = ip_package.build_package(
            _read(args.bitstream, 'bitstream'), args.name, args.version,
            bitstream_name=bitstream_name, extra_files=extra_files,
            **optional)
    except exception.InvalidIpPackage as e:
        sys.exit('make_ip_package.py: error: %s' % e)
    # What fpga-cli.py checks before a burn, checked before it is shipped.
    ip_package.IpPackage.from_bytes(package, where=args.output)
    with open(args.output, 'wb') as stream:
        stream.write(package)
    if args.manifest_output:
        # Byte for byte the manifest.json inside the package.
        with zipfile.ZipFile(io.BytesIO(package)) as archive:
            manifest_text = archive.read(ip_package.MANIFEST_NAME)
        with open(args.manifest_output, 'wb') as stream:
            stream.write(manifest_text)
    print('%s: %s %s, bitstream %s (sha256 %s), %d extra file(s)'
          % (args.output, manifest.name, manifest.version,
             manifest.bitstream, manifest.sha256, len(manifest.files)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
