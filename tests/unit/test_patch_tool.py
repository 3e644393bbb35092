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

"""nova-fpga-patch on a real Nova 34.0.0 tree, with real GNU patch.

The Nova tree is the nova wheel from PyPI, unpacked: the same files pip
installs into site-packages. It is downloaded once and kept (in
$NOVA_FPGA_TEST_CACHE, or else pytest's cache directory). The patch applied
is a small one kept with these tests (patch_fixtures/), so that the tool is
tested independently of the real patches being written.
"""

import collections
import fcntl
import hashlib
import importlib.util
import logging
import os
import py_compile
import shutil
import stat
import subprocess
import sys
import zipfile

import pytest

from nova_fpga import patch_tool
from nova_fpga.patching import exception
from nova_fpga.patching import nova_install
from nova_fpga.patching import shipped_data
from nova_fpga.patching import unified_diff

NOVA_VERSION = '34.0.0'
NOVA_WHEEL = 'nova-%s-py3-none-any.whl' % NOVA_VERSION
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        'patch_fixtures')
FIXTURE_FILTERS = os.path.join(FIXTURES, 'fpga.filters')
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

# What the fixture patch does to the tree.
NEW_MODULE = 'nova/hooks.py'
NEW_PACKAGE_DIR = 'nova/virt/fpga_shim'
NEW_PACKAGE = NEW_PACKAGE_DIR + '/__init__.py'
CHANGED_MODULE = 'nova/virt/driver.py'
ADDED_LINE = 'LOG.debug("Compute drivers are looked up below nova.virt")'
# A line of Nova's own in the context of the fixture patch's hunk.
CONTEXT_LINE = 'LOG.info("Loading compute driver \'%s\'", compute_driver)'

ToolResult = collections.namedtuple('ToolResult', 'exit_code out err')


# Fixtures ------------------------------------------------------------------

@pytest.fixture(scope='session')
def nova_wheel(request, tmp_path_factory):
    if os.environ.get('NOVA_FPGA_TEST_CACHE'):
        cache_dir = os.environ['NOVA_FPGA_TEST_CACHE']
    elif getattr(request.config, 'cache', None) is not None:
        cache_dir = str(request.config.cache.mkdir('nova-wheels'))
    else:
        # pytest's cache is switched off: download for this run only.
        cache_dir = str(tmp_path_factory.mktemp('nova-wheels'))
    os.makedirs(cache_dir, exist_ok=True)
    wheel = os.path.join(cache_dir, NOVA_WHEEL)
    if not os.path.isfile(wheel):
        download_dir = os.path.join(cache_dir, '.download-%d' % os.getpid())
        result = subprocess.run(
            [sys.executable, '-m', 'pip', 'download', '--no-deps',
             '--only-binary', ':all:', '--dest', download_dir,
             'nova==%s' % NOVA_VERSION],
            capture_output=True, text=True)
        if result.returncode != 0:
            pytest.fail('cannot download nova %s from PyPI:\n%s%s'
                        % (NOVA_VERSION, result.stdout, result.stderr))
        # Renamed into place, so a test run that is killed or running in
        # parallel never sees half a wheel.
        os.replace(os.path.join(download_dir, NOVA_WHEEL), wheel)
        shutil.rmtree(download_dir, ignore_errors=True)
    return wheel


@pytest.fixture(scope='session')
def pristine_nova_dir(nova_wheel, tmp_path_factory):
    """The nova package and its dist-info, as pip installs them."""
    site_packages = tmp_path_factory.mktemp('pristine') / 'site-packages'
    with zipfile.ZipFile(nova_wheel) as wheel:
        members = [name for name in wheel.namelist()
                   if name.startswith(('nova/', 'nova-%s.dist-info/'
                                       % NOVA_VERSION))]
        wheel.extractall(site_packages, members)
    return str(site_packages)


