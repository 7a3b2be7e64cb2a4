#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: vllm_wait
short_description: Wait until a vLLM API server answers /health and serves, failing fast when its unit dies
version_added: 0.1.0
description:
  - Polls O(url) until it answers HTTP 200, up to O(timeout) seconds.
  - Between polls, checks that the systemd O(units) are still active, so a vLLM that crashed
    (wrong data-parallel rank, port, NIC, missing operators) fails the wait at once instead of
    after the whole timeout.
  - Once healthy, optionally proves the server serves - C(/v1/models) lists O(served_model), and a
    completion of O(completion_prompt) returns text - in the same call, so a running instance is
    checked in one round trip.
  - Without O(url) it only checks that O(units) are active (a headless node of the instance), so
    one task can check node0's endpoint and the other nodes' units at once.
  - Never changes anything on the node.
author:
  - ascend.serving contributors (@ascend-serving)
options:
  url:
    description:
      - The health URL, for example C(http://10.0.0.1:8000/health). The model list and the
        completion are asked from the same scheme, host and port.
      - Without it, the module checks once that every one of O(units) is C(active) and fails if
        one is not.
    type: str
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
    description:
      - Sent as a bearer token (C(/health) needs none; C(/v1/...) does when vLLM has an API key).
      - With O(served_model), the module also proves the key is enforced - C(/v1/models) without it
        must answer 401 - and fails when the endpoint serves without the key (a key that never
        reached vLLM).
    type: str
  served_model:
    description: Once healthy, C(/v1/models) must answer 200 and list this model id.
    type: str
  completion_prompt:
    description:
      - Once healthy, a C(/v1/completions) request for O(served_model) with this prompt (temperature
        0) must answer 200 with non-empty text, returned as RV(completion_text).
    type: str
  completion_max_tokens:
    description: C(max_tokens) of the completion request.
    type: int
    default: 10
  completion_timeout:
    description: Seconds the completion request may take (the first one after a start can be slow).
    type: int
    default: 300
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
- name: Node0 serves (one round of up to a minute); every other node's unit is active
  ascend.serving.vllm_wait:
    url: "{{ 'http://10.0.0.1:8000/health' if role == 'node0' else omit }}"
    timeout: 60
    fail_on_timeout: false
    units: [ascend-vllm.service]
    served_model: "{{ 'deepseek_v3.2' if role == 'node0' else omit }}"
    completion_prompt: "{{ 'The future of AI is' if role == 'node0' else omit }}"
  register: answer

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
  description: Seconds waited for O(url) to answer 200 (to a tenth of a second; 0 without O(url)).
  type: float
  returned: always
  sample: 42.3
polls:
  description: Number of polls made.
  type: int
  returned: always
last_error:
  description: What the last unsuccessful poll saw.
  type: str
  returned: always
models:
  description: The model ids C(/v1/models) listed (when O(served_model) is set and the server is healthy).
  type: list
  elements: str
  returned: when checked
  sample: ["deepseek_v3.2"]
completion_text:
  description: The text of the completion (when O(completion_prompt) is set and the server is healthy).
  type: str
  returned: when checked
  sample: " bright"
auth_enforced:
  description: True when O(api_key) and O(served_model) were given and C(/v1/models) refused a request without the key.
  type: bool
  returned: when checked
  sample: true
"""

import json
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six.moves.urllib.error import HTTPError
from ansible.module_utils.six.moves.urllib.parse import urlsplit, urlunsplit
from ansible.module_utils.urls import open_url


def _api(url, path):
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, '', ''))


def _json(module, method, url, headers, timeout, body=None, what=''):
    """One request that must answer 200 with JSON; fails the module naming ``what`` otherwise."""
    data = None
    if body is not None:
        data = json.dumps(body).encode('utf-8')
        headers = dict(headers, **{'Content-Type': 'application/json'})
    try:
        resp = open_url(url, method=method, data=data, headers=headers, timeout=timeout, validate_certs=False)
        answer = json.loads(resp.read())
        if not isinstance(answer, dict):
            raise ValueError('a JSON %s, not an object' % type(answer).__name__)
        return answer
    except HTTPError as exc:
        module.fail_json(msg='%s: %s answered HTTP %s%s' % (
            what, url, exc.code, ' (wrong or missing API key?)' if exc.code in (401, 403) else ''))
    except ValueError as exc:
        module.fail_json(msg='%s: %s did not answer JSON: %s' % (what, url, exc))
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg='%s: %s: %s' % (what, url, exc))


def requires_key(module):
    """With an API key: /v1/models without it must be refused (401), or the key does not protect
    the endpoint."""
    url = _api(module.params['url'], '/v1/models')
    try:
        open_url(url, method='GET', headers={}, timeout=30, validate_certs=False)
    except HTTPError as exc:
        if exc.code == 401:
            return
        module.fail_json(msg='the API key check: %s without the key answered HTTP %s, expected 401' % (url, exc.code))
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg='the API key check: %s: %s' % (url, exc))
    module.fail_json(msg='%s answers without the API key: the endpoint is open although a key is set (vLLM did not '
                         'get VLLM_API_KEY); stop the service and check its launch script and secret.env' % url)


def serves(module, headers):
    """The healthy server lists the served model and completes the prompt (what the options ask)."""
    p = module.params
    found = {}
    if p['served_model'] and p['api_key']:
        requires_key(module)
        found['auth_enforced'] = True
    if p['served_model']:
        listed = _json(module, 'GET', _api(p['url'], '/v1/models'), headers, 30, what='the served model')
        found['models'] = [m.get('id') for m in (listed or {}).get('data') or [] if isinstance(m, dict)]
        if p['served_model'] not in found['models']:
            module.fail_json(msg='%s does not list the served model %r (it lists: %s)' % (
                _api(p['url'], '/v1/models'), p['served_model'], ', '.join(map(str, found['models'])) or 'nothing'),
                **found)
    if p['completion_prompt']:
        done = _json(module, 'POST', _api(p['url'], '/v1/completions'), headers, p['completion_timeout'],
                     body={'model': p['served_model'], 'prompt': p['completion_prompt'],
                           'max_tokens': p['completion_max_tokens'], 'temperature': 0},
                     what='the completion request')
        choices = (done or {}).get('choices') or []
        text = choices[0].get('text') if choices and isinstance(choices[0], dict) else None
        if not text:
            module.fail_json(msg='%s answered 200 without text: %s' % (
                _api(p['url'], '/v1/completions'), json.dumps(done)[:300]), **found)
        found['completion_text'] = text
    return found


def units_only(module, systemctl):
    """No URL: every unit must be active now."""
    units = {}
    for unit in module.params['units']:
        dummy, out, dummy = module.run_command([systemctl, 'is-active', unit])
        units[unit] = out.strip() or 'unknown'
    down = sorted(unit for unit, state in units.items() if state != 'active')
    if down:
        module.fail_json(msg='%s: it exited; see its journal' % ', '.join('%s is %s' % (unit, units[unit]) for unit in down),
                         healthy=False, units=units)
    module.exit_json(changed=False, healthy=True, units=units, elapsed=0, polls=0, last_error='')


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type='str'),
            timeout=dict(type='int', default=2700),
            interval=dict(type='int', default=5),
            units=dict(type='list', elements='str', default=[]),
            api_key=dict(type='str', no_log=True),
            fail_on_timeout=dict(type='bool', default=True),
            served_model=dict(type='str'),
            completion_prompt=dict(type='str'),
            completion_max_tokens=dict(type='int', default=10, no_log=False),
            completion_timeout=dict(type='int', default=300),
        ),
        required_by={'completion_prompt': 'served_model'},
        supports_check_mode=True,
    )
    p = module.params
    if p['timeout'] < 1 or p['interval'] < 1:
        module.fail_json(msg='timeout and interval must be at least 1 second')
    systemctl = module.get_bin_path('systemctl', required=bool(p['units']))
    if not p['url']:
        if not p['units']:
            module.fail_json(msg='give url (the health URL to wait for), units (to check), or both')
        units_only(module, systemctl)
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
            found = serves(module, headers)
            module.exit_json(changed=False, healthy=True, units=units, elapsed=round(time.time() - start, 1),
                             polls=polls, last_error=last_error, **found)
        for unit, state in units.items():
            if state not in ('active', 'activating', 'reloading'):
                module.fail_json(msg='%s is %s while waiting for %s: it exited; see its journal'
                                 % (unit, state, p['url']),
                                 healthy=False, units=units, elapsed=round(time.time() - start, 1), polls=polls,
                                 last_error=last_error)
        if time.time() - start >= p['timeout']:
            if not p['fail_on_timeout']:
                module.exit_json(changed=False, healthy=False, units=units, elapsed=round(time.time() - start, 1),
                                 polls=polls, last_error=last_error)
            module.fail_json(msg='%s did not answer 200 within %ds (last: %s)' % (p['url'], p['timeout'], last_error),
                             healthy=False, units=units, elapsed=round(time.time() - start, 1), polls=polls,
                             last_error=last_error)
        time.sleep(p['interval'])


if __name__ == '__main__':
    main()
