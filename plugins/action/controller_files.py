# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin controller_files: the work is done here, on the controller (see the module doc)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.ascend.serving.plugins.module_utils.controller_files import FilesError, write_files

ARGUMENT_SPEC = {
    'files': {'type': 'list', 'elements': 'dict', 'required': True, 'options': {
        'path': {'type': 'path', 'required': True},
        'content': {'type': 'str', 'required': True},
        'mode': {'type': 'str', 'default': '0644'},
    }},
    'directory_mode': {'type': 'str', 'default': '0755'},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            changed = write_files(args['files'], args['directory_mode'], check_mode=self._task.check_mode)
        except FilesError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        result.update(changed=bool(changed), paths=changed)
        return result