@pytest.fixture
def nova_dir(pristine_nova_dir, tmp_path):
    """A copy of the pristine tree this test may change."""
    site_packages = tmp_path / 'site-packages'
    shutil.copytree(pristine_nova_dir, site_packages)
    return str(site_packages)


@pytest.fixture(autouse=True)
def _restore_root_logger():
    # The tool sets up logging for a whole process; give the next test the
    # logging it had.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def run_tool(capsys):
    def run(*argv):
        exit_code = patch_tool.main([str(arg) for arg in argv])
        captured = capsys.readouterr()
        return ToolResult(exit_code, captured.out, captured.err)
    return run


@pytest.fixture
def tool(run_tool, nova_dir):
    """Run the tool on ``nova_dir`` with the fixture patches."""
    def run(command, *argv):
        return run_tool(command, '--nova-dir', nova_dir,
                        '--patches-dir', FIXTURES, *argv)
    return run


# Helpers -------------------------------------------------------------------

def tree_snapshot(root):
    """Every file's content digest and mode, and every directory."""
    files, dirs = {}, set()
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames:
            dirs.add(os.path.relpath(os.path.join(directory, name), root))
        for name in filenames:
            path = os.path.join(directory, name)
            with open(path, 'rb') as content:
                digest = hashlib.sha256(content.read()).hexdigest()
            files[os.path.relpath(path, root)] = (
                digest, stat.S_IMODE(os.lstat(path).st_mode))
    return files, dirs


def modification_times(root, paths):
    return {path: os.stat(os.path.join(root, path)).st_mtime_ns
            for path in paths if os.path.exists(os.path.join(root, path))}


def assert_no_backup_or_reject_files(root):
    leftovers = [os.path.join(directory, name)
                 for directory, _dirs, names in os.walk(root)
                 for name in names if name.endswith(('.orig', '.rej'))]
    assert leftovers == []


def read(root, path):
    with open(os.path.join(root, path), encoding='utf-8') as source:
        return source.read()


def replace_in(root, path, old, new):
    text = read(root, path)
    assert old in text
    with open(os.path.join(root, path), 'w', encoding='utf-8') as source:
        source.write(text.replace(old, new, 1))


def copy_fixture_patch_as(patches_dir, *names):
    os.makedirs(patches_dir, exist_ok=True)
    for name in names:
        shutil.copy(os.path.join(FIXTURES, 'nova-34.0.0.patch'),
                    os.path.join(patches_dir, name))


# status and check ----------------------------------------------------------

def test_status_of_pristine_tree_is_not_applied(tool, nova_dir):
    before = tree_snapshot(nova_dir)

    result = tool('status')

    assert result.exit_code == patch_tool.EXIT_NOT_APPLIED
    assert 'Nova 34.0.0 (nova-34.0.0.dist-info) in %s' % nova_dir in (
        result.out)
    assert os.path.join(FIXTURES, 'nova-34.0.0.patch') in result.out
    assert 'State: not applied' in result.out
    assert tree_snapshot(nova_dir) == before


def test_check_on_pristine_tree_says_it_applies_and_changes_nothing(
        tool, nova_dir):
    before = tree_snapshot(nova_dir)

    result = tool('check')

    assert result.exit_code == patch_tool.EXIT_OK
    assert 'nova-34.0.0.patch applies cleanly' in result.out
    assert tree_snapshot(nova_dir) == before


def test_apply_patches_the_tree_and_status_says_applied(tool, nova_dir):
    result = tool('apply')

    assert result.exit_code == patch_tool.EXIT_OK, result.err
    assert 'Applied nova-34.0.0.patch' in result.out
    assert 'HOOK_NAMESPACE' in read(nova_dir, NEW_MODULE)
    assert os.path.isfile(os.path.join(nova_dir, NEW_PACKAGE))
    assert ADDED_LINE in read(nova_dir, CHANGED_MODULE)
    assert_no_backup_or_reject_files(nova_dir)

    status = tool('status')
    assert status.exit_code == patch_tool.EXIT_OK
    assert 'State: applied' in status.out


