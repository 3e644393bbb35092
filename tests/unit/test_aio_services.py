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

"""The all-in-one cloud's services: what ``aio.sh up`` does with one
that already runs.

The service is a real process: it serves (a marker file, its readiness
check) until SIGTERM, then takes two seconds to shut down, as a service
stopped by hand a moment before ``up`` does.
"""

import os
import signal
import sys
import time

import pytest

from tests import fpga_sim

sys.path.insert(0, os.path.join(fpga_sim.REPO, 'build_scripts'))
from fpga_nova_aio import processes  # noqa: E402
from fpga_nova_aio import settings as aio_settings  # noqa: E402
from fpga_nova_aio import steps  # noqa: E402

SERVICE = """
import os, signal, sys, time

def shut_down(number, frame):
    os.unlink(sys.argv[1])
    time.sleep(2)
    sys.exit(0)

signal.signal(signal.SIGTERM, shut_down)
open(sys.argv[1], 'w').close()
while True:
    time.sleep(1)
"""


@pytest.fixture
def service(tmp_path):
    settings = aio_settings.Settings(
        role='all', state_dir=str(tmp_path / 'state'),
        venv=os.path.dirname(os.path.dirname(sys.executable)),
        log_dir=str(tmp_path / 'log'), compute_driver='fake', computes=())
    program = tmp_path / 'service.py'
    program.write_text(SERVICE)
    marker = str(tmp_path / 'serving')
    service = processes.Service(
        settings, 'slow-to-stop', [sys.executable, str(program), marker],
        ready=lambda: os.path.exists(marker), start_timeout=30)
    yield service
    service.stop()


def test_a_serving_service_is_left_alone(service):
    service.ensure_running()
    pid = service.pid()
    outcome = service.ensure_running()
    assert outcome.skipped
    assert service.pid() == pid


def test_a_service_on_its_way_out_is_started_again(service):
    service.ensure_running()
    stopping = service.pid()
    os.kill(stopping, signal.SIGTERM)
    steps.wait_for(lambda: not service.ready(), 30, 'the service stopping')
    assert processes.running_pid(service.record()) == stopping

    outcome = service.ensure_running()

    assert not outcome.skipped
    assert 'pid %d was stopping' % stopping in outcome.text
    assert processes.start_time(stopping) is None
    assert service.pid() not in (None, stopping)
    assert service.ready()


def test_a_running_service_that_does_not_serve_fails_up(service, tmp_path):
    service.ensure_running()
    pid = service.pid()
    # It still runs but no longer answers its readiness check.
    os.unlink(str(tmp_path / 'serving'))
    service.start_timeout = 1
    started = time.monotonic()

    with pytest.raises(steps.StepFailed) as failure:
        service.ensure_running()

    assert time.monotonic() - started >= 1
    assert 'slow-to-stop, running as pid %d' % pid in str(failure.value)
    assert 'not ready after 1 s' in str(failure.value)
    # The end of its log comes with the error.
    assert 'starting %s' % sys.executable in failure.value.detail
    assert service.pid() == pid
