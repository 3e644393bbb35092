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

"""Port the fpga-nova patch to another Nova release (maintainers' tool).

Usage::

    tools/port-patch.py 33.0.2                    # nova 33.0.2 from PyPI
    tools/port-patch.py debian_12-nova-26.2.2     # Debian 12's python3-nova
    tools/port-patch.py 35.0.0 --pristine DIR     # the nova package in DIR

The first run makes a work directory (``build/port/<patch name>/``) with
``pristine/nova``, the release as it ships, and ``tree/nova``, a copy with
the closest existing patch of ``patches/`` applied (``--from`` names
another). It reports every hunk that did not apply cleanly (failed ones
are left in ``tree/`` as ``*.rej`` files next to their file) and makes
the mechanical adjustments a release needs:

* the patch's alembic migrations get the release's head revision as
  ``down_revision``;
* with ``--python PY`` (a Python that has the release's dependencies and
  nova_fpga installed, for example the target's tox environment), the
  object hashes in ``nova/tests/unit/objects/test_objects.py`` are
  recomputed from the patched tree.

Fix what failed by editing ``tree/nova`` (and delete the ``.rej`` files),
then run the same command again: it regenerates ``patches/<patch
name>.patch`` as the difference between ``pristine/`` and ``tree/``. When
everything applied, the first run writes the patch at once. ``--restart``
throws the work directory away and starts over.

A PyPI release is fetched with ``pip download``, a Debian package with
``apt-get download`` (the apt lists must know the version: run it on that
distribution release). Needs GNU patch and git (for the diff).
"""

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATCHES_DIR = os.path.join(REPO, 'patches')

# The names patches/ uses: nova-34.0.0.patch, debian_12-nova-26.2.2.patch.
PATCH_NAME = re.compile(
    r'^(?:(?P<distro>[A-Za-z0-9.]+_[A-Za-z0-9.]+)-)?nova-(?P<version>[^/]+?)'
    r'(?:\.patch)?$')
# Where each distribution's python3-nova keeps the nova package.
DPKG_NOVA_DIR = 'usr/lib/python3/dist-packages'
DPKG_PACKAGE = 'python3-nova'

_PATCH_FILE_LINE = re.compile(r"^patching file '?(?P<path>[^']+?)'?$")
_PATCH_HUNK_LINE = re.compile(
    r'^Hunk #(?P<hunk>\d+) (?P<result>succeeded|FAILED) at (?P<line>\d+)'
    r'(?: with fuzz (?P<fuzz>\d+))?(?: \(offset (?P<offset>-?\d+) lines?\))?')
_REVISION = re.compile(r"^revision = ['\"](?P<id>\w+)['\"]", re.M)
_DOWN_REVISION = re.compile(
    r"^down_revision = (?P<value>None|['\"]\w+['\"]|\(.*?\))", re.M)
_OBJECT_HASH = re.compile(
    r"^(?P<indent>\s+)'(?P<name>\w+)': '(?P<fingerprint>[\d.]+-[0-9a-f]+)',",
    re.M)
OBJECT_HASHES_FILE = 'nova/tests/unit/objects/test_objects.py'


class PortError(Exception):
    """Something the maintainer has to fix; the message says what."""


def say(message=''):
    print(message, flush=True)


def version_key(version):
    """Numeric parts compare as numbers: 34.0.0 after 4.0.0."""
    return [int(part) if part.isdigit() else -1
            for part in re.split(r'[.~+-]', version)]


class Target:
    """The release being ported to, and its patch file name."""

    def __init__(self, spec, deb_version=None):
        match = PATCH_NAME.match(spec)
        if match is None and re.match(r'^\d+(\.\d+)*$', spec):
            match = PATCH_NAME.match('nova-' + spec)
        if match is None:
            raise PortError(
                '%r is neither a Nova version (33.0.2) nor a patch name '
                '(nova-33.0.2, debian_12-nova-26.2.2)' % spec)
        self.distro = match.group('distro')
        self.version = match.group('version')
        self.deb_version = deb_version

    @property
    def name(self):
        if self.distro:
            return '%s-nova-%s' % (self.distro, self.version)
        return 'nova-%s' % self.version

    @property
    def patch_file(self):
        return os.path.join(PATCHES_DIR, self.name + '.patch')


