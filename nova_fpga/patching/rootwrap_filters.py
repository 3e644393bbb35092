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

"""The rootwrap filter file that lets Nova run fpga-cli as root.

Nova's own filters only allow privsep-helper. nova-rootwrap reads every
file in the directories its ``filters_path`` names (``/etc/nova/rootwrap.d``
by default), so installing ours there is all it takes. What runs as root is
decided by these files: the installed copy is made readable by all and
writable by its owner only, whatever the umask.
"""

import filecmp
import os
import tempfile

from nova_fpga.patching import exception
from nova_fpga.patching import shipped_data

INSTALLED = 'installed'
NOT_INSTALLED = 'not installed'
DIFFERENT = 'installed, but differs from the shipped file'

_MODE = 0o644


def installed_path(rootwrap_dir):
    return os.path.join(rootwrap_dir, shipped_data.FILTERS_FILE_NAME)


def state(source, rootwrap_dir):
    target = installed_path(rootwrap_dir)
    if not os.path.lexists(target):
        return NOT_INSTALLED
    if os.path.isfile(target) and filecmp.cmp(source, target, shallow=False):
        return INSTALLED
    return DIFFERENT


def check_usable(rootwrap_dir):
    """Fail early, before the Nova tree is touched, on a bad directory."""
    if not os.path.isdir(rootwrap_dir):
        raise exception.RootwrapDirError(
            'the rootwrap filter directory %s does not exist; name the '
            'directory nova-rootwrap reads (filters_path in '
            'rootwrap.conf, usually /etc/nova/rootwrap.d)' % rootwrap_dir)
    if not os.access(rootwrap_dir, os.W_OK | os.X_OK):
        raise exception.RootwrapDirError(
            'this user (uid %d) cannot write the rootwrap filter directory '
            '%s' % (os.geteuid(), rootwrap_dir))


def install(source, rootwrap_dir):
    """Copy the filter file into ``rootwrap_dir``; return its path.

    The copy is written aside and renamed into place, so nova-rootwrap
    never reads half a file.
    """
    check_usable(rootwrap_dir)
    target = installed_path(rootwrap_dir)
    try:
        with open(source, 'rb') as shipped:
            content = shipped.read()
        handle, temporary = tempfile.mkstemp(
            dir=rootwrap_dir, prefix='.%s.' % shipped_data.FILTERS_FILE_NAME)
        try:
            with os.fdopen(handle, 'wb') as copy:
                copy.write(content)
            os.chmod(temporary, _MODE)
            os.replace(temporary, target)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as error:
        raise exception.RootwrapDirError(
            'cannot install %s as %s: %s' % (source, target, error))
    return target


def remove(rootwrap_dir):
    """Remove the filter file; return its path, or None if it was absent."""
    target = installed_path(rootwrap_dir)
    if not os.path.lexists(target):
        return None
    try:
        os.unlink(target)
    except OSError as error:
        raise exception.RootwrapDirError(
            'cannot remove %s: %s' % (target, error))
    return target
