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

"""nova-fpga-patch: apply the fpga-nova patch to the installed Nova.

Usage::

    nova-fpga-patch status [--rootwrap-dir DIR]
    nova-fpga-patch check
    nova-fpga-patch apply  [--rootwrap-dir DIR]
    nova-fpga-patch revert [--rootwrap-dir DIR]

Every command takes ``--nova-dir DIR`` (the directory holding the ``nova``
package, where ``patch -p1`` runs; by default the one ``import nova``
loads in the Python running this tool), ``--patches-dir DIR`` (by default
the patch files installed with nova_fpga, or the source checkout's
``patches/``) and ``--debug``.

The patch file is chosen by the version of the Nova found:
``nova-<version>.patch`` for a Nova installed from PyPI,
``<distro>_<release>-nova-<version>.patch`` for a distribution's package
(``debian_12-nova-26.2.2.patch`` for Debian 12's python3-nova
2:26.2.2-1~deb12u5).

status
    Says whether the patch is applied, not applied, partially applied or
    conflicting (local changes where the patch goes), file by file.
check
    Dry run of apply: says whether apply would succeed, and which files
    and hunks fail if not. Changes nothing.
apply
    Applies the patch all-or-nothing: if any file would not apply, nothing
    is changed and the failing files and hunks are listed. On a tree where
    the patch is already applied it says so and changes nothing. With
    ``--rootwrap-dir DIR``, also installs the ``fpga.filters`` rootwrap
    filter file into DIR (``--filters-file`` names another one).
revert
    Takes the patch out again, leaving every file byte for byte as it was
    before apply (files the patch created are removed, and the directories
    they leave empty). Refuses on a tree where the patch is not entirely
    applied. With ``--rootwrap-dir DIR``, also removes the filter file.

No command leaves ``.orig`` or ``.rej`` files behind.

Exit status:

0
    Success: status found the patch applied; check found that apply would
    succeed (or that the patch is already applied); apply applied it (or
    found it already applied); revert took it out.
1
    Error: no nova package, unreadable version, missing patch files, GNU
    patch missing or failing, files not writable. Nothing was changed.
2
    Wrong command line.
3
    The patch is not applied: status on an unpatched tree, revert with
    nothing to revert.
4
    The tree is partially patched or conflicts with the patch: status
    reports it; check, apply and revert refuse and change nothing.
5
    No patch exists for the Nova version found; the message lists the
    supported releases.
"""

import argparse
import functools
import os
import sys

from oslo_config import cfg
from oslo_log import log as logging

from nova_fpga.patching import exception
from nova_fpga.patching import nova_install
from nova_fpga.patching import nova_tree
from nova_fpga.patching import rootwrap_filters
from nova_fpga.patching import shipped_data

LOG = logging.getLogger(__name__)

PROGRAM = 'nova-fpga-patch'

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_APPLIED = 3
EXIT_CONFLICT = 4
EXIT_UNSUPPORTED = 5


class _Target:
    """The Nova found, and the patch and filter files that go with it."""

    def __init__(self, args):
        self.install = nova_install.find_nova_install(args.nova_dir)
        self.patches_dir = os.path.abspath(
            args.patches_dir or shipped_data.find_patches_dir())
        if not os.path.isdir(self.patches_dir):
            raise exception.ShippedDataNotFound(
                'the patches directory %s does not exist' % self.patches_dir)
        self.patch_file = _choose_patch_file(self.install, self.patches_dir)
        LOG.debug('Using %s for %s', self.patch_file,
                  self.install.describe())
        self.tree = nova_tree.NovaTree(self.install.nova_dir,
                                       self.patch_file)
        self.rootwrap_dir = getattr(args, 'rootwrap_dir', None)
        self.filters_file = None
        if self.rootwrap_dir is not None:
            self.filters_file = os.path.abspath(
                args.filters_file or shipped_data.find_filters_file())
            self.rootwrap_dir = os.path.abspath(self.rootwrap_dir)
            if not os.path.isfile(self.filters_file):
                raise exception.ShippedDataNotFound(
                    'the rootwrap filter file %s does not exist'
                    % self.filters_file)

    @property
    def patch_name(self):
        return self.install.patch_file_name