def test_check_on_applied_tree_says_already_applied(tool, nova_dir):
    assert tool('apply').exit_code == patch_tool.EXIT_OK
    before = tree_snapshot(nova_dir)

    result = tool('check')

    assert result.exit_code == patch_tool.EXIT_OK
    assert 'already applied' in result.out
    assert tree_snapshot(nova_dir) == before


def test_apply_twice_reports_already_applied_and_leaves_tree_untouched(
        tool, nova_dir):
    assert tool('apply').exit_code == patch_tool.EXIT_OK
    before = tree_snapshot(nova_dir)
    touched = [NEW_MODULE, NEW_PACKAGE, CHANGED_MODULE]
    times_before = modification_times(nova_dir, touched)

    result = tool('apply')

    assert result.exit_code == patch_tool.EXIT_OK
    assert 'nova-34.0.0.patch is already applied' in result.out
    assert 'the tree was not changed' in result.out
    assert tree_snapshot(nova_dir) == before
    assert modification_times(nova_dir, touched) == times_before


# Refusals ------------------------------------------------------------------

def test_apply_refuses_tree_with_conflicting_local_change(tool, nova_dir):
    replace_in(nova_dir, CHANGED_MODULE, CONTEXT_LINE,
               CONTEXT_LINE.replace('LOG.info', 'LOG.warning'))
    before = tree_snapshot(nova_dir)

    result = tool('apply')

    assert result.exit_code == patch_tool.EXIT_CONFLICT
    assert 'cannot apply nova-34.0.0.patch' in result.err
    assert 'nothing was changed' in result.err
    assert 'conflicting:  %s' % CHANGED_MODULE in result.err
    assert 'Hunk #1 FAILED' in result.err
    assert tree_snapshot(nova_dir) == before
    assert_no_backup_or_reject_files(nova_dir)


def test_check_and_status_report_the_conflicting_file(tool, nova_dir):
    replace_in(nova_dir, CHANGED_MODULE, CONTEXT_LINE,
               CONTEXT_LINE.replace('LOG.info', 'LOG.warning'))

    check = tool('check')
    status = tool('status')

    assert check.exit_code == patch_tool.EXIT_CONFLICT
    assert 'conflicting:  %s' % CHANGED_MODULE in check.err
    assert status.exit_code == patch_tool.EXIT_CONFLICT
    assert 'State: conflicting' in status.out
    assert 'conflicting:  %s' % CHANGED_MODULE in status.out
    assert 'not applied:  %s' % NEW_MODULE in status.out


def test_apply_refuses_when_a_file_it_creates_already_exists(tool, nova_dir):
    with open(os.path.join(nova_dir, NEW_MODULE), 'w') as local:
        local.write('# a local module of the same name\n')
    before = tree_snapshot(nova_dir)

    result = tool('apply')

    assert result.exit_code == patch_tool.EXIT_CONFLICT
    assert 'conflicting:  %s' % NEW_MODULE in result.err
    assert 'already exists' in result.err
    assert tree_snapshot(nova_dir) == before


def test_partially_applied_tree_is_reported_and_left_alone(tool, nova_dir):
    # Only the new module of the patch is in place.
    with open(os.path.join(nova_dir, NEW_MODULE), 'w') as module:
        module.write('"""Stand-in for the restored hook facility."""\n\n'
                     "HOOK_NAMESPACE = 'nova.hooks'\n")
    before = tree_snapshot(nova_dir)

    status = tool('status')
    apply = tool('apply')
    revert = tool('revert')

    assert status.exit_code == patch_tool.EXIT_CONFLICT
    assert 'State: partially applied' in status.out
    assert 'applied:      %s' % NEW_MODULE in status.out
    assert 'not applied:  %s' % CHANGED_MODULE in status.out
    for refused in (apply, revert):
        assert refused.exit_code == patch_tool.EXIT_CONFLICT
        assert 'the patch is partially applied' in refused.err
    assert tree_snapshot(nova_dir) == before


