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

"""The all-in-one cloud for the end-to-end tests: up before, down after.

``build_scripts/aio.sh up`` stands the cloud up in a state directory of
its own (by default ``/var/lib/fpga-nova-aio-e2e``, logs in
``/var/log/fpga-nova-aio-e2e``), so that a cloud someone runs with the
default paths is never taken down by a test run; both use the same
virtualenv, so packages are installed once. ``aio.sh down`` runs after
the tests whatever happened, and the teardown checks it left no
process, mount or FPGA region device behind.

Environment:

``FPGA_NOVA_E2E=1``
    run them at all (tox -e aio sets it); without it they are skipped
``FPGA_NOVA_E2E_STATE_DIR``, ``FPGA_NOVA_E2E_LOG_DIR``
    other paths for the test cloud
``FPGA_NOVA_AIO_VENV``
    the virtualenv (default that of aio.sh)
``FPGA_NOVA_E2E_KEEP=1``
    leave the cloud up after the tests (to look at it; ``aio.sh down``
    with the same --state-dir removes it)

The tests of a module run in order and build on each other: once one
fails, the later ones are skipped with the name of the one that failed.
The walkthrough runs first; test_concurrency builds on its flavor and
images.
"""

import glob
import os
import shlex
import subprocess
import sys
import time

import pytest

REPO_DIR = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
AIO = os.path.join(REPO_DIR, 'build_scripts', 'aio.sh')
STATE_DIR = os.environ.get('FPGA_NOVA_E2E_STATE_DIR',
                           '/var/lib/fpga-nova-aio-e2e')
LOG_DIR = os.environ.get('FPGA_NOVA_E2E_LOG_DIR', '/var/log/fpga-nova-aio-e2e')
KEEP = os.environ.get('FPGA_NOVA_E2E_KEEP', '') not in ('', '0')
#: Seconds a walkthrough command may take.
COMMAND_TIMEOUT = 300

_FAILED_STEP = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    # An expected failure (xfail) is not a failed step.
    if report.when == 'call' and report.failed:
        _FAILED_STEP.setdefault(item.module.__name__, item.name)


def pytest_collection_modifyitems(items):
    """The walkthrough first: the other modules build on its images."""
    items.sort(key=lambda item: not item.module.__name__.endswith(
        'test_walkthrough'))


def pytest_runtest_setup(item):
    failed = _FAILED_STEP.get(item.module.__name__)
    if failed is not None:
        pytest.skip('the walkthrough stopped at %s' % failed)


def _say(text):
    sys.stdout.write(text + '\n')
    sys.stdout.flush()


class Cloud(object):
    """The running test cloud, used the way its README tells a user to."""

    def __init__(self, work_dir, started):
        self.work_dir = work_dir
        #: time.monotonic() when up started.
        self.started = started
        self.openrc = os.path.join(STATE_DIR, 'openrc')
        self.notes = []

    def aio_command(self, *arguments):
        return [AIO] + list(arguments) + ['--state-dir', STATE_DIR,
                                          '--log-dir', LOG_DIR]

    def venv_bin(self, name):
        venv = os.environ.get('FPGA_NOVA_AIO_VENV',
                              '/opt/fpga-nova-aio/venv')
        return os.path.join(venv, 'bin', name)

    def sh(self, command, check=True, quiet=False):
        """Run a shell command with the cloud's openrc sourced.

        Prints it and its output, as a terminal would. Returns its
        CompletedProcess (stdout and stderr as text). check: fail the
        test, with the command and its output, on a non-zero exit.
        """
        _say('$ %s' % command)
        result = subprocess.run(
            ['bash', '-c', '. %s && %s' % (shlex.quote(self.openrc),
                                           command)],
            cwd=self.work_dir, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            timeout=COMMAND_TIMEOUT)
        if not quiet:
            for stream in (result.stdout, result.stderr):
                if stream.strip():
                    _say(stream.rstrip('\n'))
        if check and result.returncode != 0:
            pytest.fail('%r exited with status %d:\n%s%s' % (
                command, result.returncode, result.stdout, result.stderr))
        return result

    def note(self, text):
        """A measurement, printed with the others at the end."""
        _say('** %s' % text)
        self.notes.append(text)


def _run_aio(cloud, *arguments):
    command = cloud.aio_command(*arguments)
    _say('$ %s' % ' '.join(command))
    return subprocess.run(command, stdin=subprocess.DEVNULL).returncode


def _leftovers():
    """What a cloud that is down must not leave behind."""
    problems = []
    with open('/proc/self/mountinfo') as stream:
        for line in stream:
            mount_point = line.split()[4]
            if mount_point.startswith(STATE_DIR):
                problems.append('mount %s' % mount_point)
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as stream:
                cmdline = stream.read().replace(b'\0', b' ').decode(
                    'utf-8', 'replace')
            with open('/proc/%s/stat' % entry) as stream:
                zombie = stream.read().rsplit(')', 1)[1].split()[0] == 'Z'
            cwd = os.readlink('/proc/%s/cwd' % entry)
        except OSError:
            continue
        if zombie:
            continue
        if STATE_DIR in cmdline or cwd.startswith(STATE_DIR):
            problems.append('process %s: %s' % (entry, cmdline[:120]))
    problems += ['device %s' % path for path in glob.glob('/dev/fpga*')]
    if os.path.exists(STATE_DIR):
        problems.append('state directory %s' % STATE_DIR)
    return problems


@pytest.fixture(scope='session')
def cloud(tmp_path_factory):
    if os.environ.get('FPGA_NOVA_E2E') != '1':
        # Standing a cloud up takes minutes and root: never by accident
        # from a plain "pytest tests".
        pytest.skip('the end-to-end tests run with "tox -e aio" (or '
                    'FPGA_NOVA_E2E=1)')
    if os.geteuid() != 0:
        pytest.fail('the end-to-end tests stand a cloud up: run them as '
                    'root (tox -e aio)')
    started = time.monotonic()
    cloud = Cloud(str(tmp_path_factory.mktemp('walkthrough')), started)
    try:
        code = _run_aio(cloud, 'up')
        if code != 0:
            pytest.fail('aio.sh up failed (exit status %d); its output is '
                        'above, the service logs in %s' % (code, LOG_DIR))
        cloud.note('aio.sh up: %.1f s' % (time.monotonic() - started))
        yield cloud
    finally:
        _run_aio(cloud, 'status')
        if KEEP:
            _say('FPGA_NOVA_E2E_KEEP is set: the cloud stays up (%s)'
                 % ' '.join(cloud.aio_command('down')))
        else:
            code = _run_aio(cloud, 'down')
            problems = _leftovers()
            for text in cloud.notes:
                _say('** %s' % text)
            assert code == 0, 'aio.sh down failed (exit status %d)' % code
            assert not problems, 'aio.sh down left behind: %s' % (
                '; '.join(problems))