def _choose_patch_file(install, patches_dir):
    patch_file = os.path.join(patches_dir, install.patch_file_name)
    if not os.path.isfile(patch_file):
        raise exception.UnsupportedNovaVersion(
            install, patches_dir,
            shipped_data.supported_releases(patches_dir))
    return patch_file


def _print_files(tree_state, stream=None):
    width = max(len(state) for state in (
        nova_tree.APPLIED, nova_tree.NOT_APPLIED, nova_tree.CONFLICTING))
    for file_state in tree_state.files:
        print('  %-*s  %s' % (width + 1, file_state.state + ':',
                              file_state.path), file=stream)
        for line in file_state.detail.splitlines():
            print('      %s' % line, file=stream)


_WHY_REFUSED = {
    nova_tree.PARTIALLY_APPLIED: 'the patch is partially applied',
    nova_tree.CONFLICTING: 'the tree has changes where the patch goes',
}


def _refusal(target, tree_state, action):
    """Report a tree that is not in the state ``action`` starts from."""
    if tree_state.state == nova_tree.NOT_APPLIED:
        _error('%s is not applied to %s; nothing to %s.'
               % (target.patch_name, target.install.describe(), action))
        return EXIT_NOT_APPLIED
    _error('cannot %s %s in %s: %s (file by file below); nothing was '
           'changed.' % (action, target.patch_name, target.install.nova_dir,
                         _WHY_REFUSED[tree_state.state]))
    _print_files(tree_state, sys.stderr)
    return EXIT_CONFLICT


def _print_header(target):
    print(target.install.describe())
    print('Patch file: %s' % target.patch_file)


def do_status(target):
    _print_header(target)
    tree_state = target.tree.state()
    print('State: %s' % tree_state.state)
    if tree_state.state not in (nova_tree.APPLIED, nova_tree.NOT_APPLIED):
        _print_files(tree_state)
    if target.rootwrap_dir is not None:
        print('Rootwrap filters %s: %s' % (
            rootwrap_filters.installed_path(target.rootwrap_dir),
            rootwrap_filters.state(target.filters_file,
                                   target.rootwrap_dir)))
    return {nova_tree.APPLIED: EXIT_OK,
            nova_tree.NOT_APPLIED: EXIT_NOT_APPLIED}.get(tree_state.state,
                                                         EXIT_CONFLICT)


def do_check(target):
    tree_state = target.tree.state()
    if tree_state.state == nova_tree.APPLIED:
        print('%s is already applied to %s; apply would change nothing.'
              % (target.patch_name, target.install.describe()))
        return EXIT_OK
    if tree_state.state == nova_tree.NOT_APPLIED:
        print('%s applies cleanly to %s (dry run; nothing was changed).'
              % (target.patch_name, target.install.describe()))
        return EXIT_OK
    return _refusal(target, tree_state, 'apply')


def _install_filters(target):
    path = rootwrap_filters.install(target.filters_file, target.rootwrap_dir)
    print('Installed the rootwrap filter file %s.' % path)


def _remove_filters(target):
    removed = rootwrap_filters.remove(target.rootwrap_dir)
    if removed:
        print('Removed the rootwrap filter file %s.' % removed)
    else:
        print('The rootwrap filter file %s was not installed.'
              % rootwrap_filters.installed_path(target.rootwrap_dir))


def _filters_step(target, step):
    """Return ``step`` bound to ``target`` when --rootwrap-dir was given.

    The directory is checked now, before the Nova tree is touched.
    """
    if target.rootwrap_dir is None:
        return None
    rootwrap_filters.check_usable(target.rootwrap_dir)
    return functools.partial(step, target)


