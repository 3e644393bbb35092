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

"""The installed Nova without the patch, and nova-manage of either.

For the tests of ``nova-manage db sync`` on a database the unpatched
release made (SQLite in tests/nova, MariaDB in tests/mysql).
"""

import os
import shutil
import subprocess
import sys

import nova

from nova_fpga.patching import nova_install

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.realpath(__file__)))))
# The patch nova-fpga-patch picks for the installed Nova.
PATCH = os.path.join(REPO, 'patches', nova_install.find_nova_install(
    os.path.dirname(os.path.dirname(os.path.realpath(
        nova.__file__)))).patch_file_name)
NOVA_MANAGE = os.path.join(os.path.dirname(sys.executable), 'nova-manage')
# nova-manage as a module, for the unpatched copy and for Debian's
# python3-nova, which has no nova-manage script (nova-common has it).
NOVA_MANAGE_CODE = ('import sys; from nova.cmd import manage; '
                    'sys.argv = ["nova-manage"] + sys.argv[1:]; '
                    'sys.exit(manage.main())')


class UnpatchedNovaMixin(object):
    """For a testtools.TestCase setting ``self.unpatched`` and ``self.conf``.

    ``self.unpatched`` is the directory ``revert_patch_into`` filled; the
    commands run with ``unpatched=True`` import Nova from there.
    """

    #: Seconds a command may take.
    command_timeout = 300

    def revert_patch_into(self, directory):
        """A copy of the installed (patched) Nova with the patch reverted."""
        installed = os.path.dirname(nova.__file__)
        shutil.copytree(installed, os.path.join(directory, 'nova'),
                        ignore=shutil.ignore_patterns('__pycache__'))
        with open(PATCH) as patch:
            subprocess.run(['patch', '-p1', '-R', '-s', '-d', directory],
                           stdin=patch, check=True)

    def run_command(self, argv, unpatched=False, ok_codes=(0,)):
        environ = dict(os.environ)
        if unpatched:
            environ['PYTHONPATH'] = self.unpatched
        result = subprocess.run(argv, env=environ, capture_output=True,
                                text=True, timeout=self.command_timeout)
        self.assertIn(result.returncode, ok_codes,
                      '%s failed:\n%s\n%s' % (argv, result.stdout,
                                              result.stderr))
        return result

    def nova_manage(self, *args, unpatched=False, ok_codes=(0,)):
        if unpatched or not os.path.exists(NOVA_MANAGE):
            argv = [sys.executable, '-c', NOVA_MANAGE_CODE]
        else:
            argv = [NOVA_MANAGE]
        return self.run_command(
            argv + ['--config-file', self.conf] + list(args),
            unpatched=unpatched, ok_codes=ok_codes)