def test_revert_on_unapplied_tree_is_refused(tool, nova_dir):
    before = tree_snapshot(nova_dir)

    result = tool('revert')

    assert result.exit_code == patch_tool.EXIT_NOT_APPLIED
    assert 'nova-34.0.0.patch is not applied' in result.err
    assert 'nothing to revert' in result.err
    assert tree_snapshot(nova_dir) == before


# Round trip ----------------------------------------------------------------

@pytest.mark.parametrize('patches_dir', [
    FIXTURES,
    # New files as "diff -N" marks them: dated at the epoch.
    os.path.join(FIXTURES, 'diff_style'),
], ids=['git-style', 'diff-style'])
def test_apply_then_revert_leaves_every_file_byte_identical(
        run_tool, nova_dir, patches_dir):
    pristine = tree_snapshot(nova_dir)
    where = ('--nova-dir', nova_dir, '--patches-dir', patches_dir)

    assert run_tool('apply', *where).exit_code == patch_tool.EXIT_OK
    assert tree_snapshot(nova_dir) != pristine
    result = run_tool('revert', *where)

    assert result.exit_code == patch_tool.EXIT_OK, result.err
    assert 'Reverted nova-34.0.0.patch' in result.out
    assert tree_snapshot(nova_dir) == pristine
    assert not os.path.exists(os.path.join(nova_dir, NEW_PACKAGE_DIR))
    assert_no_backup_or_reject_files(nova_dir)
    assert run_tool('status', *where).exit_code == (
        patch_tool.EXIT_NOT_APPLIED)


def test_revert_removes_what_python_compiled_from_new_modules(
        tool, nova_dir):
    pristine = tree_snapshot(nova_dir)
    assert tool('apply').exit_code == patch_tool.EXIT_OK
    # As if Nova had run on the patched tree.
    for module in (NEW_MODULE, NEW_PACKAGE, CHANGED_MODULE):
        source = os.path.join(nova_dir, module)
        py_compile.compile(source,
                           cfile=importlib.util.cache_from_source(source),
                           doraise=True)

    assert tool('revert').exit_code == patch_tool.EXIT_OK

    files, dirs = tree_snapshot(nova_dir)
    assert NEW_PACKAGE_DIR not in dirs
    assert not [path for path in files
                if os.path.basename(path).startswith('hooks.')]
    # Only the bytecode of Nova's own module stays (Python checks it
    # against the source, so the stale copy is harmless).
    compiled = {path for path in files if path not in pristine[0]}
    assert compiled == {os.path.relpath(importlib.util.cache_from_source(
        os.path.join(nova_dir, CHANGED_MODULE)), nova_dir)}


def test_failure_after_patching_puts_the_tree_back(tool, nova_dir, tmp_path):
    # The filter file cannot replace a directory of the same name, so the
    # last step of apply fails after GNU patch has run.
    rootwrap_dir = tmp_path / 'rootwrap.d'
    (rootwrap_dir / 'fpga.filters').mkdir(parents=True)
    pristine = tree_snapshot(nova_dir)

    result = tool('apply', '--rootwrap-dir', rootwrap_dir,
                  '--filters-file', FIXTURE_FILTERS)

    assert result.exit_code == patch_tool.EXIT_ERROR
    assert 'cannot install' in result.err
    assert 'were put back as they were' in result.err
    assert tree_snapshot(nova_dir) == pristine
    assert os.listdir(rootwrap_dir) == ['fpga.filters']


@pytest.mark.skipif(os.geteuid() == 0, reason='root may write anywhere')
def test_apply_on_a_tree_this_user_cannot_write_changes_nothing(
        tool, nova_dir):
    virt_dir = os.path.join(nova_dir, 'nova', 'virt')
    pristine = tree_snapshot(nova_dir)
    os.chmod(virt_dir, 0o555)
    try:
        result = tool('apply')
    finally:
        os.chmod(virt_dir, 0o755)

    assert result.exit_code == patch_tool.EXIT_ERROR
    assert 'cannot write %s' % virt_dir in result.err
    assert tree_snapshot(nova_dir) == pristine


