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

"""Whether a patch is applied to a Nova tree; applying and reverting it.

GNU patch answers every question, one file of the patch at a time:

* a file is *not applied* when its part applies forward (``--dry-run
  --forward``);
* it is *applied* when its part applies in reverse (``--dry-run
  --reverse``);
* it is *conflicting* when neither works: the tree has local changes
  where the patch goes, or only some of the file's hunks are in.

Both kinds of run use ``--fuzz=0``: a patch is made for one exact Nova
release, and fuzz could put a hunk in the wrong place without a word.
Offsets (the same lines, moved) are still accepted.

Applying and reverting are all-or-nothing: the tree must be entirely in
the starting state, every file the patch touches is copied aside first, and
if GNU patch fails or the tree does not end up entirely in the other state,
the copies are put back and files and directories that did not exist are
removed. GNU patch never leaves ``.orig`` or ``.rej`` files: backups are
off (``--no-backup-if-mismatch``) and rejects go nowhere
(``--reject-file=-``); the failing hunks are reported instead.
"""

import contextlib
import dataclasses
import fcntl
import os
import stat

from oslo_concurrency import processutils
from oslo_log import log as logging

from nova_fpga.patching import exception
from nova_fpga.patching import unified_diff

LOG = logging.getLogger(__name__)

APPLIED = 'applied'
NOT_APPLIED = 'not applied'
PARTIALLY_APPLIED = 'partially applied'
CONFLICTING = 'conflicting'

_PATCH = ('patch', '--strip=1', '--fuzz=0', '--no-backup-if-mismatch',
          '--reject-file=-')
# --batch: never ask (a missing file is skipped, not asked for).
_FORWARD = ('--forward', '--batch')
# --force: never ask, and take the patch as written: reversing a patch
# that is not applied must fail, not be turned into applying it.
_REVERSE = ('--reverse', '--force')


@dataclasses.dataclass(frozen=True)
class FileState:
    """How far one file of the tree is patched."""

    path: str
    #: APPLIED, NOT_APPLIED or CONFLICTING.
    state: str
    #: What GNU patch said when the file's part would not apply forward.
    detail: str = ''


@dataclasses.dataclass(frozen=True)
class TreeState:
    """How far the whole tree is patched."""

    #: APPLIED, NOT_APPLIED, PARTIALLY_APPLIED or CONFLICTING.
    state: str
    #: A FileState for every file of the patch, in the patch's order.
    files: tuple


class TreeStateError(exception.PatchToolError):
    """The tree is not in the state the operation starts from."""

    def __init__(self, message, tree_state):
        super().__init__(message)
        self.tree_state = tree_state


def _patch_environment():
    environment = dict(os.environ, LC_ALL='C')
    # POSIX mode turns backups on and changes how file names are picked.
    environment.pop('POSIXLY_CORRECT', None)
    return environment


def run_patch(directory, options, patch_text=None, patch_file=None):
    """Run GNU patch in ``directory``; return (succeeded, its output)."""
    command = list(_PATCH) + list(options)
    if patch_file is not None:
        command.append('--input=%s' % patch_file)
    try:
        out, err = processutils.execute(
            *command, cwd=directory, process_input=patch_text,
            env_variables=_patch_environment())
    except processutils.ProcessExecutionError as error:
        if error.exit_code == 1:
            # Exit status 1: some hunks did not apply.
            return False, (error.stdout + error.stderr).strip()
        raise exception.PatchCommandError(
            '"%s" failed in %s (exit status %s): %s'
            % (' '.join(command), directory, error.exit_code,
               (error.stdout + error.stderr).strip()))
    except OSError as error:
        raise exception.PatchCommandError(
            'cannot run GNU patch (%s); install it, for example with '
            '"apt-get install patch"' % error)
    return True, (out + err).strip()


