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

"""The patch of the installed Nova against the wheel it was made for.

The installed nova is the patched one; the wheel's RECORD holds the
sha256 of every file as the wheel shipped it (dpkg's md5sums the md5 of
every file of a distribution's package, for Debian's python3-nova).
Reverting the patch on a copy must give exactly those files back, and
applying it again exactly the installed tree.
"""

import base64
import csv
import filecmp
import hashlib
import importlib.metadata
import os
import shutil
import subprocess

import fixtures
import testtools

import nova

from nova_fpga.patching import nova_install

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.realpath(__file__))))
INSTALLED = os.path.dirname(os.path.realpath(nova.__file__))
NOVA_INSTALL = nova_install.find_nova_install(os.path.dirname(INSTALLED))
# The file nova-fpga-patch picks for this Nova (nova-34.0.0.patch for the
# nova 34.0.0 wheel).
PATCH_NAME = NOVA_INSTALL.patch_file_name
PATCH = os.path.join(REPO, 'patches', PATCH_NAME)


def _patched_paths():
    """Paths (nova/...) the patch changes, and those it creates."""
    changed, created = set(), set()
    with open(PATCH) as patch:
        previous = None
        for line in patch:
            if line.startswith('--- '):
                previous = line[4:].strip()
            elif line.startswith('+++ '):
                path = line[4:].strip()[len('b/'):]
                (created if previous == '/dev/null' else changed).add(path)
    return changed, created


def _wheel_record():
    """nova/... path -> digest (see _sha256) of the file as shipped."""
    if NOVA_INSTALL.packaging == nova_install.DPKG:
        return _dpkg_md5sums()
    dist = importlib.metadata.distribution('nova')
    record = dist.read_text('RECORD')
    digests = {}
    for row in csv.reader(record.splitlines()):
        path, digest = row[0], row[1]
        if path.startswith('nova/') and digest.startswith('sha256='):
            digests[path] = digest[len('sha256='):]
    return digests


def _dpkg_md5sums():
    """nova/... path -> md5 (hex) from the package's md5sums."""
    package, _version = nova_install.dpkg_package_of(
        os.path.join(INSTALLED, '__init__.py'))
    md5sums = subprocess.run(
        ['dpkg-query', '--control-path', package, 'md5sums'],
        capture_output=True, text=True, check=True).stdout.strip()
    prefix = os.path.relpath(os.path.dirname(INSTALLED), '/') + '/'
    digests = {}
    with open(md5sums) as lines:
        for line in lines:
            digest, path = line.rstrip('\n').split('  ', 1)
            if path.startswith(prefix + 'nova/'):
                digests[path[len(prefix):]] = digest
    return digests


def _sha256(path):
    """The digest _wheel_record gives for the file at path."""
    if NOVA_INSTALL.packaging == nova_install.DPKG:
        with open(path, 'rb') as f:
            return hashlib.md5(f.read(), usedforsecurity=False).hexdigest()
    with open(path, 'rb') as f:
        digest = hashlib.sha256(f.read()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b'=').decode()


class NovaPatchTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        shutil.copytree(INSTALLED, os.path.join(self.tmp, 'nova'),
                        ignore=shutil.ignore_patterns('__pycache__'))

    def _patch(self, *args):
        with open(PATCH) as patch:
            return subprocess.run(['patch', '-p1', '-s', '-f', '-d', self.tmp]
                                  + list(args), stdin=patch,
                                  capture_output=True, text=True)

    def test_installed_nova_has_a_patch_of_its_own(self):
        self.assertTrue(os.path.isfile(PATCH), PATCH)
        self.assertIn('nova-%s.' % importlib.metadata.version('nova'),
                      PATCH_NAME)

    def test_revert_gives_back_the_wheel_files(self):
        changed, created = _patched_paths()
        self.assertEqual(0, self._patch('-R').returncode)

        record = _wheel_record()
        for path in sorted(changed):
            self.assertEqual(record[path],
                             _sha256(os.path.join(self.tmp, path)), path)
        for path in sorted(created):
            self.assertNotIn(path, record)
            self.assertFalse(os.path.exists(os.path.join(self.tmp, path)),
                             path)

    def test_apply_on_reverted_tree_gives_the_installed_tree(self):
        self.assertEqual(0, self._patch('-R').returncode)
        self.assertEqual(0, self._patch('--dry-run').returncode)
        self.assertEqual(0, self._patch().returncode)

        changed, created = _patched_paths()
        for path in sorted(changed | created):
            self.assertTrue(filecmp.cmp(
                os.path.join(self.tmp, path),
                os.path.join(os.path.dirname(INSTALLED), path),
                shallow=False), path)

    def test_patch_does_not_apply_twice(self):
        result = self._patch('-N', '--dry-run')
        self.assertNotEqual(0, result.returncode)

    def test_patch_stays_a_seam(self):
        """Only columns, fields, hook points and registration: no logic.

        The non-test lines the patch adds or removes stay few; the logic
        lives in nova_fpga.nova.
        """
        changed_lines = 0
        path = None
        with open(PATCH) as patch:
            for line in patch:
                if line.startswith('diff --git '):
                    path = line.split()[2]
                elif line.startswith(('+++', '---')):
                    continue
                elif line.startswith(('+', '-')) and '/tests/' not in path:
                    changed_lines += 1
        self.assertLessEqual(changed_lines, 160)
