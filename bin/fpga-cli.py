#!/bin/sh
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

# This file is a shell script and a Python program. The shell part starts
# the Python installed beside it (else python3 on PATH) without the site
# module: on a Nova host, site reads the .pth files of all of Nova's
# dependencies, which costs more than the status call that Nova polls.
# setuptools and pip rewrite a first line only when it names python, so
# this one stays as it is.
''''true
here=${0%/*}
if [ "$here" != "$0" ] && [ -x "$here/python3" ]; then
    exec "$here/python3" -S "$0" "$@"
fi
exec python3 -S "$0" "$@"
'''

# Reference fpga-cli: burn, erase and status over a simulated FPGA. A
# vendor tool that keeps the same contract can replace it (fpga_exec).

import os
import sys


class _SiteOnDemand(object):
    """The last import finder: runs site once, when an import needs it.

    Without site, only the virtualenv's site-packages is on sys.path. A
    module found elsewhere (an editable install's .pth file, the system's
    packages) costs site's usual work, once, at its first import.
    """

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        sys.meta_path.remove(cls)
        import site
        site.main()
        import importlib.machinery
        return importlib.machinery.PathFinder.find_spec(name, path, target)


def _find_packages():
    if not sys.flags.no_site:
        return
    prefix = os.path.dirname(os.path.dirname(sys.executable))
    if not os.path.isfile(os.path.join(prefix, 'pyvenv.cfg')):
        # Not a virtualenv: where its packages are is site's to say.
        import site
        site.main()
        return
    sys.path.append(os.path.join(
        prefix, 'lib', 'python%d.%d' % sys.version_info[:2],
        'site-packages'))
    sys.meta_path.append(_SiteOnDemand)


if __name__ == '__main__':
    _find_packages()
    from nova_fpga.simulator import cli
    sys.exit(cli.main())
