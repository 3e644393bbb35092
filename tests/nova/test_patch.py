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

"""patches/nova-34.0.0.patch against the nova 34.0.0 wheel it was made for.

The installed nova is the patched one; the wheel's RECORD holds the
sha256 of every file as the wheel shipped it. Reverting the patch on a
copy must give exactly those files back, and applying it again exactly
the installed tree.
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

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.realpath(__file__))))
PATCH = os.path.join(REPO, 'patches', 'nova-34.0.0.patch')
INSTALLED = os.path.dirname(os.path.realpath(nova.__file__))


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
    """nova/... path -> sha256 digest (urlsafe base64) from RECORD."""
    dist = importlib.metadata.distribution('nova')
    record = dist.read_text('RECORD')
    digests = {}
    for row in csv.reader(record.splitlines()):
        path, digest = row[0], row[1]
        if path.startswith('nova/') and digest.startswith('sha256='):
            digests[path] = digest[len('sha256='):]
    return digests


def _sha256(path):
    with open(path, 'rb') as f:
        digest = hashlib.sha256(f.read()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b'=').decode()


class Nova34PatchTest(testtools.TestCase):

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

    def test_installed_nova_is_34_0_0(self):
        self.assertEqual('34.0.0', importlib.metadata.version('nova'))

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