class NovaTree:
    """A directory holding a nova package, and one patch file for it."""

    def __init__(self, nova_dir, patch_file):
        self.nova_dir = nova_dir
        self.patch_file = patch_file
        try:
            with open(patch_file, 'rb') as patch:
                self.file_diffs = unified_diff.parse(patch.read())
        except exception.MalformedPatch as error:
            raise exception.MalformedPatch(
                '%s is not a usable patch: %s' % (patch_file, error))
        except OSError as error:
            raise exception.PatchToolError(
                'cannot read the patch file %s: %s' % (patch_file, error))

    @property
    def paths(self):
        return [file_diff.path for file_diff in self.file_diffs]

    def state(self):
        """Return the :class:`TreeState` of the tree (changes nothing)."""
        files = []
        for file_diff in self.file_diffs:
            applies, forward_output = run_patch(
                self.nova_dir, _FORWARD + ('--dry-run',), file_diff.text)
            reverts, _ = run_patch(
                self.nova_dir, _REVERSE + ('--dry-run',), file_diff.text)
            if applies and not reverts:
                files.append(FileState(file_diff.path, NOT_APPLIED))
            elif reverts and not applies:
                files.append(FileState(file_diff.path, APPLIED))
            elif applies and reverts:
                # The hunk's lines occur both before and after the change;
                # the other files decide.
                files.append(FileState(file_diff.path, None))
            else:
                files.append(FileState(file_diff.path, CONFLICTING,
                                       _explain(forward_output)))
        return TreeState(_overall_state(files), tuple(
            _settle_ambiguous(files)))

    def apply(self, then=None):
        """Apply the patch to a tree where it is not applied at all.

        :param then: called once the patch is in; if it raises, the tree
            is put back as it was too.
        :raises TreeStateError: when the tree is not entirely unpatched;
            nothing is changed.
        """
        self._change(NOT_APPLIED, _FORWARD, APPLIED, then)

    def revert(self, then=None):
        """Take the patch out of a tree where it is entirely applied.

        :raises TreeStateError: when the tree is not entirely patched;
            nothing is changed.
        """
        self._change(APPLIED, _REVERSE, NOT_APPLIED, then)

    def _change(self, expected, options, outcome, then):
        with self._exclusive():
            self._change_locked(expected, options, outcome, then)

    @contextlib.contextmanager
    def _exclusive(self):
        """Keep a second run of the tool from changing the tree meanwhile.

        Two runs racing would each copy the files aside and could put back
        each other's work. The lock is on the nova package directory
        itself, so no lock file is left in the tree.
        """
        package_dir = os.path.join(self.nova_dir, 'nova')
        descriptor = os.open(package_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise exception.PatchToolError(
                    'another run of the patch tool is changing %s; try '
                    'again when it has finished' % package_dir)
            yield
        finally:
            os.close(descriptor)

    def _change_locked(self, expected, options, outcome, then):
        before = self.state()
        if before.state != expected:
            raise TreeStateError(
                'the patch is %s, not %s' % (before.state, expected), before)
        self._check_writable()
        snapshot = _Snapshot(self.nova_dir, self.paths)
        try:
            succeeded, output = run_patch(self.nova_dir, options,
                                          patch_file=self.patch_file)
            LOG.debug('GNU patch said:\n%s', output)
            if not succeeded:
                raise exception.PatchCommandError(
                    'GNU patch failed although its dry run succeeded:\n%s'
                    % output)
            after = self.state()
            if after.state != outcome:
                raise exception.PatchCommandError(
                    'after running GNU patch the patch is %s, not %s'
                    % (after.state, outcome))
            _remove_leftovers_of_removed_files(self.nova_dir, snapshot)
            if then is not None:
                then()
        except exception.PatchToolError as error:
            snapshot.restore()
            error.message += self._put_back_note()
            raise
        except OSError as error:
            snapshot.restore()
            raise exception.PatchToolError(
                '%s%s' % (error, self._put_back_note()))
        except BaseException:
            snapshot.restore()
            raise

    def _put_back_note(self):
        return ('\nThe %d files of the patch in %s were put back as they '
                'were.' % (len(self.paths), self.nova_dir))

    def _check_writable(self):
        unwritable = []
        for path in self.paths:
            target = os.path.join(self.nova_dir, path)
            # GNU patch writes a new file next to the old one and renames
            # it, so it is the directory that must be writable (or, for a
            # new file, the closest directory that exists).
            directory = os.path.dirname(target)
            while not os.path.exists(directory):
                directory = os.path.dirname(directory)
            if not os.access(directory, os.W_OK | os.X_OK):
                unwritable.append(directory)
        if unwritable:
            raise exception.TreeNotWritable(
                'this user (uid %d) cannot write %s; run the tool as the '
                'owner of the Nova installation (root for a distribution '
                'package); nothing was changed'
                % (os.geteuid(), ', '.join(sorted(set(unwritable)))))


def _explain(patch_output):
    """Keep what GNU patch said about why a file does not apply."""
    if "can't find file to patch" in patch_output:
        # GNU patch follows this with the patch's header, which says
        # nothing the path does not.
        return 'the file does not exist'
    return '\n'.join(line for line in patch_output.splitlines()
                     if not line.startswith('checking file '))


def _overall_state(files):
    states = {file.state for file in files} - {None}
    if CONFLICTING in states:
        return CONFLICTING
    if states == {APPLIED}:
        return APPLIED
    if states == {NOT_APPLIED}:
        return NOT_APPLIED
    if not states:
        # Every file reads the same either way: nothing tells the states
        # apart, so refuse to act on it.
        return CONFLICTING
    return PARTIALLY_APPLIED


def _settle_ambiguous(files):
    settled_state = _overall_state(files)
    if settled_state not in (APPLIED, NOT_APPLIED):
        settled_state = CONFLICTING
    for file in files:
        if file.state is None:
            yield FileState(file.path, settled_state,
                            'applies both forward and in reverse')
        else:
            yield file


class _Snapshot:
    """Copies of the files a patch touches, to put the tree back."""

    def __init__(self, root, paths):
        self.root = root
        # path -> (content, mode), or None for a file that does not exist
        self.files = {}
        # Directories that do not exist yet, deepest first.
        self.missing_dirs = []
        for path in paths:
            full_path = os.path.join(root, path)
            if os.path.lexists(full_path):
                with open(full_path, 'rb') as original:
                    content = original.read()
                self.files[path] = (content,
                                    stat.S_IMODE(os.lstat(full_path).st_mode))
            else:
                self.files[path] = None
                directory = os.path.dirname(full_path)
                while (directory != root and not os.path.exists(directory)
                       and directory not in self.missing_dirs):
                    self.missing_dirs.append(directory)
                    directory = os.path.dirname(directory)
        self.missing_dirs.sort(key=len, reverse=True)

    def existed(self, path):
        return self.files[path] is not None

    def restore(self):
        for path, saved in self.files.items():
            full_path = os.path.join(self.root, path)
            if saved is None:
                if os.path.lexists(full_path):
                    os.unlink(full_path)
                _remove_bytecode_of(full_path)
                continue
            content, mode = saved
            os.makedirs(os.path.dirname(full_path), exist_ok=True)
            if os.path.lexists(full_path):
                os.unlink(full_path)
            with open(full_path, 'xb') as restored:
                restored.write(content)
            os.chmod(full_path, mode)
        for directory in self.missing_dirs:
            _remove_if_empty(directory)


def _remove_bytecode_of(source_path):
    """Remove what Python compiled from a module that no longer exists.

    Without this, a directory the patch created would stay behind holding
    only ``__pycache__``, and Python would import it as a namespace
    package.
    """
    if not source_path.endswith('.py'):
        return
    cache_dir = os.path.join(os.path.dirname(source_path), '__pycache__')
    stem = os.path.basename(source_path)[:-len('.py')]
    try:
        names = os.listdir(cache_dir)
    except OSError:
        return
    for name in names:
        if name.startswith(stem + '.') and name.endswith('.pyc'):
            os.unlink(os.path.join(cache_dir, name))
    _remove_if_empty(cache_dir)


def _remove_if_empty(directory):
    try:
        os.rmdir(directory)
    except OSError:
        pass  # not empty, or already gone


def _remove_leftovers_of_removed_files(root, snapshot):
    """Clean up after files the patch run removed (a revert's new files).

    GNU patch removes the file and the directories it leaves empty; what
    Python compiled from the file can still keep a directory alive.
    """
    for path in snapshot.files:
        full_path = os.path.join(root, path)
        if not snapshot.existed(path) or os.path.lexists(full_path):
            continue
        _remove_bytecode_of(full_path)
        directory = os.path.dirname(full_path)
        while (directory.startswith(root + os.sep)
               and os.path.isdir(directory) and not os.listdir(directory)):
            os.rmdir(directory)
            directory = os.path.dirname(directory)
