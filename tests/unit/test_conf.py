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

import subprocess
import sys

from oslo_config import cfg
import stevedore

from nova_fpga import conf as fpga_conf


def test_options_register_with_the_names_operators_know(tmp_path):
    conf = cfg.ConfigOpts()
    fpga_conf.register_opts(conf)
    config = tmp_path / 'nova.conf'
    config.write_text('[DEFAULT]\nfpga_access = True\n'
                      'fpga_simulation_mode = False\n'
                      'fpga_exec = fpga-cli.py\n'
                      '[fpga]\nallow_image_ip_id = True\n'
                      'command_timeout = 30\n')
    conf(['--config-file', str(config)])
    assert conf.fpga_access is True
    assert conf.fpga_simulation_mode is False
    assert conf.fpga_exec == 'fpga-cli.py'
    assert conf.fpga.allow_image_ip_id is True
    assert conf.fpga.command_timeout == 30


def test_defaults_are_safe():
    conf = cfg.ConfigOpts()
    fpga_conf.register_opts(conf)
    conf([], default_config_files=[])
    assert conf.fpga_access is False
    assert conf.fpga_exec is None
    assert conf.fpga.allow_image_ip_id is False


def test_importing_registers_on_the_global_conf():
    assert 'fpga_access' in cfg.CONF
    assert 'command_timeout' in cfg.CONF.fpga


def test_opts_entry_point_feeds_the_sample_config_generator(tmp_path):
    manager = stevedore.NamedExtensionManager(
        'oslo.config.opts', names=['nova_fpga'])
    groups = dict(manager['nova_fpga'].plugin())
    assert {opt.name for opt in groups['DEFAULT']} == {
        'fpga_access', 'fpga_exec', 'fpga_simulation_mode'}
    sample = tmp_path / 'nova_fpga.conf.sample'
    subprocess.run(
        [sys.executable, '-m', 'oslo_config.generator',
         '--namespace', 'nova_fpga', '--output-file', str(sample)],
        check=True)
    text = sample.read_text()
    assert '#fpga_exec = <None>' in text
    assert '[fpga]' in text and '#allow_image_ip_id = false' in text
