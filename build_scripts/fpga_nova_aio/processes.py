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

"""Long-running services, started and stopped by pid.

Each service runs in a session of its own, its output appended to its
log file. What was started is recorded in ``<state>/run/<name>.json``:
the pid, the process's start time (so that a recycled pid is never taken
for the service) and a digest of its command line, environment and
configuration files (so that an up after a configuration change restarts
it). Stopping sends SIGTERM to that pid, then SIGKILL, and then ends, by
pid, whatever else is left in its session (workers, helpers).
"""

import datetime
import hashlib
import json
import os
import signal
import subprocess
import time

from fpga_nova_aio import steps

STOP_TIMEOUT = 30


def _proc_stat(pid):
    """Fields of /proc/<pid>/stat after the command name, or None."""
    try:
        with open('/proc/%d/stat' % pid) as stream:
            text = stream.read()
    except (OSError, ValueError):
        return None
    # The command name (field 2) is in parentheses and may hold spaces.
    return text[text.rindex(')') + 2:].split()


def start_time(pid):
    """The process's start time in clock ticks since boot, or None."""
    fields = _proc_stat(pid)
    # Field 22 of stat; fields[0] is field 3 (state).
    return int(fields[19]) if fields else None


def started_at(pid):
    """When the process started, in seconds since the epoch, or None."""
    ticks = start_time(pid)
    if ticks is None:
        return None
    with open('/proc/stat') as stream:
        boot = next(int(line.split()[1]) for line in stream
                    if line.startswith('btime '))
    return boot + ticks / os.sysconf('SC_CLK_TCK')


def is_zombie(pid):
    fields = _proc_stat(pid)
    return fields is not None and fields[0] == 'Z'


def session_members(session_id):
    """Pids of the processes of a session."""
    members = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        fields = _proc_stat(int(entry))
        # Field 6 is the session id.
        if fields and int(fields[3]) == session_id:
            members.append(int(entry))
    return members


def rss_bytes(pid):
    try:
        with open('/proc/%d/status' % pid) as stream:
            for line in stream:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def send_signal(pid, number):
    try:
        os.kill(pid, number)
    except ProcessLookupError:
        pass


def _digest(argv, env, config_files):
    digest = hashlib.sha256()
    digest.update(json.dumps([argv, sorted((env or {}).items())]).encode())
    for path in config_files:
        try:
            with open(path, 'rb') as stream:
                digest.update(stream.read())
        except OSError:
            digest.update(b'missing ' + path.encode())
    return digest.hexdigest()


class Service(object):
    """A long-running process of the cloud.

    :param name: its name (the log file and record are named after it)
    :param argv: the command line
    :param env: variables added to a minimal environment
    :param ready: a function returning True once the service serves
    :param config_files: files whose change means a restart (its
        configuration, and markers of the code it runs)
    :param start_timeout: seconds it may take to become ready
    :param address: where it serves, for people (status)
    """

    def __init__(self, settings, name, argv, env=None, ready=None,
                 config_files=(), start_timeout=120, address=None,
                 cwd=None):
        self.settings = settings
        self.name = name
        self.argv = list(argv)
        self.env = dict(env or {})
        self.ready = ready
        self.config_files = tuple(config_files)
        self.start_timeout = start_timeout
        self.address = address
        self.cwd = cwd or settings.state_dir
        self.log_path = settings.log(name)
        self.record_path = record_path(settings, name)

    # The record of what was started

    def record(self):
        return load_record(self.record_path)

    def pid(self):
        """The pid of the running service, or None."""
        return running_pid(self.record())

    def digest(self):
        return _digest(self.argv, self.env, self.config_files)

    def environment(self):
        environment = {
            'PATH': '%s:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:'
                    '/sbin:/bin' % os.path.dirname(
                        self.settings.venv_bin('python')),
            'HOME': os.environ.get('HOME', '/root'),
            'LANG': 'C.UTF-8',
            'LC_ALL': 'C.UTF-8',
            'TMPDIR': self.settings.path('tmp'),
        }
        environment.update(self.env)
        return environment

    # Life cycle

    def ensure_running(self):
        """Start the service unless it runs with this configuration.

        Returns an Outcome. A service running with another configuration
        is restarted.
        """
        record = self.record()
        pid = running_pid(record)
        if pid is None:
            self.start()
            return steps.done('started, pid %d%s' % (self.pid(),
                                                     self._where()))
        if record.get('digest') != self.digest():
            stop_record(self.record_path, record)
            self.start()
            return steps.done('restarted (its configuration or code changed), '
                              'pid %d%s'
                              % (self.pid(), self._where()))
        if self._serves(record):
            return steps.already('running, pid %d%s' % (pid, self._where()))
        # What is left of its session (workers) goes with it.
        stop_record(self.record_path, record)
        self.start()
        return steps.done('started again (pid %d was stopping and has '
                          'ended), pid %d%s'
                          % (pid, self.pid(), self._where()))

    def _serves(self, record):
        """Whether the recorded process serves; False once it has ended.

        A service stopped a moment before keeps its pid while it shuts
        down: rather than count it as running, wait until it answers its
        readiness check or ends.
        """
        if self.ready is None:
            # Nothing to ask it; its pid ran a moment ago.
            return True

        def serves_or_ended():
            if running_pid(record) is None:
                return 'ended'
            return 'serves' if self.ready() else None

        try:
            return steps.wait_for(
                serves_or_ended, self.start_timeout,
                '%s, running as pid %d (log %s)' % (
                    self.name, record['pid'], self.log_path)) == 'serves'
        except steps.StepFailed as failure:
            failure.detail = steps.tail(self.log_path)
            raise

    def _where(self):
        return ', %s' % self.address if self.address else ''

    def start(self):
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        os.makedirs(os.path.dirname(self.record_path), exist_ok=True)
        os.makedirs(self.settings.path('tmp'), exist_ok=True)
        with open(self.log_path, 'ab') as log:
            log.write(('\n=== %s: starting %s\n' % (
                datetime.datetime.now().isoformat(timespec='seconds'),
                ' '.join(self.argv))).encode())
            log.flush()
            try:
                process = subprocess.Popen(
                    self.argv, env=self.environment(), cwd=self.cwd,
                    stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True)
            except OSError as e:
                raise steps.StepFailed('cannot start %s (%s): %s'
                                       % (self.name, self.argv[0], e))
        record = {'name': self.name, 'pid': process.pid,
                  'start_time': start_time(process.pid),
                  'argv': self.argv, 'digest': self.digest(),
                  'log': self.log_path}
        save_record(self.record_path, record)
        if self.ready is None:
            return

        def exited():
            code = process.poll()
            if code is None:
                return None
            return 'exited with status %d' % code

        try:
            steps.wait_for(self.ready, self.start_timeout,
                           '%s (log %s)' % (self.name, self.log_path),
                           failed=exited)
        except steps.StepFailed as failure:
            # Nothing half-started stays behind.
            stop_record(self.record_path, record)
            failure.detail = steps.tail(self.log_path)
            raise

    def stop(self):
        return stop_record(self.record_path, self.record())


