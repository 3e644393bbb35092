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

"""tools/port-patch.py on small Nova-shaped trees, with real GNU patch.

The "release" here is a directory given with --pristine, so nothing is
downloaded; the base patch is made for an older release of the same tree.
"""

import importlib.util
import os
import subprocess
import textwrap

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
VERSIONS = os.path.join('nova', 'db', 'main', 'migrations', 'versions')
TEST_MIGRATIONS = os.path.join('nova', 'tests', 'unit', 'db', 'main',
                               'test_migrations.py')


@pytest.fixture(scope='module')
def port_patch():
    spec = importlib.util.spec_from_file_location(
        'port_patch', os.path.join(REPO_ROOT, 'tools', 'port-patch.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def migration(revision, down_revision):
    return textwrap.dedent('''\
        """A migration

        Revision ID: %(revision)s
        Revises: %(down)s
        """

        revision = '%(revision)s'
        down_revision = %(down_value)s
        ''') % {'revision': revision, 'down': down_revision,
                'down_value': repr(down_revision)}


def write(root, path, text):
    path = os.path.join(root, path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


def read(root, path):
    with open(os.path.join(root, path)) as f:
        return f.read()


MODULE = ''.join('line %d\n' % number for number in range(1, 21))


def release(root, head='bbb', module=MODULE):
    """A nova tree whose migrations end at head."""
    write(root, 'nova/__init__.py', '')
    write(root, 'nova/compute/manager.py', module)
    write(root, os.path.join(VERSIONS, 'aaa_first.py'),
          migration('aaa', None))
    if head == 'bbb':
        write(root, os.path.join(VERSIONS, 'bbb_second.py'),
              migration('bbb', 'aaa'))
    write(root, TEST_MIGRATIONS, 'class Walk:\n    pass\n')
    return root


@pytest.fixture
def base_patch(tmp_path):
    """A patch made for the older release (migrations end at aaa)."""
    old = release(str(tmp_path / 'old' / 'a'), head='aaa')
    new = str(tmp_path / 'old' / 'b')
    subprocess.run(['cp', '-a', old, new], check=True)
    write(new, 'nova/compute/manager.py',
          MODULE.replace('line 10\n', 'line 10\nfpga seam\n'))
    write(new, os.path.join(VERSIONS, 'f00d_add_fpga.py'),
          migration('f00d', 'aaa'))
    write(new, TEST_MIGRATIONS,
          'class Walk:\n    pass\n\n    def _check_f00d(self):\n'
          '        pass\n')
    diff = subprocess.run(
        ['diff', '-ruN', 'a', 'b'], cwd=str(tmp_path / 'old'),
        capture_output=True, text=True).stdout
    patch = tmp_path / 'nova-1.0.0.patch'
    patch.write_text(diff)
    return str(patch)


def run(port_patch, tmp_path, base_patch, pristine):
    return port_patch.main([
        '2.0.0', '--pristine', pristine, '--from', base_patch,
        '--work-dir', str(tmp_path / 'work'),
        '--output', str(tmp_path / 'nova-2.0.0.patch')])


def test_port_moves_the_migration_onto_the_new_head(
        port_patch, tmp_path, base_patch, capsys):
    pristine = release(str(tmp_path / 'release'))

    assert run(port_patch, tmp_path, base_patch, pristine) == 0

    revision = port_patch.revision_for('bbb')
    patch = (tmp_path / 'nova-2.0.0.patch').read_text()
    assert '+fpga seam' in patch
    assert "+revision = '%s'" % revision in patch
    assert "+down_revision = 'bbb'" in patch
    assert '+Revises: bbb' in patch
    assert 'b/%s/%s_add_fpga.py' % (VERSIONS, revision) in patch
    assert '_check_%s' % revision in patch
    assert 'f00d' not in patch
    assert 'every hunk applied' in capsys.readouterr().out
    # The new patch applies to the release as patch -p1 does.
    subprocess.run(['patch', '-p1', '--dry-run', '--fuzz=0', '--input',
                    str(tmp_path / 'nova-2.0.0.patch')], cwd=pristine,
                   check=True, capture_output=True)


def release_with_moved_seam(tmp_path):
    """(module, release directory) of a release moved around the seam."""
    moved = MODULE.replace('line 9\n', 'line nine\n').replace(
        'line 11\n', 'line eleven\n')
    return moved, release(str(tmp_path / 'release'), module=moved)


def test_failed_hunk_is_reported_then_regenerated_once_fixed(
        port_patch, tmp_path, base_patch, capsys):
    moved, pristine = release_with_moved_seam(tmp_path)

    assert run(port_patch, tmp_path, base_patch, pristine) == 1

    out = capsys.readouterr().out
    assert 'nova/compute/manager.py: hunk #1 FAILED' in out
    assert not (tmp_path / 'nova-2.0.0.patch').exists()
    tree = str(tmp_path / 'work' / 'tree')
    # The maintainer makes the change by hand and drops the reject.
    write(tree, 'nova/compute/manager.py',
          moved.replace('line 10\n', 'line 10\nfpga seam\n'))
    os.remove(os.path.join(tree, 'nova/compute/manager.py.rej'))

    assert run(port_patch, tmp_path, base_patch, pristine) == 0

    patch = (tmp_path / 'nova-2.0.0.patch').read_text()
    assert '+fpga seam' in patch
    assert "+down_revision = 'bbb'" in patch
    assert '.rej' not in patch


def test_reject_left_in_tree_blocks_regeneration(
        port_patch, tmp_path, base_patch, capsys):
    _, pristine = release_with_moved_seam(tmp_path)
    assert run(port_patch, tmp_path, base_patch, pristine) == 1
    capsys.readouterr()

    assert run(port_patch, tmp_path, base_patch, pristine) == 1

    assert 'nova/compute/manager.py.rej' in capsys.readouterr().out
    assert not (tmp_path / 'nova-2.0.0.patch').exists()


def test_closest_patch_prefers_same_distribution_then_nearest_version(
        port_patch, tmp_path, monkeypatch):
    for name in ('nova-34.0.0.patch', 'nova-33.0.2.patch',
                 'nova-29.4.0.patch', 'debian_12-nova-26.2.2.patch'):
        (tmp_path / name).write_text('')
    monkeypatch.setattr(port_patch, 'PATCHES_DIR', str(tmp_path))

    def closest(spec):
        return os.path.basename(port_patch.closest_patch(
            port_patch.Target(spec)))

    assert closest('32.2.1') == 'nova-33.0.2.patch'
    # As near to 29 as to 33: the newer one.
    assert closest('31.3.1') == 'nova-33.0.2.patch'
    assert closest('28.0.0') == 'nova-29.4.0.patch'
    assert closest('35.0.0') == 'nova-34.0.0.patch'
    assert closest('debian_12-nova-26.2.3') == 'debian_12-nova-26.2.2.patch'
    assert closest('debian_13-nova-31.1.0') == 'nova-33.0.2.patch'
    # A release is never ported from its own patch.
    assert closest('33.0.2') == 'nova-34.0.0.patch'


def test_target_names(port_patch):
    assert port_patch.Target('33.0.2').name == 'nova-33.0.2'
    assert port_patch.Target('nova-33.0.2').name == 'nova-33.0.2'
    target = port_patch.Target('debian_12-nova-26.2.2')
    assert (target.distro, target.version) == ('debian_12', '26.2.2')
    with pytest.raises(port_patch.PortError):
        port_patch.Target('latest')


def test_object_fingerprint_rejects_are_recognised(port_patch, tmp_path):
    reject = tmp_path / 'test_objects.py.rej'
    reject.write_text(
        "--- a\n+++ b\n@@ -1,3 +1,3 @@\n"
        "     'ImageMeta': '1.8-642d1b2eb3e880a367f37d72dd76162d',\n"
        "-    'Instance': '2.8-2727dba5e4a078e6cc848c1f94f7eb24',\n"
        "+    'Instance': '2.9-47a082339067cdaecd843e360df6066c',\n")
    assert port_patch.only_object_hashes(str(reject))

    reject.write_text("--- a\n+++ b\n@@ -1 +1 @@\n-    x = 1\n+    x = 2\n")
    assert not port_patch.only_object_hashes(str(reject))