def test_apply_while_another_run_changes_the_tree_is_refused(
        tool, nova_dir):
    pristine = tree_snapshot(nova_dir)
    other_run = os.open(os.path.join(nova_dir, 'nova'), os.O_RDONLY)
    try:
        fcntl.flock(other_run, fcntl.LOCK_EX)

        result = tool('apply')
    finally:
        os.close(other_run)

    assert result.exit_code == patch_tool.EXIT_ERROR
    assert 'another run of the patch tool' in result.err
    assert tree_snapshot(nova_dir) == pristine
    assert tool('apply').exit_code == patch_tool.EXIT_OK


# Rootwrap filters ----------------------------------------------------------

def test_apply_installs_and_revert_removes_rootwrap_filters(
        tool, nova_dir, tmp_path):
    rootwrap_dir = tmp_path / 'rootwrap.d'
    rootwrap_dir.mkdir()
    installed = rootwrap_dir / 'fpga.filters'
    rootwrap = ('--rootwrap-dir', rootwrap_dir,
                '--filters-file', FIXTURE_FILTERS)

    applied = tool('apply', *rootwrap)
    status = tool('status', *rootwrap)

    assert applied.exit_code == patch_tool.EXIT_OK, applied.err
    assert 'Installed the rootwrap filter file %s' % installed in applied.out
    with open(FIXTURE_FILTERS, 'rb') as shipped:
        assert installed.read_bytes() == shipped.read()
    assert stat.S_IMODE(installed.stat().st_mode) == 0o644
    assert 'Rootwrap filters %s: installed' % installed in status.out

    reverted = tool('revert', *rootwrap)

    assert reverted.exit_code == patch_tool.EXIT_OK, reverted.err
    assert 'Removed the rootwrap filter file %s' % installed in reverted.out
    assert os.listdir(rootwrap_dir) == []


def test_apply_on_applied_tree_installs_missing_rootwrap_filters(
        tool, nova_dir, tmp_path):
    rootwrap_dir = tmp_path / 'rootwrap.d'
    rootwrap_dir.mkdir()
    assert tool('apply').exit_code == patch_tool.EXIT_OK
    before = tree_snapshot(nova_dir)

    result = tool('apply', '--rootwrap-dir', rootwrap_dir,
                  '--filters-file', FIXTURE_FILTERS)

    assert result.exit_code == patch_tool.EXIT_OK
    assert 'already applied' in result.out
    assert (rootwrap_dir / 'fpga.filters').is_file()
    assert tree_snapshot(nova_dir) == before


def test_apply_with_missing_rootwrap_dir_changes_nothing(
        tool, nova_dir, tmp_path):
    pristine = tree_snapshot(nova_dir)

    result = tool('apply', '--rootwrap-dir', tmp_path / 'no-such-dir',
                  '--filters-file', FIXTURE_FILTERS)

    assert result.exit_code == patch_tool.EXIT_ERROR
    assert 'does not exist' in result.err
    assert tree_snapshot(nova_dir) == pristine


# Finding Nova and its patch ------------------------------------------------

def test_unsupported_version_error_names_it_and_lists_supported_ones(
        run_tool, nova_dir, tmp_path):
    patches_dir = tmp_path / 'patches'
    copy_fixture_patch_as(patches_dir, 'nova-33.0.2.patch',
                          'nova-29.4.0.patch', 'debian_12-nova-26.2.2.patch')

    result = run_tool('apply', '--nova-dir', nova_dir,
                      '--patches-dir', patches_dir)

    assert result.exit_code == patch_tool.EXIT_UNSUPPORTED
    assert 'Nova 34.0.0' in result.err
    assert 'is not supported' in result.err
    assert 'no nova-34.0.0.patch in %s' % patches_dir in result.err
    listed = result.err[result.err.index('Supported Nova releases:'):]
    # PyPI releases first, then distributions' packages.
    assert [line.split() for line in listed.splitlines()[1:]] == [
        ['29.4.0', 'nova-29.4.0.patch'],
        ['33.0.2', 'nova-33.0.2.patch'],
        ['26.2.2', '(debian_12', 'package)', 'debian_12-nova-26.2.2.patch'],
    ]