def record_path(settings, name):
    return settings.path('run', name + '.json')


def load_record(path):
    try:
        with open(path) as stream:
            return json.load(stream)
    except (OSError, ValueError):
        return None


def save_record(path, record):
    temporary = path + '.tmp'
    with open(temporary, 'w') as stream:
        json.dump(record, stream, indent=2)
    os.replace(temporary, path)


def running_pid(record):
    """The record's pid if that very process still runs, else None."""
    if not record:
        return None
    pid = record.get('pid')
    if not isinstance(pid, int) or pid <= 1:
        return None
    started = start_time(pid)
    if started is None or started != record.get('start_time'):
        return None
    if is_zombie(pid):
        return None
    return pid


def stop_record(path, record, timeout=STOP_TIMEOUT):
    """Stop the recorded service and what is left of its session.

    Returns the number of processes that were signalled.
    """
    stopped = 0
    pid = running_pid(record)
    if pid is not None:
        send_signal(pid, signal.SIGTERM)
        stopped += 1
        deadline = time.monotonic() + timeout
        while running_pid(record) is not None:
            if time.monotonic() > deadline:
                send_signal(pid, signal.SIGKILL)
                break
            time.sleep(0.1)
        _reap(pid)
    if _session_is_ours(record):
        # The service started in a session of its own, whose id is its
        # pid: what remains there (workers, helpers) is the service's.
        leftovers = session_members(record['pid'])
        for member in leftovers:
            send_signal(member, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while leftovers and time.monotonic() < deadline:
            time.sleep(0.1)
            leftovers = [p for p in leftovers
                         if start_time(p) is not None and not is_zombie(p)]
        for member in leftovers:
            send_signal(member, signal.SIGKILL)
        stopped += len(leftovers)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    return stopped


def _session_is_ours(record):
    """Whether the session named after the record's pid is the service's.

    Linux does not hand out a pid again while a session still carries it
    as its id, so the session is ours unless a new process now has that
    pid (the service and all its session ended, and the pid was reused).
    """
    if not record or not isinstance(record.get('pid'), int):
        return False
    pid = record['pid']
    if pid <= 1:
        return False
    now = start_time(pid)
    return now is None or now == record.get('start_time')


def _reap(pid):
    """Collect the exit status of a child of this process, if it is one."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def service_rss(record):
    """Resident memory of a service: every process of its session."""
    if running_pid(record) is None:
        return 0
    return sum(rss_bytes(pid) for pid in session_members(record['pid']))


def all_records(settings):
    """The records of <state>/run, by service name."""
    run_dir = settings.path('run')
    records = {}
    try:
        names = sorted(os.listdir(run_dir))
    except FileNotFoundError:
        return records
    for name in names:
        if name.endswith('.json'):
            record = load_record(os.path.join(run_dir, name))
            if record:
                records[name[:-len('.json')]] = record
    return records
