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

"""nova_fpga.hooks: the restored nova.hooks facility, loading real entry
points from a distribution the test installs on sys.path."""

import sys

import pytest
from stevedore import extension

from nova_fpga import hooks

CALLS = []


class RecordingHook(object):
    def pre(self, *args, **kwargs):
        CALLS.append(('pre', args, kwargs))

    def post(self, rv, *args, **kwargs):
        CALLS.append(('post', rv, args, kwargs))


class FunctionHook(object):
    def pre(self, f, *args, **kwargs):
        CALLS.append(('pre', f.__name__, args))

    def post(self, f, rv, *args, **kwargs):
        CALLS.append(('post', f.__name__, rv))


class FatalHook(object):
    def pre(self, *args, **kwargs):
        raise hooks.FatalHookException('stop it')


class BrokenHook(object):
    def pre(self, *args, **kwargs):
        raise RuntimeError('a bug in a hook')


ENTRY_POINTS = """\
[nova.hooks]
recorded = {module}:RecordingHook
with_function = {module}:FunctionHook
fatal = {module}:FatalHook
broken = {module}:BrokenHook
broken = {module}:RecordingHook
"""


@pytest.fixture(autouse=True)
def plugins(tmp_path, monkeypatch):
    dist_info = tmp_path / 'hook_test_plugins-1.0.dist-info'
    dist_info.mkdir()
    (dist_info / 'METADATA').write_text(
        'Metadata-Version: 2.1\nName: hook-test-plugins\nVersion: 1.0\n')
    (dist_info / 'entry_points.txt').write_text(
        ENTRY_POINTS.format(module=__name__))
    monkeypatch.setattr(sys, 'path', [str(tmp_path)] + sys.path)
    # stevedore remembers each namespace's entry points per process.
    monkeypatch.setattr(extension.ExtensionManager, 'ENTRY_POINT_CACHE', {})
    CALLS.clear()
    hooks.reset()
    yield
    hooks.reset()


def test_pre_and_post_run_around_the_callable():
    @hooks.add_hook('recorded')
    def build(context, instance=None):
        CALLS.append(('called', context, instance))
        return 'built'

    assert build('ctx', instance='inst') == 'built'
    assert CALLS == [
        ('pre', ('ctx',), {'instance': 'inst'}),
        ('called', 'ctx', 'inst'),
        ('post', 'built', ('ctx',), {'instance': 'inst'}),
    ]
    assert build.__hook_name__ == 'recorded'
    assert build.__name__ == 'build'


def test_pass_function_hands_the_callable_to_the_hook():
    @hooks.add_hook('with_function', pass_function=True)
    def spawn(x):
        return x * 2

    assert spawn(21) == 42
    assert CALLS == [('pre', 'spawn', (21,)), ('post', 'spawn', 42)]


def test_fatal_hook_exception_stops_the_callable():
    called = []

    @hooks.add_hook('fatal')
    def build():
        called.append(True)

    with pytest.raises(hooks.FatalHookException, match='stop it'):
        build()
    assert called == []


def test_other_hook_exceptions_are_logged_and_ignored():
    @hooks.add_hook('broken')
    def build():
        return 'built'

    assert build() == 'built'
    # The second plug-in of the same name still ran.
    assert [call[0] for call in CALLS] == ['pre', 'post']


def test_post_does_not_run_when_the_callable_raises():
    @hooks.add_hook('recorded')
    def build():
        raise ValueError('spawn failed')

    with pytest.raises(ValueError):
        build()
    assert [call[0] for call in CALLS] == ['pre']


def test_a_name_without_plugins_just_calls_through():
    @hooks.add_hook('nothing_registered')
    def build():
        return 1

    assert build() == 1
    assert CALLS == []


def test_managers_are_loaded_once_and_reset_forgets_them():
    @hooks.add_hook('recorded')
    def build():
        pass

    build()
    manager = hooks._HOOKS['recorded']
    build()
    assert hooks._HOOKS['recorded'] is manager
    hooks.reset()
    assert hooks._HOOKS == {}
