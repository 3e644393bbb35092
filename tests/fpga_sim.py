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

"""Running the real bin/fpga-cli.py on a simulated FPGA of a test's own."""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The installed command, run as Nova runs it (its shell part starts this
# interpreter beside it), not the source file: that is what operators run.
FPGA_CLI = os.path.join(os.path.dirname(sys.executable), 'fpga-cli.py')
ETC = os.path.join(REPO, 'etc')


def fpga_environ(tmp_path, regions=2, **extra):
    """An environment for one simulated FPGA under tmp_path."""
    environ = {key: value for key, value in os.environ.items()
               if not key.startswith('OS_') and key != 'FPGA_ERROR'}
    environ.update(FPGA_CLI_STATE_DIR=str(tmp_path / 'state'),
                   FPGA_CLI_DEV_DIR=str(tmp_path / 'dev'),
                   FPGA_CLI_REGIONS=str(regions))
    environ.update(extra)
    return environ


def run_fpga_cli(environ, *args):
    """Run fpga-cli.py; return the CompletedProcess (text)."""
    return subprocess.run([FPGA_CLI] + list(args),
                          env=environ, capture_output=True, text=True,
                          timeout=60)
