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

"""The simulated FPGA's state: its regions, in a locked JSON file.

Every fpga-cli process holds an exclusive lock on ``<state dir>/lock``
while it reads, changes and writes ``<state dir>/state.json``, and the
file is replaced atomically (write a temporary file, fsync, rename), so
concurrent burns never hand out one region twice and a crash never
leaves a half-written file.

``<state dir>/usage`` holds the counts ``status`` prints, with the
identity of the state file they were taken from, so that the status
poll Nova runs most often reads one short line instead of parsing the
state (its JSON parser is most of a status call's cost).

``<state dir>/verified/<image id>.json`` keeps what the verification of
an IP-core package found, so that a later burn of the same image need
not fetch it again: Glance never changes the data of an image once it is
uploaded, and Nova checks that the image is still there and trusted
before every burn.
"""

import fcntl
import os

STATE_FORMAT = 1
STATE_FILE = 'state.json'
USAGE_FILE = 'usage'
LOCK_FILE = 'lock'
VERIFIED_DIR = 'verified'
_UUID_CHARACTERS = frozenset('0123456789abcdefABCDEF-')


class StateError(Exception):
    """The state cannot be read or written; the message says why."""


class RegionTable(object):
    """The regions of one simulated FPGA."""

    def __init__(self, regions, next_burn=1):
        self.regions = regions
        self.next_burn = next_burn

    @classmethod
    def empty(cls, total):
        return cls([_free_region(index) for index in range(total)])

    @property
    def used(self):
        return sum(1 for region in self.regions if region['region_id'])

    @property
    def total(self):
        return len(self.regions)

    def resize(self, total):
        """Grow or shrink to total regions; programmed ones never go."""
        for region in self.regions[total:]:
            if region['region_id']:
                raise StateError(
                    'FPGA_CLI_REGIONS=%d, but region %d beyond that is '
                    'programmed (%s): erase it first'
                    % (total, region['index'], region['region_id']))
        del self.regions[total:]
        for index in range(len(self.regions), total):
            self.regions.append(_free_region(index))

    def free_region(self):
        for region in self.regions:
            if not region['region_id']:
                return region
        return None

    def find(self, region_id):
        for region in self.regions:
            if region['region_id'] == region_id:
                return region
        return None

    def to_dict(self):
        return {'format': STATE_FORMAT, 'next_burn': self.next_burn,
                'regions': self.regions}

    @classmethod
    def from_dict(cls, data):
        if (not isinstance(data, dict)
                or data.get('format') != STATE_FORMAT
                or not isinstance(data.get('regions'), list)
                or not isinstance(data.get('next_burn'), int)):
            raise ValueError('not a format %d state' % STATE_FORMAT)
        for index, region in enumerate(data['regions']):
            if (not isinstance(region, dict)
                    or region.get('index') != index
                    or 'region_id' not in region):
                raise ValueError('region %d is malformed' % index)
        return cls(data['regions'], data['next_burn'])


def _identity(file_stat):
    """What changes whenever the state file is replaced or written."""
    return [str(file_stat.st_ino), str(file_stat.st_mtime_ns),
            str(file_stat.st_size)]


def _free_region(index):
    return {'index': index, 'region_id': None}


class _Lock(object):
    """An exclusive flock on the state directory's lock file.

    A class rather than contextlib.contextmanager: importing contextlib
    would be a good part of what a status call costs.
    """

    def __init__(self, path):
        self.path = path
        self.stream = None

    def __enter__(self):
        directory = os.path.dirname(self.path)
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            self.stream = open(self.path, 'a')
        except OSError as e:
            raise StateError('cannot use state directory %s: %s'
                             % (directory, e.strerror))
        try:
            fcntl.flock(self.stream, fcntl.LOCK_EX)
        except BaseException:
            self.stream.close()
            raise

    def __exit__(self, *exc_info):
        # Closing the file releases the lock.
        self.stream.close()


class StateFile(object):
    """The state directory: a lock file and the state file."""

    def __init__(self, directory):
        self.directory = directory
        self.path = os.path.join(directory, STATE_FILE)
        self.usage_path = os.path.join(directory, USAGE_FILE)

    def locked(self):
        """Hold the state lock in a with block."""
        return _Lock(os.path.join(self.directory, LOCK_FILE))

    def usage(self, total):
        """(used, total) as the last save left them, or None.

        None unless the usage file describes the state file as it is now
        and total regions: after a crash between the two writes, an edit
        by hand or a change of FPGA_CLI_REGIONS, the caller loads the
        table instead. Call with the lock held.
        """
        try:
            with open(self.usage_path) as usage:
                recorded = usage.read()
            current = _identity(os.stat(self.path))
        except OSError:
            return None
        fields = recorded.split()
        if (len(fields) != 2 + len(current) or fields[2:] != current
                or fields[1] != str(total) or not fields[0].isdigit()):
            return None
        return int(fields[0]), total

    def load(self, total):
        """The region table (call with the lock held)."""
        try:
            with open(self.path) as state:
                text = state.read()
        except FileNotFoundError:
            return RegionTable.empty(total)
        except OSError as e:
            raise StateError('cannot read FPGA state file %s: %s'
                             % (self.path, e.strerror))
        # Imported where it is used: a plain status, which Nova polls,
        # reads the usage file and never needs it.
        import json
        try:
            table = RegionTable.from_dict(json.loads(text))
        except ValueError as e:
            raise StateError('FPGA state file %s is corrupt (%s); move it '
                             'away only after erasing every region by hand'
                             % (self.path, e))
        table.resize(total)
        return table

    def verified_manifest(self, image_id):
        """What verifying image_id's package found, or None."""
        path = self._verified_path(image_id)
        if path is None:
            return None
        import json
        try:
            with open(path) as verified:
                fields = json.load(verified)
        except (OSError, ValueError):
            return None
        return fields if isinstance(fields, dict) else None

    def record_verified(self, image_id, fields):
        """Keep what verifying image_id's package found (best effort)."""
        path = self._verified_path(image_id)
        if path is None:
            return
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            self._replace(path, fields)
        except (OSError, StateError):
            # Only a later burn's shortcut is lost.
            pass

    def _verified_path(self, image_id):
        # Only a Glance id names a file: nothing else reaches a path.
        if len(image_id) != 36 or not set(image_id) <= _UUID_CHARACTERS:
            return None
        return os.path.join(self.directory, VERIFIED_DIR,
                            image_id.lower() + '.json')

    def save(self, table):
        """Replace the state file atomically (call with the lock held)."""
        self._replace(self.path, table.to_dict())
        # Best effort and not synced: usage() checks the file against the
        # state file, so a stale, torn or missing one only costs a load.
        try:
            written = self.usage_path + '.new'
            with open(written, 'w') as usage:
                usage.write(' '.join(
                    [str(table.used), str(table.total)]
                    + _identity(os.stat(self.path))) + '\n')
            os.replace(written, self.usage_path)
        except OSError:
            pass

    @staticmethod
    def _replace(path, document):
        """Write document to path as JSON, atomically."""
        import json
        # Named by the process rather than by tempfile, whose import is
        # among the costlier ones of a burn: no two processes that write
        # at once share a temporary file.
        temporary = '%s.%d.new' % (path, os.getpid())
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                         0o600)
            try:
                with os.fdopen(fd, 'w') as state:
                    json.dump(document, state, indent=1, sort_keys=True)
                    state.flush()
                    os.fsync(state.fileno())
                os.replace(temporary, path)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError as e:
            raise StateError('cannot write FPGA state file %s: %s'
                             % (path, e.strerror))
