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

import os

import pytest

from tests import fpga_sim


@pytest.fixture
def fpga(tmp_path, monkeypatch):
    """A simulated FPGA with 2 regions.

    It is also set in this process's environment, so that the client
    (whose fpga-cli inherits the environment) uses it.
    """
    environ = fpga_sim.fpga_environ(tmp_path)
    for key in list(os.environ):
        if key.startswith('OS_') or key == 'FPGA_ERROR':
            monkeypatch.delenv(key)
    for key in ('FPGA_CLI_STATE_DIR', 'FPGA_CLI_DEV_DIR',
                'FPGA_CLI_REGIONS'):
        monkeypatch.setenv(key, environ[key])
    return environ
