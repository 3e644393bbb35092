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

"""Steps: each printed with its duration; commands with their progress.

A step is a title and a function. The function does its work (or finds
it already done) and returns an :class:`Outcome`, one line saying what
it found or did. Output looks like::

    [ 4/21] MariaDB
            ... 15 s: Installing MariaDB/MySQL system tables
            started, pid 1234, 127.0.0.1:3306                     4.2 s

A step that fails raises :class:`StepFailed`; the run stops there, with
the reason and the tail of the log that tells more.
"""

import collections
import datetime
import os
import subprocess
import sys
import threading
import time

#: Seconds between the progress lines of a long command.
HEARTBEAT_SECONDS = 15
#: Lines of output kept in memory per command, for error messages.
TAIL_LINES = 25
#: Width of the outcome text before the duration column.
OUTCOME_WIDTH = 62


class StepFailed(Exception):
    """A step could not be done; message says what and why."""

    def __init__(self, message, detail=None):
        super().__init__(message)
        self.message = message
        self.detail = detail


class Outcome(object):
    """What a step did (done) or found already done (skipped)."""

    def __init__(self, text, skipped=False):
        self.text = text
        self.skipped = skipped


def done(text):
    return Outcome(text)


def already(text):
    return Outcome('already done: ' + text, skipped=True)


Step = collections.namedtuple('Step', 'title function')


def _write(text):
    sys.stdout.write(text)
    sys.stdout.flush()


def format_seconds(seconds):
    if seconds < 60:
        return '%.1f s' % seconds
    minutes, seconds = divmod(int(round(seconds)), 60)
    return '%d min %02d s' % (minutes, seconds)


def progress(text):
    """A progress line under the current step."""
    _write('        ... %s\n' % text)


def run_steps(title, steps):
    """Run steps in order, printing each with its duration.

    Returns the seconds the whole run took; raises StepFailed from the
    first step that fails (after printing it).
    """
    started = time.monotonic()
    _write('%s\n' % title)
    width = len(str(len(steps)))
    for number, step in enumerate(steps, 1):
        _write('[%*d/%d] %s\n' % (width, number, len(steps), step.title))
        step_started = time.monotonic()
        try:
            outcome = step.function()
        except StepFailed as failure:
            _write('        FAILED after %s: %s\n' % (
                format_seconds(time.monotonic() - step_started),
                failure.message))
            if failure.detail:
                for line in failure.detail.rstrip('\n').splitlines():
                    _write('        | %s\n' % line)
            raise
        elapsed = time.monotonic() - step_started
        _write('        %-*s %8s\n' % (OUTCOME_WIDTH, outcome.text,
                                       format_seconds(elapsed)))
    return time.monotonic() - started


def tail(path, lines=TAIL_LINES):
    """The last lines of a text file ('' if it cannot be read)."""
    try:
        with open(path, 'rb') as stream:
            stream.seek(0, os.SEEK_END)
            size = stream.tell()
            stream.seek(max(0, size - 64 * 1024))
            text = stream.read().decode('utf-8', 'replace')
    except OSError:
        return ''
    return '\n'.join(text.splitlines()[-lines:])


def run(argv, log_path, env=None, cwd=None, stdin_text=None,
        ok_codes=(0,), describe=None, abort_if=None):
    """Run a command, its output appended to log_path; return it.

    A command still running after HEARTBEAT_SECONDS prints a progress
    line with its latest output now and then. Returns (exit code,
    output). An exit code outside ok_codes raises StepFailed naming the
    command, its exit code and the end of its output.

    abort_if(), when given, is called every second while the command
    runs; a reason it returns ends the command and raises StepFailed with
    that reason (a service the command waits for has exited).
    """
    describe = describe or ' '.join(argv)
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    output = collections.deque(maxlen=TAIL_LINES)
    everything = []
    with open(log_path, 'ab') as log:
        log.write(('\n=== %s: %s\n' % (
            datetime.datetime.now().isoformat(timespec='seconds'),
            ' '.join(argv))).encode())
        log.flush()
        try:
            process = subprocess.Popen(
                argv, env=env, cwd=cwd,
                stdin=subprocess.PIPE if stdin_text is not None
                else subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        except OSError as e:
            raise StepFailed('cannot run %s: %s' % (describe, e))

        def copy_output():
            for raw in process.stdout:
                log.write(raw)
                log.flush()
                line = raw.decode('utf-8', 'replace').rstrip()
                everything.append(line)
                if line.strip():
                    output.append(line)

        reader = threading.Thread(target=copy_output, daemon=True)
        reader.start()
        if stdin_text is not None:
            try:
                process.stdin.write(stdin_text.encode())
                process.stdin.close()
            except BrokenPipeError:
                pass
        started = time.monotonic()
        next_heartbeat = started + HEARTBEAT_SECONDS
        next_check = started + 1
        while process.poll() is None:
            time.sleep(0.1)
            now = time.monotonic()
            if abort_if is not None and now >= next_check:
                next_check = now + 1
                reason = abort_if()
                if reason:
                    process.kill()
                    process.wait()
                    reader.join()
                    first, _, rest = reason.partition('\n')
                    raise StepFailed('%s stopped: %s' % (describe, first),
                                     rest or None)
            if now >= next_heartbeat:
                latest = output[-1] if output else '(no output yet)'
                progress('%d s: %s' % (now - started, latest[:100]))
                next_heartbeat = now + HEARTBEAT_SECONDS
        reader.join()
    if process.returncode not in ok_codes:
        raise StepFailed('%s exited with status %d (log: %s)'
                         % (describe, process.returncode, log_path),
                         '\n'.join(output))
    return process.returncode, '\n'.join(everything)


def wait_for(check, timeout, what, interval=0.2, failed=None):
    """Call check() until it returns a true value; return that value.

    failed(), when given, is called between tries and returns a reason
    to give up at once (a process that exited), or None. Raises
    StepFailed naming ``what`` on timeout or failure.
    """
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            result = check()
        except Exception as e:
            result, last_error = None, e
        if result:
            return result
        if failed is not None:
            reason = failed()
            if reason:
                raise StepFailed('%s: %s' % (what, reason))
        if time.monotonic() > deadline:
            raise StepFailed('%s: not ready after %d s%s' % (
                what, timeout,
                ' (last error: %s)' % last_error if last_error else ''))
        time.sleep(interval)
