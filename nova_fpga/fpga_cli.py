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

"""Client of the fpga-cli contract.

Nova-side code talks to the FPGA only through this module, and only
through the three verbs of the contract (``../README.rst``, "The fpga-cli
contract"), so that a vendor tool keeping the contract can replace the
reference ``fpga-cli.py``:

* ``status``        -> ``Used regions: N/M``, exit 0; exit 127 when the FPGA
  is not accessible;
* ``burn <image>``  -> one line, the region id (at most 256 characters),
  exit 0; exit 64 on error;
* ``erase <region>`` -> no output, exit 0; exit 33 for an unknown region.

One optional extension, which the reference ``fpga-cli.py`` has and a
vendor tool may lack: ``status --json`` lists the regions, so that
regions no instance holds can be found and erased (:mod:`nova_fpga.reconcile`
degrades to counting without it). Its output is a JSON object whose
``regions`` member holds one object per region, of which Nova reads:

* ``programmed``: true while the region is in use, from the burn that
  handed it out to its erase;
* ``region_id``: the id ``burn`` printed for it (what ``erase`` takes);
* ``image_id`` (optional): the IP core it holds.
"""

import collections
import json
import os
import re
import shlex
import signal
import subprocess
import threading
import time

from oslo_log import log as logging
from oslo_rootwrap import client as rootwrap_client

from nova_fpga import conf as fpga_conf
from nova_fpga import exception
from nova_fpga import specs

LOG = logging.getLogger(__name__)

EXIT_BURN_FAILED = 64
EXIT_UNKNOWN_REGION = 33
EXIT_NOT_ACCESSIBLE = 127
# oslo.rootwrap's own exit codes: the filter did not match, or the
# executable it names is not on exec_dirs.
EXIT_ROOTWRAP_UNAUTHORIZED = 99
EXIT_ROOTWRAP_NOT_FOUND = 96
# Through a root helper, the tool runs inside timeout(1), which runs as
# root with it and kills it when command_timeout is over: Nova, not
# root, could not. SIGKILL goes to timeout's whole process group, itself
# included; its exit status then reads as killed, in the form of the
# helper that relays it (Python's, a shell's, or sys.exit's).
TIMEOUT_PREFIX = ('timeout', '-s', 'KILL')
EXIT_KILLED = (-signal.SIGKILL, 128 + signal.SIGKILL, 256 - signal.SIGKILL)
HELPER_GRACE_SECONDS = 10

_ERRORS_BY_EXIT_CODE = {
    EXIT_BURN_FAILED: exception.FpgaBurnFailed,
    EXIT_UNKNOWN_REGION: exception.FpgaRegionUnknown,
    EXIT_NOT_ACCESSIBLE: exception.FpgaNotAccessible,
}

MAX_REGION_ID_LENGTH = 256
# A region id goes on a root command line and may become a device path
# handed to a container: no shell metacharacters, no white space. The
# rootwrap filter (etc/nova/rootwrap.d/fpga.filters) carries the same rule.
REGION_ID_PATTERN = r'[A-Za-z0-9/_.:-]{1,256}'
_REGION_ID_RE = re.compile(REGION_ID_PATTERN + r'\Z')
_STATUS_RE = re.compile(r'Used regions: (\d+)/(\d+)\Z')


class RegionStatus(collections.namedtuple('RegionStatus', 'used total')):
    """Region counts of one FPGA host, as ``fpga-cli status`` reports."""

    @property
    def free(self):
        return self.total - self.used


def parse_status(output):
    """Parse ``Used regions: N/M`` strictly.

    Anything else, including more used regions than exist, is an
    FpgaCliOutputInvalid naming the output.
    """
    text = output.strip()
    match = _STATUS_RE.match(text)
    if not match:
        raise exception.FpgaCliOutputInvalid(
            "fpga-cli status printed %r, expected 'Used regions: N/M'"
            % _clip(output))
    used, total = int(match.group(1)), int(match.group(2))
    if used > total:
        raise exception.FpgaCliOutputInvalid(
            "fpga-cli status printed %r: more regions used than exist"
            % text)
    return RegionStatus(used, total)


