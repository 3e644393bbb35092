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

"""A build's FPGA work, run in a thread of its own beside Nova's.

nova-compute goes on with the build meanwhile; the build waits for the
work where it needs it done, and gets its failure raised there.
"""

import threading


class BackgroundCall(object):
    """``function(*args)`` in a daemon thread; its failure kept for a waiter.

    :param log_context: a request context whose request id the thread's log
        lines carry, as the build's own do.
    """

    def __init__(self, function, *args, log_context=None):
        self._function = function
        self._args = args
        self._log_context = log_context
        self._failure = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        if self._log_context is not None:
            self._log_context.update_store()
        try:
            self._function(*self._args)
        except BaseException as e:
            # Even a killed thread must not look like a call that worked:
            # the waiter would go on with a build whose FPGA work is undone.
            self._failure = e

    def start(self):
        self._thread.start()
        return self

    def wait(self):
        """Wait for the call to end; raise what made it fail."""
        self._thread.join()
        if self._failure is not None:
            raise self._failure
