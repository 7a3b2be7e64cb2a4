#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: upgrade_switch
short_description: Switch a node to a staged vLLM release, commit it once proven, or roll it back
version_added: 0.3.0
description:
  - The file side of C(playbooks/upgrade.yml) and C(playbooks/rollback.yml) on one node.
  - C(inspect) reads what the node records (C(state.json)), whether a switch is pending, the kept
    copies and the unit's state (C(systemctl show)); it changes nothing.
  - C(switch) copies the files running now into C(<previous_dir>.pending) (built under a temporary
    name, renamed into place complete), then puts every file of O(stage_dir) in place - the unit
    file at O(unit_path), the others in O(config_dir) - C(state.json) first, carrying the pending
    mark (key C(pending) set to C(true), and C(replaces) - what ran before). An API key file the
    stage has not is removed. The stage directory is removed.
  - A switch is refused while C(<previous_dir>.pending) exists, unless it resumes the same
    upgrade (C(state.json) pending, same target); the known-good copy is never overwritten.
  - C(commit) (the new release answered) - C(<previous_dir>.pending) replaces O(previous_dir), then
    the mark is dropped from C(state.json) (written as deploy writes it). Nothing pending - no change.
  - C(rollback) puts C(<previous_dir>.pending) back, or O(previous_dir) (see O(rollback_from)),
    and removes C(<previous_dir>.pending) once its files are back.
  - C(discard) removes a stage directory left by a run that stopped before its switch.
  - Every file is put in place through a temporary file in its destination directory and a
    rename, with the owner and mode of its source; symlinks are refused. Every check runs before
    anything changes.
author:
  - ascend.serving contributors (@ascend-serving)
options:
  action:
    description: What to do.
    type: str
    required: true
    choices: [inspect, switch, commit, rollback, discard]
  config_dir:
    description: The service's configuration directory (C(/etc/ascend-serving)). Not for C(discard).
    type: path
  stage_dir:
    description: Where the new release was staged. C(switch) and C(discard).
    type: path
  previous_dir:
    description: Where the replaced release is kept (C(<config_dir>/previous)). Not for C(discard).
    type: path
  unit_path:
    description: The systemd unit file (C(/etc/systemd/system/ascend-vllm.service)); its name is the unit. C(inspect), C(switch), C(rollback).
    type: path
  rollback_from:
    description:
      - C(auto) - C(<previous_dir>.pending) when an upgrade did not finish, else O(previous_dir) (the
        release before the last successful upgrade).
      - C(unfinished) (after a failed upgrade) - C(<previous_dir>.pending); else O(previous_dir) when
        C(state.json) is pending; else nothing (the switch never happened).
    type: str
    default: auto
    choices: [auto, unfinished]
attributes:
  check_mode:
    support: full
    description: Checks everything and reports what would be done; changes nothing.
  diff_mode:
    support: none
    description: Returns the paths it changed instead of a diff.
"""

EXAMPLES = r"""
- name: Switch to the staged release
  ascend.serving.upgrade_switch:
    action: switch
    config_dir: /etc/ascend-serving
    stage_dir: /etc/ascend-serving/staged
    previous_dir: /etc/ascend-serving/previous
    unit_path: /etc/systemd/system/ascend-vllm.service

- name: The new release answered - keep it
  ascend.serving.upgrade_switch:
    action: commit
    config_dir: /etc/ascend-serving
    previous_dir: /etc/ascend-serving/previous
"""

RETURN = r"""
state:
  description: The state record in place after the action (C(inspect) - as read; C(switch) - with the mark).
  type: dict
  returned: inspect, switch, commit, rollback
pending:
  description: C(state.json) carries the pending mark (switched, not proven healthy).
  type: bool
  returned: inspect
replaces:
  description: Release, profile, install method and runtime of what a pending switch replaced.
  type: dict
  returned: inspect, switch
pending_dir:
  description: C(<previous_dir>.pending).
  type: str
  returned: inspect, switch