@pytest.mark.parametrize('version, packaging, os_release, expected', [
    ('34.0.0', nova_install.PYTHON_DIST, None, 'nova-34.0.0.patch'),
    ('2:26.2.2-1~deb12u5', nova_install.DPKG, None,
     'debian_12-nova-26.2.2.patch'),
    ('2:26.2.2-1+deb12u1', nova_install.DPKG, None,
     'debian_12-nova-26.2.2.patch'),
    ('2:22.0.1-2~bpo11+1', nova_install.DPKG, None,
     'debian_11-nova-22.0.1.patch'),
    # Revisions that do not name the release: os-release does.
    ('2:26.1.0-4', nova_install.DPKG, {'ID': 'debian', 'VERSION_ID': '12'},
     'debian_12-nova-26.1.0.patch'),
    ('3:29.2.0-0ubuntu1', nova_install.DPKG,
     {'ID': 'ubuntu', 'VERSION_ID': '24.04'},
     'ubuntu_24.04-nova-29.2.0.patch'),
])
def test_patch_file_name_for_each_packaging(version, packaging, os_release,
                                            expected):
    assert nova_install.patch_file_name(
        version, packaging, os_release) == expected


def test_patch_file_name_needs_a_distribution_release_for_dpkg():
    with pytest.raises(exception.NovaVersionUnknown, match='2:26.1.0-4'):
        nova_install.patch_file_name('2:26.1.0-4', nova_install.DPKG, {})


def test_parse_os_release():
    assert nova_install.parse_os_release(
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'
        '# comment\nVERSION_ID="12"\nID=debian\n') == {
            'PRETTY_NAME': 'Debian GNU/Linux 12 (bookworm)',
            'VERSION_ID': '12', 'ID': 'debian'}


def test_find_nova_install_reads_the_dist_info(nova_dir):
    install = nova_install.find_nova_install(nova_dir)

    assert install.nova_dir == nova_dir
    assert install.package_version == NOVA_VERSION
    assert install.packaging == nova_install.PYTHON_DIST
    assert install.version_source == 'nova-34.0.0.dist-info'
    assert install.patch_file_name == 'nova-34.0.0.patch'


def test_nova_without_package_metadata_is_an_error(run_tool, tmp_path):
    (tmp_path / 'nova').mkdir()
    (tmp_path / 'nova' / '__init__.py').write_text('')

    result = run_tool('status', '--nova-dir', tmp_path,
                      '--patches-dir', FIXTURES)

    assert result.exit_code == patch_tool.EXIT_ERROR
    assert 'version is unknown' in result.err


def test_directory_without_nova_is_an_error(run_tool, tmp_path):
    result = run_tool('status', '--nova-dir', tmp_path,
                      '--patches-dir', FIXTURES)

    assert result.exit_code == patch_tool.EXIT_ERROR
    assert 'there is no nova package in %s' % tmp_path in result.err


def test_missing_patches_dir_is_an_error(run_tool, nova_dir, tmp_path):
    result = run_tool('status', '--nova-dir', nova_dir,
                      '--patches-dir', tmp_path / 'no-such-dir')

    assert result.exit_code == patch_tool.EXIT_ERROR
    assert 'the patches directory %s does not exist' % (
        tmp_path / 'no-such-dir') in result.err


def test_default_nova_is_the_one_this_python_imports(nova_dir, tmp_path):
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [nova_dir, REPO_ROOT]))

    result = subprocess.run(
        [sys.executable, '-m', 'nova_fpga.patch_tool', 'status',
         '--patches-dir', FIXTURES],
        cwd=tmp_path, env=environment, capture_output=True, text=True)

    assert result.returncode == patch_tool.EXIT_NOT_APPLIED, result.stderr
    assert 'Nova 34.0.0 (nova-34.0.0.dist-info) in %s' % nova_dir in (
        result.stdout)