class ProgrammedRegion(collections.namedtuple('ProgrammedRegion',
                                              'region_id image_id')):
    """A region in use, as ``fpga-cli status --json`` lists it."""


def parse_status_json(output):
    """Parse ``status --json`` strictly; return its ProgrammedRegions.

    Anything that is not a JSON object with a ``regions`` list of region
    objects, or a region in use without a usable region id, is an
    FpgaCliOutputInvalid naming the output.
    """
    try:
        document = json.loads(output)
    except ValueError as e:
        raise exception.FpgaCliOutputInvalid(
            'fpga-cli status --json printed %r, which is not JSON: %s'
            % (_clip(output), e))
    regions = (document.get('regions') if isinstance(document, dict)
               else None)
    if not isinstance(regions, list):
        raise exception.FpgaCliOutputInvalid(
            'fpga-cli status --json printed %r, expected an object with a '
            '"regions" list' % _clip(output))
    programmed = []
    for region in regions:
        if (not isinstance(region, dict)
                or not isinstance(region.get('programmed'), bool)):
            raise exception.FpgaCliOutputInvalid(
                'fpga-cli status --json listed the region %r, expected an '
                'object with a boolean "programmed"' % (_clip(repr(region)),))
        if not region['programmed']:
            continue
        try:
            region_id = validate_region_id(region.get('region_id'))
        except exception.InvalidRegionId as e:
            raise exception.FpgaCliOutputInvalid(
                'fpga-cli status --json listed a region in use with an '
                'unusable region id: %s' % e.message)
        image_id = region.get('image_id')
        programmed.append(ProgrammedRegion(
            region_id, image_id if isinstance(image_id, str) else None))
    return programmed


def validate_region_id(region_id):
    """Return region_id if it has the form a region id may have."""
    if not isinstance(region_id, str) or not region_id:
        raise exception.InvalidRegionId(region_id, 'it is empty')
    if len(region_id) > MAX_REGION_ID_LENGTH:
        raise exception.InvalidRegionId(
            _clip(region_id), 'it is longer than %d characters'
            % MAX_REGION_ID_LENGTH)
    if not _REGION_ID_RE.match(region_id):
        raise exception.InvalidRegionId(
            region_id, 'only letters, digits and / _ . : - are allowed')
    return region_id


def _clip(text, limit=300):
    return text if len(text) <= limit else text[:limit] + '...'


