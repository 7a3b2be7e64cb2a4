#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: run_lock
short_description: One deploy, upgrade, rollback or undeploy at a time on a node (a lock file with owner and age)
version_added: 0.3.0
description:
  - O(state=present) takes the lock file O(path) for this run, or fails naming who holds it
    (controller user@host, pid, playbook) and since when. O(state=absent) releases it when it is
    this run's.
  - Its action plugin fills in O(owner) on the controller (user, host name, the pid and start time
    of the C(ansible-playbook) process, the playbook) and reclaims a lock whose owner ran on this
    same controller and whose process is gone (a run that failed - Ansible runs no later play, so
    it could not release it).
  - A lock older than O(max_age) seconds is broken when O(break_lock) is true.
  - Taking and releasing the lock is bookkeeping, never reported as a change. In check mode nothing
    is written (the lock is only checked).
author:
  - ascend.serving contributors (@ascend-serving)
options:
  path:
    description: The lock file on the node.
    type: path
    default: /run/ascend-serving.lock
  state:
    description: C(present) takes the lock, C(absent) releases it.
    type: str
    choices: [present, absent]
    default: present
  owner:
    description: Who runs (set by the action plugin; C(user), C(controller), C(pid), C(pid_start), C(playbook)).
    type: dict
    required: true
  max_age:
    description: Seconds after which O(break_lock) may break another run's lock.
    type: int
    default: 21600
  break_lock:
    description: Break a lock older than O(max_age).
    type: bool
    default: false
  reclaim_token:
    description: Set by the action plugin - the token of a lock whose owner process is gone from this controller.
    type: str
  host:
    description: The inventory host, named in error messages.
    type: str
    default: ""
attributes:
  check_mode:
    support: full
    description: Checks the lock and writes nothing.
  diff_mode:
    support: none
    description: No diff.
"""

EXAMPLES = r"""
- name: One run at a time
  ascend.serving.run_lock:
    owner:
      playbook: deploy.yml
"""

RETURN = r"""
action:
  description: C(take), C(ours), C(reclaim), C(break) or C(refuse) (state present); C(release) or C(keep) (state absent).
  returned: always
  type: str
holder:
  description: The lock found before this call (null when there was none).
  returned: always
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ascend.serving.plugins.module_utils import run_lock


def main():
    module = AnsibleModule(
        argument_spec={
            'path': {'type': 'path', 'default': run_lock.DEFAULT_PATH},
            'state': {'type': 'str', 'choices': ['present', 'absent'], 'default': 'present'},
            'owner': {'type': 'dict', 'required': True},
            'max_age': {'type': 'int', 'default': 21600},
            'break_lock': {'type': 'bool', 'default': False},
            'reclaim_token': {'type': 'str', 'no_log': False},
            'host': {'type': 'str', 'default': ''},
        },
        supports_check_mode=True,
    )
    p = module.params
    where = '%s: %s' % (p['host'] or 'node', p['path'])
    if not os.path.isdir(os.path.dirname(p['path'])):
        module.fail_json(msg='%s: the directory of the lock file does not exist (set ascend_serving_lock_path)' % where)
    try:
        if p['state'] == 'absent':
            out = run_lock.release(p['path'], p['owner'], module.check_mode)
            module.exit_json(changed=False, action='release' if out['released'] else 'keep', holder=out['holder'])
        out = run_lock.acquire(p['path'], p['owner'], p['max_age'], p['break_lock'], p['reclaim_token'],
                               module.check_mode)
    except OSError as exc:
        module.fail_json(msg='%s: %s' % (where, exc))
    if out['action'] == 'refuse':
        module.fail_json(msg='%s: %s' % (where, out['message']), action='refuse', holder=out['holder'])
    if out['message']:
        module.warn('%s: %s' % (where, out['message']))
    module.exit_json(changed=False, action=out['action'], holder=out['holder'])


if __name__ == '__main__':
    main()