@pytest.mark.skipif(shutil.which('dpkg-query') is None,
                    reason='needs dpkg')
def test_dpkg_package_of_a_packaged_file_and_of_a_pip_installed_one(
        nova_dir):
    dpkg_version = subprocess.run(
        ['dpkg-query', '--show', '--showformat=${Version}', 'dpkg'],
        capture_output=True, text=True, check=True).stdout

    assert nova_install.dpkg_package_of(shutil.which('dpkg-query')) == (
        'dpkg', dpkg_version)
    assert nova_install.dpkg_package_of(
        os.path.join(nova_dir, 'nova', '__init__.py')) is None


def test_shipped_data_is_looked_for_below_the_install_prefix():
    candidates = shipped_data.candidates(shipped_data.PATCHES_DIR, 'patches')

    assert os.path.join(sys.prefix, 'share', 'nova_fpga',
                        'patches') in candidates
    if shipped_data.checkout_root() is not None:
        # Run from a checkout: its own patches come first.
        assert candidates[0] == os.path.join(REPO_ROOT, 'patches')


# The unified diff reader ---------------------------------------------------

DIFF_WITH_TIMESTAMPS = b"""\
diff -ruN a/nova/new.py b/nova/new.py
--- a/nova/new.py\t1970-01-01 00:00:00.000000000 +0000
+++ b/nova/new.py\t2026-01-01 00:00:00.000000000 +0000
@@ -0,0 +1,2 @@
+one
+two
--- a/nova/old.py\t2026-01-01 00:00:00.000000000 +0000
+++ b/nova/old.py\t2026-01-01 00:00:00.000000000 +0000
@@ -1,3 +1,3 @@
 a
-b
+B
 c
\\ No newline at end of file
@@ -10,2 +10,3 @@
 j

+k
--- a/nova/new.py
+++ b/nova/new.py
@@ -1,2 +1,2 @@
 one
-two
+three
"""


def test_unified_diff_is_split_per_file_in_order():
    file_diffs = unified_diff.parse(DIFF_WITH_TIMESTAMPS)

    assert [file_diff.path for file_diff in file_diffs] == [
        'nova/new.py', 'nova/old.py']
    new, old = file_diffs
    assert new.text.startswith(b'diff -ruN a/nova/new.py')
    assert new.text.count(b'@@ -') == 2
    assert old.text.count(b'@@ -') == 2
    assert old.text.endswith(b'+k\n')


def test_fixture_patch_files_are_read():
    with open(os.path.join(FIXTURES, 'nova-34.0.0.patch'), 'rb') as patch:
        file_diffs = unified_diff.parse(patch.read())

    assert [file_diff.path for file_diff in file_diffs] == [
        NEW_MODULE, CHANGED_MODULE, NEW_PACKAGE]


@pytest.mark.parametrize('text, message', [
    (b'--- a/../etc/passwd\n+++ b/../etc/passwd\n@@ -1 +1 @@\n-a\n+b\n',
     'below the directory'),
    (b'--- a/nova/x.py\n+++ b/nova/x.py\n@@ -1,2 +1,2 @@\n-a\n+b\n',
     'ends before its last line'),
    (b'--- a/nova/x.py\n+++ b/nova/y.py\n@@ -1 +1 @@\n-a\n+b\n',
     'renames'),
    (b'--- a/nova/x.py\n+++ b/nova/x.py\n@@ -1 +1,2 @@\n a\n b\n',
     'more lines than its header counts'),
    (b'--- a/nova/x.py\n+++ b/nova/x.py\nno hunk\n', 'not followed'),
    (b'just text\n', 'changes no file'),
])
def test_unusable_diffs_are_refused(text, message):
    with pytest.raises(exception.MalformedPatch, match=message):
        unified_diff.parse(text)
