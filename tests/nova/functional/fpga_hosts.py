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

"""A simulated FPGA of its own for every in-process compute host.

Nova's functional tests run all compute services in one process with one
``CONF``, but each host needs its own FPGA: its own ``bin/fpga-cli.py``
state directory, region count and fault injection. The real tool runs for
every call; what this fixture adds is the routing of each call to the
environment of the host whose compute manager made it:

* the compute manager entry points that reach fpga-cli (the resource
  tracker's periodic task, a build, a delete) record their host in a
  thread-local (green-thread local under eventlet) for the duration of
  the call;
* each run of the fpga-cli executable (``nova_fpga.fpga_cli.run_process``)
  gets that host's environment (``FPGA_CLI_STATE_DIR``,
  ``FPGA_CLI_DEV_DIR``, ``FPGA_CLI_REGIONS``, ``FPGA_ERROR``).

The services run as root here, and ``nova_fpga.fpga_cli`` runs the tool
directly when the caller is root (it skips the root helper), so
``[fpga] root_helper`` is left empty: the rootwrap filter itself is
tested with oslo.rootwrap's matching code in the unit tests.
"""

import functools
import os
import subprocess
import sys
import threading

import fixtures

from nova.compute import manager as compute_manager

from nova_fpga import fpga_cli
from nova_fpga.nova import compute
from nova_fpga.nova import resource_tracker

FPGA_CLI = os.path.join(os.path.dirname(sys.executable), 'fpga-cli.py')

_current = threading.local()


def _on_host(host_of):
    """Decorator: the call runs for the host host_of(*args) names."""
    def decorator(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            previous = getattr(_current, 'host', None)
            _current.host = host_of(*args)
            try:
                return function(*args, **kwargs)
            finally:
                _current.host = previous
        return wrapper
    return decorator


class FpgaHostsFixture(fixtures.Fixture):
    """Simulated FPGAs, one per compute host name.

    :param base_dir: directory for the hosts' state and device nodes.
    :param regions_by_host: host name -> number of regions (0: the host's
        FPGA is not accessible, fpga-cli exits 127).
    """

    # Compute manager methods that run fpga-cli, through the resource
    # tracker and the build/delete hooks; each runs in the green thread
    # (or pool thread) that makes the calls.
    ENTRY_POINTS = ('_update_available_resource_for_node',
                    '_do_build_and_run_instance',
                    '_delete_instance')

    def __init__(self, base_dir, regions_by_host):
        super().__init__()
        self.base_dir = base_dir
        self.regions_by_host = dict(regions_by_host)
        self.failing_hosts = set()
        # Host name -> more variables of fpga-cli.py for the calls Nova
        # makes: fault injection (FPGA_ERROR=erase,
        # FPGA_CLI_HANG=burn:after...), Glance credentials.
        self.extra_environ = {}

    def _setUp(self):
        for name in self.ENTRY_POINTS:
            original = getattr(compute_manager.ComputeManager, name)
            self.useFixture(fixtures.MonkeyPatch(
                'nova.compute.manager.ComputeManager.' + name,
                _on_host(lambda manager, *args: manager.host)(original)))
        # A build prepares its region, and stores its host's region
        # counts, from threads of their own, which inherit nothing
        # thread-local: the instance's host.
        self.useFixture(fixtures.MonkeyPatch(
            'nova_fpga.nova.compute.prepare_region',
            _on_host(lambda context, instance: instance.host)(
                compute.prepare_region)))
        self.useFixture(fixtures.MonkeyPatch(
            'nova_fpga.nova.resource_tracker.refresh_region_counts',
            _on_host(lambda context, instance, *args: instance.host)(
                resource_tracker.refresh_region_counts)))
        real_run_process = fpga_cli.run_process

        def run_process(argv, timeout, env=None):
            host = getattr(_current, 'host', None)
            if argv and argv[0] == FPGA_CLI and host is not None:
                env = self.environ(host)
            return real_run_process(argv, timeout, env=env)

        self.useFixture(fixtures.MonkeyPatch(
            'nova_fpga.fpga_cli.run_process', run_process))

    def environ(self, host, faults=True):
        """The environment fpga-cli.py runs in for host.

        :param faults: whether the host's fault injection applies (not
            when an operator looks).
        """
        # No OS_* variables: with Glance credentials the tool would fetch
        # the IP core from Glance; these tests use it as a simulator.
        environ = {key: value for key, value in os.environ.items()
                   if not key.startswith('OS_') and key != 'FPGA_ERROR'}
        host_dir = os.path.join(self.base_dir, host)
        environ.update(
            FPGA_CLI_STATE_DIR=os.path.join(host_dir, 'state'),
            FPGA_CLI_DEV_DIR=os.path.join(host_dir, 'dev'),
            FPGA_CLI_REGIONS=str(self.regions_by_host.get(host, 0)))
        if faults and host in self.failing_hosts:
            environ['FPGA_ERROR'] = '1'
        for key, value in self.extra_environ.get(host, {}).items():
            if faults or key not in ('FPGA_ERROR', 'FPGA_CLI_HANG'):
                environ[key] = value
        return environ

    def fpga_cli(self, host, *args):
        """Run fpga-cli.py for host as an operator would; return stdout."""
        environ = self.environ(host, faults=False)
        result = subprocess.run([FPGA_CLI] + list(args), env=environ,
                                capture_output=True, text=True, timeout=60,
                                check=True)
        return result.stdout.strip()