pending_dir_exists:
  description: An unfinished switch left the files that ran before it.
  type: bool
  returned: inspect
pending_dir_state:
  description: Release, profile, install method and runtime kept in C(<previous_dir>.pending).
  type: dict
  returned: inspect
previous_exists:
  description: O(previous_dir) exists.
  type: bool
  returned: inspect
previous_state:
  description: Release, profile, install method and runtime kept in O(previous_dir).
  type: dict
  returned: inspect
unit:
  description: The unit's C(active_state), C(sub_state) and C(load_state).
  type: dict
  returned: inspect
  sample: {active_state: active, sub_state: running, load_state: loaded}
resumed:
  description: The switch resumed an unfinished upgrade to the same target (nothing set aside).
  type: bool
  returned: switch
set_aside:
  description: Files copied into C(<previous_dir>.pending).
  type: list
  elements: str
  returned: switch
installed:
  description: Files put in place.
  type: list
  elements: str
  returned: switch
removed:
  description: Files removed.
  type: list
  elements: str
  returned: switch, rollback, discard
source:
  description: The directory the rollback restored from (none - nothing to restore).
  type: str
  returned: rollback
restored:
  description: Files put back.
  type: list
  elements: str
  returned: rollback
kept:
  description: The directory now holding the replaced release (commit).
  type: str
  returned: commit
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.ascend.serving.plugins.module_utils import upgrade_switch as us

NEEDS = {
    'inspect': ('config_dir', 'previous_dir', 'unit_path'),
    'switch': ('config_dir', 'stage_dir', 'previous_dir', 'unit_path'),
    'commit': ('config_dir', 'previous_dir'),
    'rollback': ('config_dir', 'previous_dir', 'unit_path'),
    'discard': ('stage_dir',),
}


def unit_state(module, unit_name):
    systemctl = module.get_bin_path('systemctl')
    if not systemctl:
        module.fail_json(msg='systemctl not found on this node: the vLLM service runs under systemd')
    rc, out, err = module.run_command([systemctl, 'show', '-p', 'ActiveState', '-p', 'SubState', '-p', 'LoadState',
                                       '--', unit_name])
    if rc != 0:
        module.fail_json(msg='systemctl show %s failed (rc %d): %s' % (unit_name, rc, (err or out).strip()))
    return us.parse_unit_show(out)


def run(module):
    p = module.params
    action = p['action']
    if action == 'inspect':
        result = us.inspect(p['config_dir'], p['previous_dir'])
        result['unit'] = unit_state(module, p['unit_path'].rstrip('/').rsplit('/', 1)[-1])
        result['changed'] = False
        return result
    if action == 'switch':
        return us.switch(p['config_dir'], p['stage_dir'], p['previous_dir'], p['unit_path'], check=module.check_mode)
    if action == 'commit':
        return us.commit(p['config_dir'], p['previous_dir'], check=module.check_mode)
    if action == 'rollback':
        return us.rollback(p['config_dir'], p['previous_dir'], p['unit_path'], p['rollback_from'],
                           check=module.check_mode)
    return us.discard_stage(p['stage_dir'], check=module.check_mode)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type='str', required=True, choices=['inspect', 'switch', 'commit', 'rollback', 'discard']),
            config_dir=dict(type='path'),
            stage_dir=dict(type='path'),
            previous_dir=dict(type='path'),
            unit_path=dict(type='path'),
            rollback_from=dict(type='str', default='auto', choices=['auto', 'unfinished']),
        ),
        required_if=[('action', action, list(needs)) for action, needs in sorted(NEEDS.items())],
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except us.SwitchError as exc:
        module.fail_json(msg='%s: %s' % (module.params['action'], to_native(exc)))
    except OSError as exc:
        module.fail_json(msg='%s: %s: %s' % (module.params['action'], getattr(exc, 'filename', None) or 'file',
                                             to_native(exc)))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
