# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers to run a module's ``main()`` in-process in unit tests.

``run_module(main, args, runner=..., bin_paths=...)`` feeds the module
its arguments, replaces ``AnsibleModule.run_command`` and ``get_bin_path`` with
fakes, and returns what the module passed to ``exit_json``/``fail_json``. A
module that runs its commands with its own ``execute(argv, timeout)`` function
instead of ``run_command`` (hccn_info) passes ``execute_in=<the module>``.

Arguments go through ``ansible.module_utils.testing.patch_module_args`` (the
documented way since ansible-core 2.19), with a fallback for older cores.
"""

from __future__ import annotations

import contextlib
import json
import threading

from unittest import mock

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    patch_module_args = None


class ModuleExit(Exception):
    """Raised instead of exit_json/fail_json; ``result`` is what the module returned."""

    def __init__(self, result, failed):
        super(ModuleExit, self).__init__(result)
        self.result = result
        self.failed = failed


def _exit_json(self, **kwargs):
    kwargs.setdefault('changed', False)
    raise ModuleExit(kwargs, failed=False)


def _fail_json(self, msg=None, **kwargs):
    kwargs['failed'] = True
    kwargs['msg'] = msg
    raise ModuleExit(kwargs, failed=True)


@contextlib.contextmanager
def module_args(args):
    """Expose ``args`` to AnsibleModule instances created inside the block."""
    if patch_module_args is not None:
        with patch_module_args(args):
            yield
    else:
        payload = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
        with mock.patch.object(basic, '_ANSIBLE_ARGS', payload):
            yield


class FakeRunner(object):
    """Stands in for ``AnsibleModule.run_command``; safe to call from several threads.

    ``answer(argv)`` returns ``(rc, stdout, stderr)``.  Every call is recorded
    in ``calls`` (argv lists) and the module's ``run_command_environ_update``
    in ``environ``.
    """

    def __init__(self, answer):
        self.answer = answer
        self.calls = []
        self.environ = []
        self.timeouts = []
        self._lock = threading.Lock()

    def execute(self, argv, timeout=None):
        """Stands in for a module's own ``execute(argv, timeout)``."""
        with self._lock:
            self.calls.append(list(argv))
            self.timeouts.append(timeout)
        return self.answer(list(argv))

    def __call__(self, module, args, **kwargs):
        with self._lock:
            self.calls.append(list(args))
            self.environ.append(dict(module.run_command_environ_update or {}))
        return self.answer(list(args))


def _no_command(argv):
    raise AssertionError('unexpected command %r' % (argv,))


def run_module(main, args, runner=None, bin_paths=None, execute_in=None):
    """Run ``main()`` with ``args``; return ``(failed, result, runner)``.

    ``bin_paths`` maps a binary name to what ``get_bin_path`` returns (None
    when absent); ``runner`` is a FakeRunner (a default one fails the test
    when the module runs any command). ``execute_in``: a module object whose
    ``execute`` function is replaced by ``runner.execute`` too.
    """
    if runner is None:
        runner = FakeRunner(_no_command)
    bin_paths = bin_paths or {}

    def get_bin_path(self, arg, required=False, opt_dirs=None):
        return bin_paths.get(arg)

    def run_command(self, args, **kwargs):
        return runner(self, args, **kwargs)

    with module_args(args), \
            mock.patch.object(basic.AnsibleModule, 'exit_json', _exit_json), \
            mock.patch.object(basic.AnsibleModule, 'fail_json', _fail_json), \
            mock.patch.object(basic.AnsibleModule, 'get_bin_path', get_bin_path), \
            mock.patch.object(basic.AnsibleModule, 'run_command', run_command), \
            (mock.patch.object(execute_in, 'execute', runner.execute) if execute_in is not None
             else contextlib.nullcontext()):
        try:
            main()
        except ModuleExit as done:
            return done.failed, done.result, runner
    raise AssertionError('the module returned without calling exit_json or fail_json')
