#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: service_probe
short_description: Read what a node's vLLM service records and what it runs, in one round trip
version_added: 0.3.0
description:
  - Reads the service's state record (C(state.json) in O(config_dir)), the digest the launch script
    recorded when the running process started (C(/run/ascend-serving/<unit>.digest)) and the unit's
    systemd state.
  - Changes nothing; the deploy decides from it whether an instance must restart (the running
    digest differs from the desired one, whatever an earlier, interrupted run changed) and whether
    a re-run would drop the endpoint's API key.
author:
  - ascend.serving contributors (@ascend-serving)
options:
  config_dir:
    description:
      - The service's configuration directory. It goes into a systemd unit and a shell script, so it
        must be an absolute path of letters, digits and C(._/+@:,=-) (no C(..)); anything else fails.
    type: path
    required: true
  unit:
    description: The systemd unit of the service.
    type: str
    default: ascend-vllm.service
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Returns no diff.
"""

EXAMPLES = r"""
- name: What this node runs
  ascend.serving.service_probe:
    config_dir: /etc/ascend-serving
  register: probe
"""

RETURN = r"""
state:
  description: The parsed C(state.json), or null when there is none.
  returned: success
  type: dict
state_error:
  description: Why C(state.json) could not be read (unreadable or not a JSON object), else empty.
  returned: success
  type: str
running_digest:
  description: The run digest the launch script recorded at the last start, or null (never started since boot).
  returned: success
  type: str
active_state:
  description: The unit's ActiveState (C(active), C(activating), C(inactive), C(failed), ...).
  returned: success
  type: str
sub_state:
  description: The unit's SubState.
  returned: success
  type: str
serving:
  description: Whether the unit is active or activating (a process runs or is starting).
  returned: success
  type: bool
"""

import json
import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ascend.serving.plugins.module_utils.service import path_problem, run_digest_path


def read_state(path):
    """(record or None, error text)."""
    try:
        with open(path) as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return None, ''
    except (OSError, ValueError) as exc:
        return None, '%s: %s' % (path, exc)
    if not isinstance(data, dict):
        return None, '%s: not a JSON object' % path
    return data, ''


def read_digest(path):
    try:
        with open(path) as handle:
            text = handle.read().strip()
    except OSError:
        return None
    return text if re.match(r'^[0-9a-f]{64}$', text) else None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config_dir=dict(type='path', required=True),
            unit=dict(type='str', default='ascend-vllm.service'),
        ),
        supports_check_mode=True,
    )
    unit = module.params['unit']
    if not re.match(r'^[A-Za-z0-9@._-]+\.service$', unit):
        module.fail_json(msg='unit %r is not a service unit name' % unit)
    # The launch script and the unit name files in this directory: refuse it before anything is written.
    problem = path_problem('config_dir (vllm_service_config_dir / ascend_serving_config_dir)', module.params['config_dir'])
    if problem:
        module.fail_json(msg='%s, e.g. /etc/ascend-serving. Nothing was changed.' % problem)
    state, error = read_state(os.path.join(module.params['config_dir'], 'state.json'))
    digest = read_digest(run_digest_path(unit))
    active, sub = 'unknown', 'unknown'
    systemctl = module.get_bin_path('systemctl')
    if systemctl:
        rc, out, err = module.run_command([systemctl, 'show', '-p', 'ActiveState', '-p', 'SubState', unit],
                                          environ_update={'LANG': 'C', 'LC_ALL': 'C'})
        if rc != 0:
            module.fail_json(msg='systemctl show %s failed (rc %d): %s' % (unit, rc, err.strip()))
        props = dict(line.split('=', 1) for line in out.splitlines() if '=' in line)
        active, sub = props.get('ActiveState', 'unknown'), props.get('SubState', 'unknown')
    module.exit_json(changed=False, state=state, state_error=error, running_digest=digest, active_state=active,
                     sub_state=sub, serving=active in ('active', 'activating', 'reloading'))


if __name__ == '__main__':
    main()
