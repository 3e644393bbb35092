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

"""The per-file parts of a unified diff.

GNU patch does the applying. The tool still reads the diff itself for two
reasons: it asks GNU patch about one file at a time, so that it can say
which files are applied, not applied or in conflict; and it must know every
file the patch touches before touching any, to check they are writable and
to put them back if anything fails. So only file headers and hunk line
counts are read here, the same way ``patch -p1`` reads them.
"""

import dataclasses
import os
import posixpath
import re

from nova_fpga.patching import exception

_HUNK_HEADER = re.compile(rb'^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@')
_DEV_NULL = '/dev/null'


@dataclasses.dataclass
class FileDiff:
    """The changes a patch makes to one file."""

    #: Path relative to the directory ``patch -p1`` runs in.
    path: str
    #: The file's headers and hunks: a patch of its own.
    text: bytes


def _strip_one_component(header_line, prefix, line_number):
    """Return the path a ``---``/``+++`` line names, as ``patch -p1`` does.

    Returns None for ``/dev/null`` (the side of a created or deleted file).
    """
    name = header_line[len(prefix):].rstrip(b'\r\n')
    # diff puts a tab and a timestamp after the name.
    name = os.fsdecode(name.split(b'\t', 1)[0])
    if name == _DEV_NULL:
        return None
    _top, sep, path = name.partition('/')
    path = posixpath.normpath(path) if sep else ''
    if (not path or path == '.' or path.startswith('/')
            or path == '..' or path.startswith('../')):
        raise exception.MalformedPatch(
            "line %d: %r does not name a file below the directory the patch "
            "applies in (patch -p1)" % (line_number, name))
    return path


def _hunk_end(lines, start):
    """Return the index of the first line after the hunk at ``start``."""
    match = _HUNK_HEADER.match(lines[start])
    old_left = int(match.group(1) or 1)
    new_left = int(match.group(2) or 1)
    index = start + 1
    while old_left > 0 or new_left > 0:
        if index == len(lines):
            raise exception.MalformedPatch(
                'line %d: the hunk ends before its last line' % (start + 1))
        line = lines[index]
        kind = line[:1]
        if kind == b'\\':
            pass  # "\ No newline at end of file" belongs to the line above
        elif kind == b'-':
            old_left -= 1
        elif kind == b'+':
            new_left -= 1
        elif kind == b' ' or line in (b'\n', b'\r\n'):
            # Some editors strip the space of an empty context line;
            # GNU patch accepts it, so do we.
            old_left -= 1
            new_left -= 1
        else:
            raise exception.MalformedPatch(
                'line %d: %r is not a line of the hunk that starts at '
                'line %d' % (index + 1, line[:60], start + 1))
        if old_left < 0 or new_left < 0:
            raise exception.MalformedPatch(
                'line %d: the hunk that starts at line %d has more lines '
                'than its header counts' % (index + 1, start + 1))
        index += 1
    while index < len(lines) and lines[index].startswith(b'\\'):
        index += 1
    return index


def parse(patch_text):
    """Split a unified diff into one :class:`FileDiff` per file.

    Parts of the diff that touch the same file are joined, in order, so that
    each FileDiff can be given to GNU patch alone. Lines between files
    (``diff`` command lines, git's ``index`` and ``new file mode`` lines, a
    description at the top) go with the file that follows them, where GNU
    patch expects them.
    """
    lines = patch_text.splitlines(keepends=True)
    parts = {}
    leading = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not (line.startswith(b'--- ') and index + 1 < len(lines)
                and lines[index + 1].startswith(b'+++ ')):
            leading.append(line)
            index += 1
            continue
        old = _strip_one_component(line, b'--- ', index + 1)
        new = _strip_one_component(lines[index + 1], b'+++ ', index + 2)
        if old is not None and new is not None and old != new:
            raise exception.MalformedPatch(
                'line %d: renames (%s -> %s) are not supported'
                % (index + 1, old, new))
        path = new if new is not None else old
        if path is None:
            raise exception.MalformedPatch(
                'line %d: both sides of the file header are /dev/null'
                % (index + 1))
        start = index
        index += 2
        if index == len(lines) or not _HUNK_HEADER.match(lines[index]):
            raise exception.MalformedPatch(
                'line %d: the header of %s is not followed by a hunk'
                % (start + 1, path))
        while index < len(lines) and _HUNK_HEADER.match(lines[index]):
            index = _hunk_end(lines, index)
        parts.setdefault(path, []).extend(leading + lines[start:index])
        leading = []
    if not parts:
        raise exception.MalformedPatch('it changes no file')
    return [FileDiff(path=path, text=b''.join(text))
            for path, text in parts.items()]