class FpgaCli(object):
    """Runs the fpga-cli executable as root, with a timeout."""

    def __init__(self, executable, root_helper=None, timeout=120,
                 simulation=False, root_helper_daemon=None):
        if not executable:
            raise exception.FpgaConfigError(
                'fpga_access is True but fpga_exec is not set: name the '
                'fpga-cli executable, for example fpga_exec = fpga-cli.py')
        self.executable = executable
        self.root_helper = root_helper or None
        self.root_helper_daemon = root_helper_daemon or None
        self.timeout = timeout
        self.simulation = simulation
        # As oslo.concurrency does: root needs no helper.
        self.use_root_helper = os.geteuid() != 0

    @classmethod
    def from_conf(cls, conf=None):
        conf = conf or fpga_conf.CONF
        return cls(conf.fpga_exec,
                   root_helper=conf.fpga.root_helper,
                   root_helper_daemon=conf.fpga.root_helper_daemon,
                   timeout=conf.fpga.command_timeout,
                   simulation=conf.fpga_simulation_mode)

    def status(self):
        stdout = self._run('status')
        return parse_status(stdout)

    def programmed_regions(self):
        """The regions in use, from ``status --json`` (an extension).

        Raises FpgaCliError (or FpgaCliOutputInvalid) when the tool does
        not have it, as for any failure.
        """
        return parse_status_json(self._run('status', '--json'))

    def burn(self, image_id):
        """Program a free region with the IP core image_id.

        Returns the region id that erase takes.
        """
        image_id = specs.validate_ip_id(image_id)
        if self.simulation:
            region_id = 'simulated-%s' % image_id
            LOG.info('fpga_simulation_mode: not burning IP core %(image)s, '
                     'pretending region %(region)s',
                     {'image': image_id, 'region': region_id})
            return region_id
        stdout = self._run('burn', image_id)
        lines = stdout.splitlines()
        if len(lines) != 1:
            raise exception.FpgaCliOutputInvalid(
                'fpga-cli burn %s printed %r, expected one line holding '
                'the region id' % (image_id, _clip(stdout)))
        try:
            return validate_region_id(lines[0].strip())
        except exception.InvalidRegionId as e:
            raise exception.FpgaCliOutputInvalid(
                'fpga-cli burn %s printed an unusable region id: %s'
                % (image_id, e.message))

    def erase(self, region_id):
        region_id = validate_region_id(region_id)
        if self.simulation:
            LOG.info('fpga_simulation_mode: not erasing region %s',
                     region_id)
            return
        stdout = self._run('erase', region_id)
        if stdout.strip():
            LOG.warning('fpga-cli erase %(region)s printed %(out)r, '
                        'expected nothing; ignoring it',
                        {'region': region_id, 'out': _clip(stdout)})

    def _run(self, verb, *args):
        """Run one verb; return stdout or raise a typed error.

        As root the tool runs directly; otherwise through the rootwrap
        daemon when one is configured, else through the per-call root
        helper.
        """
        command = (self.executable, verb) + args
        if not (self.use_root_helper
                and (self.root_helper_daemon or self.root_helper)):
            return self._execute(command, command, self.timeout)
        timed = self.helper_command(command)
        if self.root_helper_daemon:
            return self._run_through_daemon(timed, command)
        # timeout(1) kills the tool; this one only stops waiting for a
        # root helper that hangs itself.
        return self._execute(
            tuple(shlex.split(self.root_helper)) + timed, command,
            self.timeout + HELPER_GRACE_SECONDS, root_helper=self.root_helper)

    def helper_command(self, command):
        """command as a root helper runs it (fpga.filters allows it)."""
        return TIMEOUT_PREFIX + (str(self.timeout),) + tuple(command)

    def _execute(self, argv, command, timeout, root_helper=None):
        """Run argv: command itself, or root_helper running it."""
        started = time.monotonic()
        try:
            exit_code, stdout, stderr = run_process(argv, timeout)
        except (FileNotFoundError, PermissionError) as e:
            started_what = ('fpga_exec %r' % self.executable
                            if root_helper is None
                            else 'the root helper %r' % root_helper)
            raise exception.FpgaCliNotFound(
                'cannot run fpga-cli: %s %s' % (
                    started_what,
                    'was not found' if isinstance(e, FileNotFoundError)
                    else 'is not executable'))
        except BaseException as e:
            if _is_timeout(e):
                raise self._timeout_error(command)
            raise
        if exit_code != 0:
            raise self._error_from(
                exit_code, stderr or stdout, command,
                time.monotonic() - started if root_helper else None)
        return stdout

    def _run_through_daemon(self, timed, command):
        client = _daemon_client(self.root_helper_daemon, command[1])
        started = time.monotonic()
        try:
            exit_code, stdout, stderr = client.execute(list(timed))
        except Exception as e:
            lines = [line for line in str(e).splitlines() if line.strip()]
            raise exception.FpgaConfigError(
                'fpga-cli %s failed in the rootwrap daemon %r '
                '(root_helper_daemon): %s: %s. Does it start, and is '
                'fpga.filters installed, naming fpga_exec %r? With '
                'use_syslog = False in its rootwrap.conf, oslo.rootwrap\'s '
                'daemon fails this way on a command no filter allows.'
                % (' '.join(command[1:]), self.root_helper_daemon,
                   type(e).__name__, _clip(lines[-1] if lines else ''),
                   self.executable))
        if exit_code != 0:
            raise self._error_from(exit_code, stderr or stdout, command,
                                   time.monotonic() - started)
        return stdout

    def _timeout_error(self, command):
        return exception.FpgaCliTimeout(
            'fpga-cli %s did not finish within %d seconds and was killed '
            '(%s)' % (' '.join(command[1:]), self.timeout, self.executable))

    def _error_from(self, exit_code, output, command, elapsed=None):
        detail = (output or '').strip()
        through_helper = elapsed is not None
        if through_helper and exit_code == EXIT_ROOTWRAP_NOT_FOUND:
            return exception.FpgaCliNotFound(
                'cannot run fpga-cli %r: rootwrap did not find timeout on '
                'its exec_dirs' % self.executable)
        if through_helper and exit_code == EXIT_ROOTWRAP_UNAUTHORIZED:
            return exception.FpgaConfigError(
                'rootwrap refused "%s": is fpga.filters installed in the '
                'rootwrap filters_path, naming fpga_exec %r?'
                % (' '.join(command), self.executable))
        if (through_helper and exit_code in EXIT_KILLED
                and elapsed >= self.timeout):
            return self._timeout_error(command)
        described = ' '.join(command[1:])
        error = _ERRORS_BY_EXIT_CODE.get(exit_code, exception.FpgaCliError)
        return error(
            'fpga-cli %s failed (exit code %s): %s'
            % (described, exit_code, _clip(detail) or '(no message)'),
            exit_code=exit_code, stderr=detail)