def do_apply(target):
    install_filters = _filters_step(target, _install_filters)
    try:
        target.tree.apply(then=install_filters)
    except nova_tree.TreeStateError as error:
        if error.tree_state.state != nova_tree.APPLIED:
            return _refusal(target, error.tree_state, 'apply')
        print('%s is already applied to %s; the tree was not changed.'
              % (target.patch_name, target.install.describe()))
        if install_filters is not None:
            if rootwrap_filters.state(target.filters_file,
                                      target.rootwrap_dir) == (
                                          rootwrap_filters.INSTALLED):
                print('The rootwrap filter file %s is already installed.'
                      % rootwrap_filters.installed_path(target.rootwrap_dir))
            else:
                install_filters()
        return EXIT_OK
    print('Applied %s to %s (%d files).'
          % (target.patch_name, target.install.describe(),
             len(target.tree.paths)))
    return EXIT_OK


def do_revert(target):
    remove_filters = _filters_step(target, _remove_filters)
    try:
        target.tree.revert(then=remove_filters)
    except nova_tree.TreeStateError as error:
        return _refusal(target, error.tree_state, 'revert')
    print('Reverted %s from %s.'
          % (target.patch_name, target.install.describe()))
    return EXIT_OK


def _error(message):
    print('%s: error: %s' % (PROGRAM, message), file=sys.stderr)


def _build_parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        '--nova-dir', metavar='DIR',
        help='the directory that holds the nova package (where patch -p1 '
             'runs); default: where "import nova" finds it in this Python')
    common.add_argument(
        '--patches-dir', metavar='DIR',
        help='the directory of the patch files; default: the ones '
             'installed with nova_fpga')
    common.add_argument('--debug', action='store_true',
                        help='log every command run and its output')
    rootwrap = argparse.ArgumentParser(add_help=False)
    rootwrap.add_argument(
        '--rootwrap-dir', metavar='DIR',
        help='the rootwrap filter directory (for example '
             '/etc/nova/rootwrap.d) to install the fpga-cli filter file '
             'into (apply), remove it from (revert) or look at (status)')
    rootwrap.add_argument(
        '--filters-file', metavar='FILE',
        help='the filter file to install; default: the fpga.filters '
             'installed with nova_fpga')

    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description='Apply the fpga-nova patch to the installed Nova, '
                    'check it, or take it out again.',
        epilog='Exit status: 0 success, 1 error, 2 usage, 3 not applied, '
               '4 partially applied or conflicting, 5 unsupported Nova '
               'version.')
    commands = parser.add_subparsers(dest='command', required=True,
                                     metavar='COMMAND')
    commands.add_parser(
        'status', parents=[common, rootwrap],
        help='say whether the patch is applied').set_defaults(
            handler=do_status)
    commands.add_parser(
        'check', parents=[common],
        help='dry run of apply; changes nothing').set_defaults(
            handler=do_check)
    commands.add_parser(
        'apply', parents=[common, rootwrap],
        help='apply the patch, all or nothing').set_defaults(
            handler=do_apply)
    commands.add_parser(
        'revert', parents=[common, rootwrap],
        help='take the patch out again').set_defaults(handler=do_revert)
    return parser


def _setup_logging(debug):
    conf = cfg.ConfigOpts()
    logging.register_options(conf)
    # No configuration files: this is an operator's command, not a
    # service, and must not pick up a service's logging settings.
    conf([], project='nova_fpga', default_config_files=[])
    conf.set_override('debug', debug)
    # stdout carries the results; log lines go to stderr.
    conf.set_override('use_stderr', True)
    logging.setup(conf, PROGRAM)


def main(argv=None):
    args = _build_parser().parse_args(argv)
    _setup_logging(args.debug)
    try:
        target = _Target(args)
        return args.handler(target)
    except exception.UnsupportedNovaVersion as error:
        _error(error.message)
        return EXIT_UNSUPPORTED
    except exception.PatchToolError as error:
        _error(error.message)
        return EXIT_ERROR
    except OSError as error:
        # A file or directory the tool had to read or write, named by the
        # error itself.
        _error(str(error))
        return EXIT_ERROR


if __name__ == '__main__':
    sys.exit(main())
