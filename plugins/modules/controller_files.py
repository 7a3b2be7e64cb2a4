#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: controller_files
short_description: Write a few text files on the controller in one task
version_added: 0.2.0
description:
  - Writes each file of O(files) on the Ansible controller, creating missing parent directories,
    and only when its content or mode differs (atomically); reports C(changed) when one did.
  - All in the action plugin, on the controller, with no module run and no connection; one task
    instead of a M(ansible.builtin.file) plus a M(ansible.builtin.copy) per file (each a module run
    of its own).
author:
  - ascend.serving contributors (@ascend-serving)
options:
  files:
    description: The files to write.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Path on the controller.
        type: path
        required: true
      content:
        description: The file's text (written as UTF-8).
        type: str
        required: true
      mode:
        description: Octal permissions of the file.
        type: str
        default: "0644"
  directory_mode:
    description: Octal permissions of the parent directories it creates.
    type: str
    default: "0755"
attributes:
  check_mode:
    support: full
    description: Reports which files would change and writes nothing.
  diff_mode:
    support: none
    description: Returns no diff.
  action:
    support: full
    description: Runs on the controller as an action plugin.
"""

EXAMPLES = r"""
- name: Write the report next to the inventory
  ascend.serving.controller_files:
    directory_mode: "0750"
    files:
      - path: "{{ report_dir }}/report.json"
        content: "{{ report | to_nice_json }}\n"
        mode: "0640"
"""

RETURN = r"""
paths:
  description: The files that were written (would be, in check mode).
  returned: success
  type: list
  elements: str
  sample: [/srv/reports/verify_comm.json]
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type='list', elements='dict', required=True, options=dict(
                path=dict(type='path', required=True),
                content=dict(type='str', required=True),
                mode=dict(type='str', default='0644'),
            )),
            directory_mode=dict(type='str', default='0755'),
        ),
        supports_check_mode=True,
    )
    module.fail_json(msg='ascend.serving.controller_files runs as an action plugin on the controller.')


if __name__ == '__main__':
    main()
