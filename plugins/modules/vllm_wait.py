#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: vllm_wait
short_description: Wait until a vLLM API server answers /health, failing fast when its unit dies
version_added: 0.1.0
description:
  - Polls O(url) until it answers HTTP 200, up to O(timeout) seconds.
  - Between polls, checks that the systemd O(units) are still active, so a vLLM that crashed
    (wrong data-parallel rank, port, NIC, missing operators) fails the wait at once instead of
    after the whole timeout.
  - Never changes anything on the node. Meant to run with C(async) so the play shows progress
    while a DeepSeek-scale bring-up takes tens of minutes.
author:
  - ascend.serving contributors (@ascend-serving)
options:
  url:
    description: The health URL, for example C(http://10.0.0.1:8000/health).
    type: str
    required: true
  timeout:
    description: Seconds to wait in total.
    type: int
    default: 2700
  interval:
    description: Seconds between polls.
    type: int
    default: 5
  units:
    description: systemd units that must stay active while waiting (empty = not checked).
    type: list
    elements: str
    default: []
  api_key:
    description: Sent as a bearer token (C(/health) normally needs none).
    type: str
  fail_on_timeout:
    description:
      - When false, running out of O(timeout) returns RV(healthy=false) instead of failing, so a
        playbook can wait in rounds and print progress between them. A unit that exits still fails.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Read-only; waits in check mode too.
  diff_mode:
    support: none
    description: Returns no diff.
"""

EXAMPLES = r"""
- name: Wait for node0's API server, up to 45 minutes
  ascend.serving.vllm_wait:
    url: http://10.0.0.1:8000/health
    timeout: 2700
    units: [ascend-vllm.service]
  async: 2760
  poll: 15
"""

RETURN = r"""
healthy:
  description: Whether O(url) answered 200.
  type: bool
  returned: always
units:
  description: State of each of O(units) at the last poll (C(systemctl is-active)).
  type: dict
  returned: always
  sample: {"ascend-vllm.service": "active"}
elapsed:
  description: Seconds waited.
  type: int
  returned: always
  sample: 42
polls:
  description: Number of polls made.
  type: int
  returned: always
last_error:
  description: What the last unsuccessful poll saw.
  type: str
  returned: always
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type='str', required=True),
            timeout=dict(type='int', default=2700),
            interval=dict(type='int', default=5),
            units=dict(type='list', elements='str', default=[]),
            api_key=dict(type='str', no_log=True),
            fail_on_timeout=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p['timeout'] < 1 or p['interval'] < 1:
        module.fail_json(msg='timeout and interval must be at least 1 second')
    systemctl = module.get_bin_path('systemctl', required=bool(p['units']))
    headers = {'Authorization': 'Bearer %s' % p['api_key']} if p['api_key'] else {}
    start = time.time()
    polls = 0
    last_error = ''
    units = {}
    while True:
        polls += 1
        healthy = False
        try:
            resp = open_url(p['url'], headers=headers, timeout=min(10, p['interval'] + 5),
                            validate_certs=False)
            healthy = resp.getcode() == 200
            if not healthy:
                last_error = 'HTTP %s' % resp.getcode()
        except Exception as exc:  # pylint: disable=broad-except
            last_error = str(exc)
        for unit in p['units']:
            dummy, out, dummy = module.run_command([systemctl, 'is-active', unit])
            units[unit] = out.strip() or 'unknown'
        if healthy:
            module.exit_json(changed=False, healthy=True, units=units, elapsed=int(time.time() - start),
                             polls=polls, last_error=last_error)
        for unit, state in units.items():
            if state not in ('active', 'activating', 'reloading'):
                module.fail_json(msg='%s is %s while waiting for %s: it exited; see its journal'
                                 % (unit, state, p['url']),
                                 healthy=False, units=units, elapsed=int(time.time() - start), polls=polls,
                                 last_error=last_error)
        if time.time() - start >= p['timeout']:
            if not p['fail_on_timeout']:
                module.exit_json(changed=False, healthy=False, units=units, elapsed=int(time.time() - start),
                                 polls=polls, last_error=last_error)
            module.fail_json(msg='%s did not answer 200 within %ds (last: %s)' % (p['url'], p['timeout'], last_error),
                             healthy=False, units=units, elapsed=int(time.time() - start), polls=polls,
                             last_error=last_error)
        time.sleep(p['interval'])


if __name__ == '__main__':
    main()
