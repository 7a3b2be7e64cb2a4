# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin run_lock: who holds the lock is decided with what only the controller knows.

The owner is this controller's user and host name and the ``ansible-playbook`` process (the
parent of this forked worker) with its start time; a refused lock whose owner ran here and whose
process is gone is reclaimed by a second call.
"""

from __future__ import annotations

import getpass
import os
import socket

from ansible.plugins.action import ActionBase

from ansible_collections.ascend.serving.plugins.module_utils.run_lock import owner_gone, pid_start


def controller_owner(playbook):
    pid = os.getppid()
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return {'user': user, 'controller': socket.gethostname(), 'pid': pid, 'pid_start': pid_start(pid),
            'playbook': playbook or '?'}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        given = args.get('owner') or {}
        me = controller_owner(given.get('playbook') if isinstance(given, dict) else None)
        args['owner'] = me
        args.pop('reclaim_token', None)
        out = self._execute_module(module_name='ascend.serving.run_lock', module_args=args, task_vars=task_vars)
        holder = out.get('holder')
        if out.get('failed') and out.get('action') == 'refuse' and holder and owner_gone(holder, me):
            args['reclaim_token'] = holder.get('token')
            out = self._execute_module(module_name='ascend.serving.run_lock', module_args=args, task_vars=task_vars)
        result.update(out)
        result['owner'] = me
        return result