_daemon_clients = {}
_daemon_clients_lock = threading.Lock()


def _daemon_client(daemon_command, verb):
    """The rootwrap daemon client for one verb.

    oslo.rootwrap's client runs one command at a time. A daemon per verb
    keeps status polls and erases from queueing behind a burn, which may
    spend seconds fetching and checking an IP package.
    """
    key = (daemon_command, verb)
    with _daemon_clients_lock:
        client = _daemon_clients.get(key)
        if client is None:
            client = rootwrap_client.Client(shlex.split(daemon_command))
            _daemon_clients[key] = client
    return client


def stop_rootwrap_daemons():
    """Stop the rootwrap daemons this process started.

    They also stop when the process ends, or after the daemon_timeout of
    their rootwrap.conf without a command.
    """
    with _daemon_clients_lock:
        clients = list(_daemon_clients.values())
        _daemon_clients.clear()
    for client in clients:
        if client._initialized:
            # oslo.rootwrap's client has no public way to stop its daemon
            # before the client is collected; this is what collecting it
            # runs.
            client._finalize()


def run_process(argv, timeout, env=None):
    """(exit code, stdout, stderr) of argv, run in a session of its own.

    Its own process group, so that a hung tool and whatever it started
    can be killed together. env is the tool's environment (default:
    this process's).

    Not processutils.execute: that always hands subprocess a Python
    function to run between fork and exec, so each call copies the whole
    calling process: 12 ms a call from a process of nova-compute's size,
    against 1.5 ms without one, when subprocess spawns with vfork
    (benchmarks/status_poll.py --resident-mib 128). The function's one
    job, SIGPIPE's default action in the child, subprocess does itself
    (restore_signals).
    """
    LOG.debug('Running %s', ' '.join(argv))
    started = time.monotonic()
    process = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, close_fds=True, start_new_session=True,
        env=env)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except BaseException:
        # Timed out, or the caller is going away (its thread killed,
        # the service stopping): the tool must not outlive the call,
        # perhaps holding the FPGA.
        if process.poll() is None:
            _kill_group(process)
        raise
    LOG.debug('%s returned %d in %.3fs', argv[0], process.returncode,
              time.monotonic() - started)
    return process.returncode, os.fsdecode(stdout), os.fsdecode(stderr)


def _is_timeout(error):
    # Under eventlet, subprocess runs from a green copy of the standard
    # module, whose TimeoutExpired is another class than the one this
    # module imported.
    return (isinstance(error, subprocess.TimeoutExpired)
            or type(error).__name__ == 'TimeoutExpired')


def _kill_group(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    except PermissionError:
        # A root helper's process, which timeout(1) kills in its time.
        return
    process.wait()
