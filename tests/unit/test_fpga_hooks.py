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

"""fpga_hooks through the real nova.hooks entry points and the real
fpga-cli.py on a simulated FPGA.

Nova is not installed in this test layer, so the instance is a small
stand-in with the attributes the hooks use (flavor.extra_specs,
system_metadata, fpga_device, save); tests/nova runs the same hooks
inside Nova's own services.
"""

import logging
import types
import uuid

from oslo_config import cfg
from oslo_config import fixture as config_fixture
import pytest
import stevedore

import fpga_hooks
from nova_fpga import exception
from nova_fpga import fpga_cli
from nova_fpga import hooks
from nova_fpga import regions
from tests import fpga_sim

IP = 'dd834aa4-f950-40e6-8c23-9dab7f3f0138'


class Instance(object):
    def __init__(self, extra_specs=None, image_properties=None,
                 fail_save=False):
        self.uuid = str(uuid.uuid4())
        self.flavor = types.SimpleNamespace(extra_specs=extra_specs or {})
        self.system_metadata = {'image_' + key: value for key, value in
                                (image_properties or {}).items()}
        self.fpga_device = None
        self.saved = []
        self.fail_save = fail_save

    def save(self):
        if self.fail_save:
            raise RuntimeError('database gone')
        self.saved.append(self.fpga_device)


@pytest.fixture
def conf(fpga):
    fixture = config_fixture.Config(cfg.CONF)
    fixture.setUp()
    fixture.config(fpga_access=True, fpga_exec=fpga_sim.FPGA_CLI)
    fixture.config(root_helper='', command_timeout=30, group='fpga')
    hooks.reset()
    yield fixture
    hooks.reset()
    fixture.cleanUp()


@pytest.fixture(autouse=True)
def builds(monkeypatch):
    """The builds of this test alone: a hook leaves its build open."""
    monkeypatch.setattr(regions, 'BUILDS', regions.BuildsInProgress())


@pytest.fixture
def client(conf):
    return fpga_cli.FpgaCli.from_conf(cfg.CONF)


SPAWNED = []


@hooks.add_hook('build_instance')
def build_and_spawn(context, instance=None):
    SPAWNED.append(instance)
    return 'spawned'


@hooks.add_hook('delete_instance')
def destroy(context, instance=None):
    return 'destroyed'


def test_entry_points_resolve_to_the_hook_classes():
    build = stevedore.hook.HookManager('nova.hooks', 'build_instance')
    delete = stevedore.hook.HookManager('nova.hooks', 'delete_instance')
    assert fpga_hooks.FpgaBuildInstanceHook in [e.plugin for e in build]
    assert fpga_hooks.FpgaDeleteInstanceHook in [e.plugin for e in delete]


def test_build_burns_the_region_before_spawn(client):
    SPAWNED.clear()
    instance = Instance({'hw:fpga_ip_id': IP})
    assert build_and_spawn('ctx', instance=instance) == 'spawned'
    assert SPAWNED == [instance]
    assert instance.fpga_device.startswith(client_dev_dir())
    # Saving it is the build's (regions.record_region).
    assert instance.saved == []
    assert client.status() == (1, 2)


def test_record_region_saves_the_burned_region(client):
    instance = Instance({'hw:fpga_ip_id': IP})
    build_and_spawn('ctx', instance=instance)
    regions.record_region(instance)
    assert instance.saved == [instance.fpga_device]


def test_failed_record_names_the_region_and_leaves_it_to_release(client):
    instance = Instance({'hw:fpga_ip_id': IP}, fail_save=True)
    build_and_spawn('ctx', instance=instance)
    region = instance.fpga_device
    with pytest.raises(fpga_hooks.FpgaBuildFailed,
                       match='Cannot record FPGA region %s on instance %s: '
                             'database gone' % (region, instance.uuid)):
        regions.record_region(instance)
    # Released by the build's failure handling, not by the record.
    assert instance.fpga_device == region
    assert client.status() == (1, 2)


def client_dev_dir():
    import os
    return os.environ['FPGA_CLI_DEV_DIR']


def test_build_without_an_ip_burns_nothing(client):
    instance = Instance({'hw:cpu_policy': 'shared'})
    assert build_and_spawn('ctx', instance=instance) == 'spawned'
    assert instance.fpga_device is None
    assert client.status() == (0, 2)


def test_burn_failure_stops_the_build_naming_fpga_cli_error(
        client, monkeypatch):
    SPAWNED.clear()
    monkeypatch.setenv('FPGA_ERROR', '1')
    instance = Instance({'hw:fpga_ip_id': IP})
    with pytest.raises(fpga_hooks.FpgaBuildFailed) as e:
        build_and_spawn('ctx', instance=instance)
    assert isinstance(e.value, hooks.FatalHookException)
    # It becomes the instance's fault: the instance goes without saying.
    assert e.value.message.startswith('Cannot program an FPGA region: ')
    assert "cannot programm `%s' - no matching hardware found" % IP in (
        e.value.message)
    assert SPAWNED == []
    monkeypatch.delenv('FPGA_ERROR')
    assert client.status() == (0, 2)


def test_ip_on_a_host_without_fpga_access_fails_the_build(conf, client):
    conf.config(fpga_access=False)
    with pytest.raises(fpga_hooks.FpgaBuildFailed, match='fpga_access'):
        build_and_spawn('ctx', instance=Instance({'hw:fpga_ip_id': IP}))
    assert client.status() == (0, 2)


def test_malformed_ip_id_fails_the_build_naming_it(client):
    with pytest.raises(fpga_hooks.FpgaBuildFailed, match="'lzo'"):
        build_and_spawn('ctx', instance=Instance({'hw:fpga_ip_id': 'lzo'}))
    assert client.status() == (0, 2)


def test_image_ip_id_counts_only_when_allowed(conf, client):
    instance = Instance(image_properties={'hw:fpga_ip_id': IP})
    build_and_spawn('ctx', instance=instance)
    assert instance.fpga_device is None
    conf.config(allow_image_ip_id=True, group='fpga')
    build_and_spawn('ctx', instance=instance)
    assert instance.fpga_device is not None
    assert client.status() == (1, 2)


def test_delete_erases_the_region(client):
    instance = Instance({'hw:fpga_ip_id': IP})
    build_and_spawn('ctx', instance=instance)
    assert client.status() == (1, 2)
    assert destroy('ctx', instance=instance) == 'destroyed'
    assert client.status() == (0, 2)


def test_erase_failure_is_logged_and_does_not_block_delete(
        client, caplog):
    instance = Instance()
    instance.fpga_device = '/dev/fpga1.99'
    with caplog.at_level(logging.ERROR, logger='nova_fpga.regions'):
        assert destroy('ctx', instance=instance) == 'destroyed'
    messages = [record.getMessage() for record in caplog.records]
    assert any(instance.uuid in message and '/dev/fpga1.99' in message
               and 'unknown region' in message for message in messages)


def test_delete_of_an_instance_without_region_runs_nothing(conf):
    conf.config(fpga_exec=None)
    # With no region there is nothing to erase, so even a host without
    # fpga_exec deletes cleanly.
    assert destroy('ctx', instance=Instance()) == 'destroyed'


def test_burn_failure_is_an_fpga_error_too():
    assert issubclass(fpga_hooks.FpgaBuildFailed, exception.FpgaError)
