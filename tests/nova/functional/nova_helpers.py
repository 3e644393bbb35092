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

"""Nova's functional test helpers as the newest supported Nova has them.

The functional tests run on every supported Nova release (26.2.2 to
34.0.0), and the helpers of ``nova.test`` and
``nova.tests.functional.integrated_helpers`` grew keyword arguments over
those releases. This mixin (put before Nova's base class) gives the tests
the newest signatures; where the Nova under test has the argument, its
own helper does the work.
"""

import inspect
import time

from nova import test


def _accepts(method, argument):
    return argument in inspect.signature(method).parameters


class HelpersCompat:
    """Newest helper signatures over any supported Nova's test base."""

    def _run_periodics(self, raise_on_error=False):
        """Run the resource tracker's periodic task on every compute.

        ``raise_on_error`` (Nova 29 and later) fails the test when the task
        logged a traceback; before, Nova only ran the task.
        """
        run_periodics = super()._run_periodics
        if _accepts(run_periodics, 'raise_on_error'):
            return run_periodics(raise_on_error=raise_on_error)
        run_periodics()
        output = self.stdlog.logger.output
        if raise_on_error and 'Traceback (most recent call last' in output:
            raise test.TestingException(output.splitlines()[-1])

    #: Polls (every 0.5 s) before a state change counts as not happening;
    #: Nova's default, 10, is short for a build that waits out a timeout
    #: and is rescheduled on a loaded machine.
    STATE_CHANGE_RETRIES = 10

    def _wait_for_state_change(self, server, expected_status,
                               max_retries=None, wait_for_fault_key=True):
        """Wait for a server status.

        ``wait_for_fault_key`` (Nova 34 and later) also waits for the fault
        of a server in ERROR, which Nova records just after the status; it
        is done here the same way where Nova's helper lacks it.
        """
        if max_retries is None:
            max_retries = self.STATE_CHANGE_RETRIES
        wait = super()._wait_for_state_change
        if _accepts(wait, 'wait_for_fault_key'):
            return wait(server, expected_status, max_retries,
                        wait_for_fault_key=wait_for_fault_key)
        server = wait(server, expected_status, max_retries)
        if not wait_for_fault_key or expected_status != 'ERROR':
            return server
        api = getattr(self, 'admin_api', self.api)
        for _attempt in range(max_retries):
            if 'fault' in server:
                return server
            time.sleep(0.5)
            server = api.get_server(server['id'])
        self.fail('Server %s in ERROR got no fault: %s'
                  % (server['id'], server))
