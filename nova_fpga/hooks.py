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

"""Hooks around Nova callables, loaded from the ``nova.hooks`` namespace.

Nova removed its hook facility in 22.0.0 (Victoria). The Nova patches
bring ``nova/hooks.py`` back as a re-export of this module, with the old
semantics, so that ``fpga_hooks`` (and any other ``nova.hooks`` plug-in)
can run code around a decorated callable:

* ``@add_hook('build_instance')`` on a callable makes every plug-in
  registered under the entry point name ``build_instance`` run its
  ``pre(*args, **kwargs)`` before the callable and its
  ``post(rv, *args, **kwargs)`` after it (with ``pass_function=True`` the
  callable itself is passed first: ``pre(f, *args, **kwargs)``,
  ``post(f, rv, *args, **kwargs)``).
* A hook that raises ``FatalHookException`` (or a subclass) stops the
  callable: the exception is logged and raised to the caller. Any other
  exception from a hook is logged and ignored.
* ``post`` does not run when the callable raised.
"""

import functools
import threading

from oslo_log import log as logging
from stevedore import hook

from nova_fpga import exception

LOG = logging.getLogger(__name__)

NS = 'nova.hooks'

_HOOKS = {}
_HOOKS_LOCK = threading.Lock()


# Defined with the other exceptions so that raising it needs no stevedore.
FatalHookException = exception.FatalHookException


class HookManager(hook.HookManager):
    """The plug-ins registered under one hook name."""

    def __init__(self, name):
        super().__init__(NS, name, invoke_on_load=True)

    def _run(self, name, method_type, args, kwargs, func=None):
        for extension in self.extensions:
            method = getattr(extension.obj, method_type, None)
            if method is None:
                continue
            LOG.debug('Running %(name)s %(type)s-hook: %(obj)s',
                      {'name': name, 'type': method_type,
                       'obj': extension.obj})
            try:
                if func is not None:
                    method(func, *args, **kwargs)
                else:
                    method(*args, **kwargs)
            except FatalHookException:
                LOG.exception('Fatal exception running %(name)s '
                              '%(type)s-hook: %(obj)s',
                              {'name': name, 'type': method_type,
                               'obj': extension.obj})
                raise
            except Exception:
                LOG.exception('Exception running %(name)s %(type)s-hook: '
                              '%(obj)s, ignored',
                              {'name': name, 'type': method_type,
                               'obj': extension.obj})

    def run_pre(self, name, args, kwargs, f=None):
        self._run(name, 'pre', args, kwargs, func=f)

    def run_post(self, name, rv, args, kwargs, f=None):
        self._run(name, 'post', (rv,) + tuple(args), kwargs, func=f)


def _manager(name):
    manager = _HOOKS.get(name)
    if manager is None:
        with _HOOKS_LOCK:
            manager = _HOOKS.get(name)
            if manager is None:
                manager = _HOOKS[name] = HookManager(name)
    return manager


def add_hook(name, pass_function=False):
    """Run the ``name`` hooks before and after the decorated callable."""

    def outer(f):
        f.__hook_name__ = name

        @functools.wraps(f)
        def inner(*args, **kwargs):
            manager = _manager(name)
            function = f if pass_function else None
            manager.run_pre(name, args, kwargs, f=function)
            rv = f(*args, **kwargs)
            manager.run_post(name, rv, args, kwargs, f=function)
            return rv

        return inner

    return outer


def reset():
    """Forget the loaded hooks (they are loaded again on next use)."""
    with _HOOKS_LOCK:
        _HOOKS.clear()
