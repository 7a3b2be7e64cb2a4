#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: comm_tcp
short_description: Prove TCP from the headless nodes to node0 - probe, temporary listener, stop
version_added: 0.3.0
description:
  - Internal to role C(ascend.serving.comm_check); its interface may change with the role.
  - C(probe) (a headless node) - like M(ansible.builtin.wait_for) for every port at once (one thread
    per port) - connects to O(address) until it works or O(timeout) seconds pass, and returns one
    C({port, ok, error}) per port in RV(probes). An unreachable port is data, not a failure.
  - C(listen) (node0, run with C(async) and C(poll 0)) - writes its pid and its process start time
    (C(/proc/<pid>/stat) field 22) to C(<directory>/listener.pid) first, through a temporary file
    and a rename, so C(stop) finds it even when a bind fails; then binds every port of O(ports) on
    O(address), accepts and closes connections until it is killed or O(window) seconds pass. It
    fails when O(directory) is gone or a port cannot be bound.
  - C(stop) (node0) - waits up to O(wait) seconds for the pid file of a listener still starting,
    kills the process only when it runs with the pid AND the start time the listener recorded
    (never by name - a reused pid or another operator's probe lives on), then removes the pid file
    and O(directory). No directory, no pid file or a listener already gone is no error.
author:
  - ascend.serving contributors (@ascend-serving)
options:
  action:
    description: What to do.
    type: str
    required: true
    choices: [probe, listen, stop]
  address:
    description: C(probe) - the address to connect to (node0); C(listen) - the address to bind.
    type: str
  ports:
    description: The TCP ports. C(probe) and C(listen).
    type: list
    elements: int
  timeout:
    description: C(probe) - seconds to wait for each port.
    type: float
    default: 5
  directory:
    description:
      - C(listen) and C(stop) - the listener's private directory (created by the caller, e.g. with
        M(ansible.builtin.tempfile)); it holds the pid file C(listener.pid) and nothing else.
    type: path
  window:
    description: C(listen) - seconds the listener lives at most.
    type: int
    default: 60
  wait:
    description: C(stop) - seconds to wait for the listener's pid file, and for the listener to exit once signalled.
    type: float
    default: 10
attributes:
  check_mode:
    support: partial
    details: C(probe) only reads and runs in check mode; C(listen) and C(stop) do nothing in check mode (run them with C(check_mode=false)).
    description: Can run in check mode.
  diff_mode:
    support: none
    description: Returns no diff.
notes:
  - Linux only (C(/proc)).
"""

EXAMPLES = r"""
- name: Node0 - open a temporary listener on the free ports
  ascend.serving.comm_tcp:
    action: listen
    directory: "{{ probe_dir.path }}"
    address: 10.0.0.1
    ports: [13389, 8000]
    window: 60
  async: 70
  poll: 0
  check_mode: false

- name: Headless - reach node0's ports over TCP
  ascend.serving.comm_tcp:
    action: probe
    address: 10.0.0.1
    ports: [13389, 8000]
    timeout: 5
  register: tcp

- name: Node0 - stop the temporary listener by its pid, remove its directory
  ascend.serving.comm_tcp:
    action: stop
    directory: "{{ probe_dir.path }}"
  check_mode: false
"""

RETURN = r"""
probes:
  description: One result per port, in the order of O(ports); C(error) is null when C(ok).
  returned: probe
  type: list
  elements: dict
  sample: [{port: 13389, ok: true, error: null},
           {port: 8000, ok: false, error: "Timeout when waiting for 10.0.0.1:8000 (last: 10.0.0.1:8000: Connection refused)"}]
pid:
  description: C(listen) - the listener's pid; C(stop) - the pid stopped, or null.
  returned: listen, stop
  type: int
note:
  description: Why C(stop) stopped nothing (no directory, no pid file, the listener is gone, another process has the pid), or null.
  returned: stop
  type: str
removed:
  description: C(stop) removed O(directory).
  returned: stop
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ascend.serving.plugins.module_utils import comm_tcp


def describe(exc):
    """An error's text, naming its file when it has one."""
    text = getattr(exc, 'strerror', None) or str(exc)
    filename = getattr(exc, 'filename', None)
    return '%s: %s' % (filename, text) if filename else text


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type='str', required=True, choices=['probe', 'listen', 'stop']),
            address=dict(type='str'),
            ports=dict(type='list', elements='int'),
            timeout=dict(type='float', default=5),
            directory=dict(type='path'),
            window=dict(type='int', default=60),
            wait=dict(type='float', default=10),
        ),
        required_if=[
            ('action', 'probe', ['address', 'ports']),
            ('action', 'listen', ['directory', 'address', 'ports']),
            ('action', 'stop', ['directory']),
        ],
        supports_check_mode=True,
    )
    params = module.params
    action = params['action']
    ports = params['ports'] or []
    bad = [port for port in ports if not 0 < port < 65536]
    if bad:
        module.fail_json(msg='ports: %s not a TCP port (1-65535)' % ', '.join(str(port) for port in bad))
    if action != 'stop' and not ports:
        module.fail_json(msg='ports: give at least one port to %s' % action)
    for key in ('timeout', 'window', 'wait'):
        if params[key] < 0:
            module.fail_json(msg='%s: %s is negative' % (key, params[key]))

    if action == 'probe':
        module.exit_json(changed=False, probes=comm_tcp.probe(params['address'], params['timeout'], ports))
    if module.check_mode:
        module.exit_json(changed=False, msg='%s does nothing in check mode' % action)
    if action == 'listen':
        try:
            served = comm_tcp.listen(params['directory'], params['address'], ports, params['window'])
        except OSError as exc:
            module.fail_json(msg='the temporary listener did not start: %s' % describe(exc))
        module.exit_json(changed=False, pid=served['pid'])
    try:
        stopped = comm_tcp.stop(params['directory'], params['wait'])
    except (OSError, comm_tcp.PidFileError) as exc:
        module.fail_json(msg='cannot stop the temporary listener: %s' % describe(exc))
    module.exit_json(changed=stopped['stopped'] is not None or stopped['removed'], pid=stopped['stopped'],
                     note=stopped['note'], removed=stopped['removed'])


if __name__ == '__main__':
    main()
