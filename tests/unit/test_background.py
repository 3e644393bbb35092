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

"""A build's FPGA work in a thread of its own: nova_fpga.background."""

import threading

from oslo_context import context as oslo_context
import pytest

from nova_fpga import background


def test_the_call_runs_in_another_thread_and_wait_returns_after_it():
    ran = []
    call = background.BackgroundCall(
        lambda *args: ran.append((threading.get_ident(), args)), 1, 'two')
    call.start().wait()
    (thread_id, args), = ran
    assert args == (1, 'two')
    assert thread_id != threading.get_ident()


def test_wait_raises_the_failure_of_the_call():
    def fail():
        raise ValueError('region gone')

    call = background.BackgroundCall(fail).start()
    with pytest.raises(ValueError, match='region gone'):
        call.wait()


class Killed(BaseException):
    """What a thread killed from outside sees (eventlet's GreenletExit)."""


def test_a_killed_call_does_not_look_like_one_that_worked():
    def killed():
        raise Killed()

    call = background.BackgroundCall(killed).start()
    with pytest.raises(Killed):
        call.wait()


def test_log_lines_of_the_thread_carry_the_request_context():
    context = oslo_context.RequestContext(request_id='req-build-1')
    seen = []
    background.BackgroundCall(
        lambda: seen.append(oslo_context.get_current()),
        log_context=context).start().wait()
    assert seen == [context]