def closest_patch(target):
    """The existing patch nearest to the target release.

    The same distribution release first, then the nearest major version
    (the minor versions of different series say nothing about how close
    they are), the newest of those.
    """
    candidates = []
    for path in glob.glob(os.path.join(PATCHES_DIR, '*.patch')):
        match = PATCH_NAME.match(os.path.basename(path))
        if match is None or path == target.patch_file:
            continue
        theirs = version_key(match.group('version'))
        ours = version_key(target.version)
        candidates.append((match.group('distro') != target.distro,
                           abs(theirs[0] - ours[0]),
                           [-part for part in theirs], path))
    if not candidates:
        raise PortError('there is no patch in %s to start from'
                        % PATCHES_DIR)
    return min(candidates)[-1]


def run(command, **kwargs):
    kwargs.setdefault('check', True)
    try:
        return subprocess.run(command, **kwargs)
    except FileNotFoundError:
        raise PortError('cannot run %s: install it' % command[0])
    except subprocess.CalledProcessError as error:
        raise PortError('%s failed (exit status %d)%s'
                        % (' '.join(command), error.returncode,
                           ': ' + error.stderr.strip()
                           if isinstance(error.stderr, str) else ''))


def _copy_nova(source_dir, work_dir):
    source = os.path.join(source_dir, 'nova')
    if not os.path.isfile(os.path.join(source, '__init__.py')):
        raise PortError('there is no nova package in %s' % source_dir)
    shutil.copytree(source, os.path.join(work_dir, 'nova'), symlinks=True,
                    ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


def fetch_pristine(target, pristine_dir, source_dir=None):
    """Put the release's nova package, as shipped, in pristine_dir/nova."""
    os.makedirs(pristine_dir)
    if source_dir is not None:
        say('Taking the pristine nova package from %s' % source_dir)
        _copy_nova(source_dir, pristine_dir)
        return
    with tempfile.TemporaryDirectory() as download:
        if target.distro is None:
            say('Downloading nova %s from PyPI' % target.version)
            run([sys.executable, '-m', 'pip', 'download', '--quiet',
                 '--no-deps', '--only-binary', ':all:', '--dest', download,
                 'nova==%s' % target.version])
            wheel, = glob.glob(os.path.join(download, 'nova-*.whl'))
            with zipfile.ZipFile(wheel) as archive:
                members = [name for name in archive.namelist()
                           if name.startswith('nova/')]
                archive.extractall(pristine_dir, members)
            return
        version = target.deb_version or _apt_candidate()
        upstream = version.split(':', 1)[-1].rsplit('-', 1)[0]
        if upstream != target.version:
            raise PortError(
                'apt offers %s %s, not %s; name the package version with '
                '--deb-version' % (DPKG_PACKAGE, version, target.version))
        say('Downloading %s %s with apt-get' % (DPKG_PACKAGE, version))
        # apt's download user must be able to write there.
        os.chmod(download, 0o755)
        run(['apt-get', 'download', '%s=%s' % (DPKG_PACKAGE, version)],
            cwd=download, capture_output=True, text=True)
        deb, = glob.glob(os.path.join(download, '*.deb'))
        unpacked = os.path.join(download, 'root')
        run(['dpkg-deb', '--extract', deb, unpacked])
        _copy_nova(os.path.join(unpacked, DPKG_NOVA_DIR), pristine_dir)


def _apt_candidate():
    out = run(['apt-cache', 'policy', DPKG_PACKAGE], capture_output=True,
              text=True).stdout
    match = re.search(r'Candidate: (\S+)', out)
    if match is None or match.group(1) == '(none)':
        raise PortError('apt knows no %s here (run apt-get update, on the '
                        'distribution release the patch is for)'
                        % DPKG_PACKAGE)
    return match.group(1)


def apply_base_patch(patch_file, tree_dir):
    """Apply patch_file to tree_dir as far as it goes; return the report.

    The report maps each file of the patch to a list of problems (hunks
    that failed, needed fuzz, or a file that is missing).
    """
    result = run(['patch', '--strip=1', '--forward', '--batch',
                  '--no-backup-if-mismatch', '--input', patch_file],
                 cwd=tree_dir, capture_output=True, text=True, check=False,
                 env=dict(os.environ, LC_ALL='C'))
    if result.returncode not in (0, 1):
        raise PortError('patch failed: %s%s' % (result.stdout, result.stderr))
    report = {}
    path = None
    for line in (result.stdout + result.stderr).splitlines():
        match = _PATCH_FILE_LINE.match(line)
        if match:
            path = match.group('path')
            report.setdefault(path, [])
            continue
        match = _PATCH_HUNK_LINE.match(line)
        if match and path:
            if match.group('result') == 'FAILED':
                report[path].append('hunk #%s FAILED (see %s.rej)'
                                    % (match.group('hunk'), path))
            elif match.group('fuzz'):
                report[path].append(
                    'hunk #%s applied at line %s with fuzz %s: check it'
                    % (match.group('hunk'), match.group('line'),
                       match.group('fuzz')))
        elif path and ("can't find file" in line or 'No file to patch' in line
                       or 'Skipping patch' in line):
            report[path].append('the file is missing: ' + line.strip())
    return report


def _revision_of(text):
    match = _REVISION.search(text)
    return match.group('id') if match else None


def alembic_heads(versions_dir):
    """The revisions of versions_dir that no other revision revises."""
    revisions, revised = set(), set()
    for path in glob.glob(os.path.join(versions_dir, '*.py')):
        with open(path) as migration:
            text = migration.read()
        revision = _revision_of(text)
        if revision is None:
            continue
        revisions.add(revision)
        down = _DOWN_REVISION.search(text)
        if down:
            revised.update(re.findall(r'\w+', down.group('value')))
    return sorted(revisions - revised)


def revision_for(head):
    """The revision id of the patch's migration on top of ``head``.

    A database records only the revision it is at. If the migration kept
    one id on every release, a database of a patched release upgraded to
    a later patched release would already be "at the head" and skip every
    Nova migration in between without a word. An id of its own for each
    head makes that upgrade fail loudly instead ("Can't locate revision"),
    while the releases that share a head (the stable releases of one
    series, often several series) share the id and upgrade freely.
    """
    return hashlib.sha256(('fpga-nova on ' + head).encode()).hexdigest()[:12]


def _replace_in_file(path, old, new):
    with open(path) as source:
        text = source.read()
    if old in text:
        with open(path, 'w') as source:
            source.write(text.replace(old, new))
        return True
    return False


def fix_migrations(pristine_dir, tree_dir):
    """Put the patch's new migrations on top of the release's head.

    Each gets the head as its down_revision and the revision id of that
    head (see revision_for; Nova's migration tests name their checks
    after it). Returns a description of each change made.
    """
    changes = []
    pattern = os.path.join('nova', 'db', '*', 'migrations', 'versions')
    for versions_dir in glob.glob(os.path.join(pristine_dir, pattern)):
        relative = os.path.relpath(versions_dir, pristine_dir)
        heads = alembic_heads(versions_dir)
        if len(heads) != 1:
            raise PortError('%s has %d heads (%s), not one'
                            % (relative, len(heads), ', '.join(heads)))
        head, = heads
        for path in sorted(glob.glob(os.path.join(tree_dir, relative,
                                                  '*.py'))):
            name = os.path.basename(path)
            if os.path.exists(os.path.join(versions_dir, name)):
                continue
            with open(path) as migration:
                text = migration.read()
            down = _DOWN_REVISION.search(text)
            old_revision = _revision_of(text)
            if (down is None or old_revision is None
                    or down.group('value').strip('\'"') == head):
                continue
            old_down = down.group('value').strip('\'"')
            new_revision = revision_for(head)
            text = _DOWN_REVISION.sub("down_revision = '%s'" % head, text,
                                      count=1)
            text = re.sub(r'^Revises: \w+$', 'Revises: %s' % head, text,
                          count=1, flags=re.M)
            text = text.replace(old_revision, new_revision)
            new_path = os.path.join(os.path.dirname(path),
                                    name.replace(old_revision, new_revision))
            with open(new_path, 'w') as migration:
                migration.write(text)
            if new_path != path:
                os.remove(path)
            changes.append(
                '%s: revision %s -> %s, down_revision %s -> %s (the head '
                'of %s)' % (os.path.join(relative, os.path.basename(
                    new_path)), old_revision, new_revision, old_down, head,
                    relative))
            tests = glob.glob(os.path.join(tree_dir, 'nova', 'tests', 'unit',
                                           'db', '*', 'test_migrations.py'))
            for test in tests:
                if _replace_in_file(test, old_revision, new_revision):
                    changes.append('%s: %s -> %s' % (
                        os.path.relpath(test, tree_dir), old_revision,
                        new_revision))
    return changes


_HASHES_SCRIPT = '''
import json
from oslo_versionedobjects import fixture
from nova.tests.unit.objects import test_objects
checker = fixture.ObjectVersionChecker(test_objects.get_nova_objects())
print(json.dumps(checker.get_hashes()))
'''


def patched_object_names(patch_file):
    """The objects whose fingerprints the patch changes in test_objects."""
    names = set()
    in_hashes_file = False
    with open(patch_file) as patch:
        for line in patch:
            if line.startswith('diff --git '):
                in_hashes_file = line.split()[-1] == 'b/' + OBJECT_HASHES_FILE
            elif in_hashes_file and line.startswith('+'):
                match = _OBJECT_HASH.match(line[1:])
                if match:
                    names.add(match.group('name'))
    return sorted(names)


def only_object_hashes(reject_file):
    """Whether a reject file of test_objects only changes fingerprints."""
    with open(reject_file) as reject:
        changes = [line[1:] for line in reject
                   if line.startswith(('+', '-'))
                   and not line.startswith(('+++', '---'))]
    return bool(changes) and all(_OBJECT_HASH.match(line)
                                 for line in changes)


def fix_object_hashes(tree_dir, python, names):
    """Recompute the fingerprints of the named objects in test_objects.py.

    Returns a description of each fingerprint changed.
    """
    path = os.path.join(tree_dir, OBJECT_HASHES_FILE)
    if not os.path.isfile(path):
        return []
    environment = dict(os.environ, PYTHONPATH=tree_dir,
                       PYTHONDONTWRITEBYTECODE='1')
    result = run([python, '-c', _HASHES_SCRIPT], cwd=tree_dir,
                 capture_output=True, text=True, env=environment,
                 check=False)
    if result.returncode != 0:
        raise PortError('cannot compute the object hashes with %s:\n%s'
                        % (python, result.stderr[-3000:]))
    hashes = json.loads(result.stdout.strip().splitlines()[-1])
    changes = []

    def replace(match):
        name = match.group('name')
        new = hashes.get(name)
        if (name not in names or new is None
                or new == match.group('fingerprint')):
            return match.group(0)
        changes.append('%s: %s %s -> %s' % (OBJECT_HASHES_FILE, name,
                                            match.group('fingerprint'), new))
        return "%s'%s': '%s'," % (match.group('indent'), name, new)

    with open(path) as source:
        text = source.read()
    text = _OBJECT_HASH.sub(replace, text)
    with open(path, 'w') as source:
        source.write(text)
    return changes


def leftovers(tree_dir):
    """Reject and backup files left in the tree."""
    found = []
    for root, _dirs, files in os.walk(tree_dir):
        found.extend(os.path.relpath(os.path.join(root, name), tree_dir)
                     for name in files if name.endswith(('.rej', '.orig')))
    return sorted(found)


def remove_bytecode(directory):
    for root, dirs, _files in os.walk(directory):
        if '__pycache__' in dirs:
            shutil.rmtree(os.path.join(root, '__pycache__'))
            dirs.remove('__pycache__')


def make_patch(work_dir):
    """The difference between pristine/ and tree/, as patches/ keeps it."""
    for side in ('pristine', 'tree'):
        remove_bytecode(os.path.join(work_dir, side))
    environment = dict(os.environ, GIT_CONFIG_NOSYSTEM='1',
                       GIT_CONFIG_GLOBAL=os.devnull, LC_ALL='C')
    result = run(['git', 'diff', '--no-index', '--no-color', '--no-renames',
                  '--no-ext-diff', '--no-textconv', '--diff-algorithm=myers',
                  '--src-prefix=a/', '--dst-prefix=b/',
                  'pristine/nova', 'tree/nova'],
                 cwd=work_dir, capture_output=True, text=True, check=False,
                 env=environment)
    if result.returncode not in (0, 1):
        raise PortError('git diff failed: %s' % result.stderr)
    lines = []
    for line in result.stdout.splitlines(keepends=True):
        if line.startswith('index '):
            continue
        if line.startswith(('diff --git ', '--- ', '+++ ')):
            line = re.sub(r'(?<![^ ])([ab])/(?:pristine|tree)/nova/',
                          r'\1/nova/', line)
        lines.append(line)
    return ''.join(lines)


def count_changed_lines(patch_text):
    """Lines the patch adds or removes outside Nova's tests."""
    count = 0
    path = ''
    for line in patch_text.splitlines():
        if line.startswith('diff --git '):
            path = line.split()[2]
        elif line.startswith(('+++', '---')):
            continue
        elif line.startswith(('+', '-')) and '/tests/' not in path:
            count += 1
    return count


STATE_FILE = 'port.json'


def regenerate(work_dir, python, output):
    tree_dir = os.path.join(work_dir, 'tree')
    pristine_dir = os.path.join(work_dir, 'pristine')
    with open(os.path.join(work_dir, STATE_FILE)) as state_file:
        state = json.load(state_file)
    left = leftovers(tree_dir)
    if left:
        say('Not regenerating: fix these in %s and delete them, then run '
            'this again:' % tree_dir)
        for path in left:
            say('  ' + path)
        return 1
    for change in fix_migrations(pristine_dir, tree_dir):
        say('Adjusted ' + change)
    if python:
        for change in fix_object_hashes(tree_dir, python,
                                        state['patched_objects']):
            say('Adjusted ' + change)
    patch_text = make_patch(work_dir)
    if not patch_text:
        raise PortError('tree/ and pristine/ are identical in %s' % work_dir)
    with open(output, 'w') as patch:
        patch.write(patch_text)
    say('Wrote %s: %d files, %d non-test lines changed.'
        % (os.path.relpath(output), patch_text.count('\ndiff --git ') + 1,
           count_changed_lines(patch_text)))
    if not python and state['patched_objects']:
        say('The fingerprints of %s in %s were not recomputed (no '
            '--python): Nova\'s test_objects says whether they are stale.'
            % (', '.join(state['patched_objects']), OBJECT_HASHES_FILE))
    return 0


def start(target, work_dir, base_patch, source_dir, python):
    """Make pristine/ and tree/; return the number of problems found."""
    pristine_dir = os.path.join(work_dir, 'pristine')
    tree_dir = os.path.join(work_dir, 'tree')
    fetch_pristine(target, pristine_dir, source_dir)
    os.makedirs(tree_dir)
    _copy_nova(pristine_dir, tree_dir)
    state = {'base_patch': base_patch,
             'patched_objects': patched_object_names(base_patch)}
    with open(os.path.join(work_dir, STATE_FILE), 'w') as state_file:
        json.dump(state, state_file, indent=1)
    say('Applying %s to %s' % (os.path.relpath(base_patch), tree_dir))
    report = apply_base_patch(base_patch, tree_dir)
    hashes_reject = os.path.join(tree_dir, OBJECT_HASHES_FILE + '.rej')
    if python and os.path.isfile(hashes_reject) and only_object_hashes(
            hashes_reject):
        # Fingerprints differ between releases; they are recomputed.
        os.remove(hashes_reject)
        report[OBJECT_HASHES_FILE] = [
            'fingerprints of %s did not apply: recomputed from the tree'
            % ', '.join(state['patched_objects'])]
    problems = 0
    for path, issues in sorted(report.items()):
        for issue in issues:
            say('  %s: %s' % (path, issue))
            problems += 1
    if not problems:
        say('  every hunk applied (at most with offsets)')
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Port the fpga-nova patch to another Nova release: '
                    'apply the closest existing patch to the pristine '
                    'release, report what failed, and regenerate the '
                    'patch file from the fixed tree.')
    parser.add_argument('target', help='a PyPI nova version (33.0.2) or a '
                        'patch name (debian_12-nova-26.2.2)')
    parser.add_argument('--from', dest='base_patch', metavar='PATCH',
                        help='the patch to start from (default: the '
                        'closest one in patches/)')
    parser.add_argument('--pristine', metavar='DIR', help='take the '
                        'pristine nova package from DIR instead of '
                        'downloading it')
    parser.add_argument('--deb-version', metavar='VERSION',
                        help='the Debian package version to download '
                        '(default: the apt candidate)')
    parser.add_argument('--python', metavar='PY', help='a Python with the '
                        "release's dependencies and nova_fpga: recompute "
                        'the object hashes with it')
    parser.add_argument('--work-dir', metavar='DIR', help='default: '
                        'build/port/<patch name>')
    parser.add_argument('--output', metavar='FILE', help='default: '
                        'patches/<patch name>.patch')
    parser.add_argument('--restart', action='store_true',
                        help='throw the work directory away first')
    args = parser.parse_args(argv)
    if args.python and os.sep in args.python:
        # It runs in the work directory.
        args.python = os.path.abspath(args.python)
    try:
        target = Target(args.target, args.deb_version)
        work_dir = os.path.abspath(args.work_dir or os.path.join(
            REPO, 'build', 'port', target.name))
        output = os.path.abspath(args.output or target.patch_file)
        if args.restart and os.path.isdir(work_dir):
            shutil.rmtree(work_dir)
        if not os.path.isdir(os.path.join(work_dir, 'tree')):
            if os.path.exists(work_dir):
                shutil.rmtree(work_dir)
            base_patch = os.path.abspath(args.base_patch
                                         or closest_patch(target))
            problems = start(target, work_dir, base_patch, args.pristine,
                             args.python)
            if leftovers(os.path.join(work_dir, 'tree')):
                say()
                say('%d problem(s). Fix them in %s (a failed hunk is in the '
                    '.rej file next to its file; delete the .rej when '
                    'done), then run this command again to write %s.'
                    % (problems, os.path.join(work_dir, 'tree'),
                       os.path.relpath(output)))
                return 1
        else:
            say('Regenerating from %s' % os.path.join(work_dir, 'tree'))
        return regenerate(work_dir, args.python, output)
    except PortError as error:
        print('port-patch: error: %s' % error, file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
