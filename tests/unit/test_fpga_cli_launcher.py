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

"""bin/fpga-cli.py starts its Python without site, and still finds
nova_fpga wherever it is installed.

Each case builds a real virtualenv (without pip) and runs the installed
script in it. ``PYTHONPROFILEIMPORTTIME`` makes Python list on stderr
every module it imports, which shows whether site ran.
"""

import os
import shutil
import subprocess
import sys
import venv

import nova_fpga

from tests import fpga_sim

PACKAGE_ROOT = os.path.dirname(os.path.dirname(nova_fpga.__file__))
SITE_PACKAGES = os.path.join('lib', 'python%d.%d' % sys.version_info[:2],
                             'site-packages')


def imported_modules(stderr):
    """The modules an import-time profile on stderr names."""
    return {line.rsplit('|', 1)[1].strip() for line in stderr.splitlines()
            if line.startswith('import time:') and '|' in line}


def run_status(script, tmp_path, **environ):
    env = fpga_sim.fpga_environ(tmp_path, PYTHONPROFILEIMPORTTIME='1',
                                **environ)
    env.pop('PYTHONPATH', None)
    result = subprocess.run([script, 'status'], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == 'Used regions: 0/2\n'
    return imported_modules(result.stderr)


def virtualenv_with_tool(path):
    venv.create(path, with_pip=False, symlinks=True)
    tool = os.path.join(path, 'bin', 'fpga-cli.py')
    shutil.copy2(fpga_sim.FPGA_CLI, tool)
    return tool


def test_the_installed_tool_keeps_its_shell_line():
    with open(fpga_sim.FPGA_CLI) as script:
        assert script.readline() == '#!/bin/sh\n'
    assert os.access(fpga_sim.FPGA_CLI, os.X_OK)


def test_a_virtualenv_install_runs_without_site(tmp_path):
    tool = virtualenv_with_tool(tmp_path / 'venv')
    # Installed as a wheel installs it: the package in site-packages.
    os.symlink(os.path.join(PACKAGE_ROOT, 'nova_fpga'),
               tmp_path / 'venv' / SITE_PACKAGES / 'nova_fpga')
    modules = run_status(tool, tmp_path)
    assert 'nova_fpga.simulator.cli' in modules
    assert 'site' not in modules


def test_an_editable_install_runs_site_when_an_import_needs_it(tmp_path):
    tool = virtualenv_with_tool(tmp_path / 'venv')
    # Installed as pip install -e installs it: found through a .pth file.
    with open(tmp_path / 'venv' / SITE_PACKAGES / 'nova_fpga.pth',
              'w') as pth:
        pth.write(PACKAGE_ROOT + '\n')
    modules = run_status(tool, tmp_path)
    assert {'site', 'nova_fpga.simulator.cli'} <= modules


def test_outside_a_virtualenv_site_runs_first(tmp_path):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    tool = bin_dir / 'fpga-cli.py'
    shutil.copy2(fpga_sim.FPGA_CLI, tool)
    os.symlink(os.path.realpath(sys.executable), bin_dir / 'python3')
    # This Python's own site would not find the package of a test
    # virtualenv; a user site directory with a .pth file does.
    user_site = subprocess.run(
        [str(bin_dir / 'python3'), '-c',
         'import site; print(site.getusersitepackages())'],
        env={'PYTHONUSERBASE': str(tmp_path / 'user')},
        capture_output=True, text=True, check=True).stdout.strip()
    os.makedirs(user_site)
    with open(os.path.join(user_site, 'nova_fpga.pth'), 'w') as pth:
        pth.write(PACKAGE_ROOT + '\n')
    modules = run_status(str(tool), tmp_path,
                         PYTHONUSERBASE=str(tmp_path / 'user'))
    assert {'site', 'nova_fpga.simulator.cli'} <= modules


def test_with_no_python_beside_it_the_one_on_path_runs_it(tmp_path):
    tool = tmp_path / 'fpga-cli.py'
    shutil.copy2(fpga_sim.FPGA_CLI, tool)
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ['PATH']
    modules = run_status(str(tool), tmp_path, PATH=path)
    assert 'nova_fpga.simulator.cli' in modules
