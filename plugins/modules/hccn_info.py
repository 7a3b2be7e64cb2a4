#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: hccn_info
short_description: Check the NPU network ports of an Ascend node with hccn_tool
version_added: 0.1.0
description:
  - Runs the read-only C(hccn_tool -i <device> ... -g) queries that the vLLM-Ascend multi-node guide
    asks for (device IP, link, network health, netdetect address, gateway, TLS switch, LLDP
    neighbour) on every NPU device of the managed node, and optionally pings peer NPU addresses
    from each device with C(hccn_tool -i <device> -ping -g address <peer>).
  - The per-device commands run in parallel inside the module, so a 16-device A3 node pinging
    several peers finishes in seconds.
  - Also reads C(/etc/hccn.conf) when present.
  - A message of the tool such as C(Get ipconf failed, because no ip was preset there!) or a
    non-zero exit of one command is recorded in that device's RV(hccn_info.devices[].errors) and
    makes the node unhealthy; it does not fail the module.
  - Never changes anything on the node.
author:
  - ascend.serving contributors (@ascend-serving)
options:
  hccn_tool_path:
    description:
      - Path of the C(hccn_tool) binary.
      - By default it is looked up on E(PATH), then in C(/usr/local/Ascend/driver/tools).
    type: path
  npu_smi_path:
    description:
      - Path of the C(npu-smi) binary, used to list the devices when neither O(devices) nor
        O(device_count) is given.
      - By default it is looked up on E(PATH), then in C(/usr/local/bin), C(/usr/local/sbin) and
        C(/usr/local/Ascend/driver/tools).
    type: path
  devices:
    description:
      - Device numbers to pass to C(hccn_tool -i).
      - By default every chip's physical id from C(npu-smi info) (A3), else the logic ids
        (C(npu-smi info -m)).
      - Mutually exclusive with O(device_count).
    type: list
    elements: int
  device_count:
    description:
      - Probe devices C(0) to C(device_count - 1).
      - Mutually exclusive with O(devices).
    type: int
  checks:
    description:
      - Which queries to run on every device.
      - V(ip) needs an address, V(link) C(UP), V(net_health) C(Success), V(netdetect) and V(gateway)
        an address, V(tls) a readable TLS switch that is the same on every device, V(lldp) a switch
        port name.
    type: list
    elements: str
    choices: [ip, link, net_health, netdetect, gateway, tls, lldp]
    default: [ip, link, net_health, netdetect, gateway, tls, lldp]
  ping_targets:
    description:
      - Addresses (usually the NPU IPs of the other nodes) to ping from every device.
    type: list
    elements: str
    default: []
  ping_map:
    description:
      - Per-device ping targets, as a mapping of device number to a list of addresses.
      - Added to O(ping_targets) for that device.
    type: dict
    default: {}
  parallel:
    description:
      - Maximum number of C(hccn_tool) commands running at the same time.
      - See O(ping_parallel) for the pings.
    type: int
    default: 16
  ping_parallel:
    description:
      - Maximum number of C(hccn_tool -ping) commands running at the same time (they run after
        the queries).
      - By default O(parallel). More at once shortens a long ping pass on a real node; on a
        simulated cluster whose nodes share a few CPUs, hundreds of pings at once miss replies.
    type: int
  command_timeout:
    description:
      - Seconds one C(hccn_tool) command may run; a command still running then is killed and
        recorded as an error of its device.
    type: int
    default: 120
  hccn_conf_path:
    description:
      - Path of the hccn configuration file to report as RV(hccn_info.hccn_conf).
    type: path
    default: /etc/hccn.conf
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same queries in check mode.
  diff_mode:
    support: none
    description: Returns no diff.
notes:
  - A missing C(hccn_tool) binary fails the module; so does output of the tool that has the expected
    shape but a value that cannot be read, with the device and the offending line.
  - The suggested fix for a link that is not up is C(hccn_tool -i <device> -cfg recovery); this
    module never runs it.
seealso:
  - module: ascend.serving.npu_info
"""

EXAMPLES = r"""
- name: Check every NPU port of the node
  ascend.serving.hccn_info:
  register: hccn

- name: Fail with every problem found
  ansible.builtin.assert:
    that: hccn.hccn_info.healthy
    fail_msg: "{{ hccn.hccn_info.problems | join('; ') }}"

- name: Ping the NPU addresses of the other nodes from every device
  ascend.serving.hccn_info:
    checks: [ip, link, net_health, tls]
    ping_targets: "{{ groups['workers'] | map('extract', hostvars, 'npu_ips') | flatten }}"
  register: hccn

- name: Ping the matching device of the peer node only
  ascend.serving.hccn_info:
    device_count: 2
    checks: [link]
    ping_map:
      0: [10.20.1.10]
      1: [10.20.1.11]
"""

RETURN = r"""
hccn_info:
  description: What hccn_tool reported, per device.
  returned: success
  type: dict
  contains:
    healthy:
      description: True when every requested check and every ping passed on every device.
      type: bool
      sample: false
    problems:
      description: One sentence per failed check, naming the device; empty when healthy.
      type: list
      elements: str
      sample:
        - "device 3: link is DOWN, expected UP (try: hccn_tool -i 3 -cfg recovery)"
    checks:
      description: The checks that were run.
      type: list
      elements: str
      sample: [ip, link, net_health, netdetect, gateway, tls, lldp]
    device_source:
      description: Where the device list came from (C(devices), C(device_count),
        C(npu-smi phy ids), C(npu-smi device ids), C(npu-smi -m logic ids)).
      type: str
      sample: npu-smi -m logic ids
    devices:
      description: One entry per device, in the order probed.
      type: list
      elements: dict
      contains:
        device:
          description: Device number given to C(hccn_tool -i).
          type: int
        ip:
          description: Device IP (C(-ip -g)); null when none is configured or the check was not run.
          type: str
        netmask:
          description: Device netmask (C(-ip -g)).
          type: str
        link:
          description: C(UP) or C(DOWN) (C(-link -g)).
          type: str
        net_health:
          description: Network health word as printed (C(-net_health -g)), for example C(Success),
            C(Fault), C(Init), C(Socket fail).
          type: str
        netdetect:
          description: Net-detect address (C(-netdetect -g)).
          type: str
        gateway:
          description: Default gateway (C(-gateway -g)).
          type: str
        tls_switch:
          description: TLS switch, C(0) or C(1) (C(-tls -g)); null when unknown.
          type: int
        lldp_ifname:
          description: Switch port announced by LLDP (C(-lldp -g)).
          type: str
        pings:
          description: Ping results from this device.
          type: list
          elements: dict
          contains:
            address:
              description: Pinged address.
              type: str
            transmitted:
              description: Packets sent; null when the tool printed no summary.
              type: int
            received:
              description: Packets received.
              type: int
            loss_pct:
              description: Packet loss in percent.
              type: float
            ok:
              description: True when packets were sent and all came back.
              type: bool
        errors:
          description: Messages of the tool and non-zero exits, each prefixed with the command.
          type: list
          elements: str
          sample:
            - "hccn_tool -i 0 -ip -g: Get ipconf failed, because no ip was preset there!"
        failed_checks:
          description: Names of the checks that failed on this device (C(ping) for any failed ping).
          type: list
          elements: str
    hccn_conf:
      description: The contents of O(hccn_conf_path) by device number (as a string key), then key;
        null when the file does not exist.
      type: dict
      sample:
        "0":
          address: 29.1.137.205
          netmask: 255.255.0.0
          netdetect: 29.1.0.1
          gateway: 29.1.0.1
          send_arp_status: "1"
"""

import ipaddress
import os
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.ascend.serving.plugins.module_utils import hccn_tool
from ansible_collections.ascend.serving.plugins.module_utils import npu_smi
from ansible_collections.ascend.serving.plugins.module_utils import tool
# The runner's default command runner, imported by name so that tests can replace it here.
from ansible_collections.ascend.serving.plugins.module_utils.tool import execute

# The fields each check fills in a device entry: {check: {device key: parser key}}.
FIELDS = {
    'ip': {'ip': 'ip', 'netmask': 'netmask'},
    'link': {'link': 'link'},
    'net_health': {'net_health': 'net_health'},
    'netdetect': {'netdetect': 'netdetect'},
    'gateway': {'gateway': 'gateway'},
    'tls': {'tls_switch': 'tls_switch'},
    'lldp': {'lldp_ifname': 'ifname'},
}


def device_list(module, runner):
    """The devices to probe and where the list came from."""
    params = module.params
    if params['devices']:
        devices = []
        for device in params['devices']:
            if device < 0:
                module.fail_json(msg='devices: %d is not a device number (must be >= 0).' % device)
            if device not in devices:
                devices.append(device)
        return devices, 'devices'
    if params['device_count'] is not None:
        if params['device_count'] < 1:
            module.fail_json(msg='device_count must be at least 1, got %d.' % params['device_count'])
        return list(range(params['device_count'])), 'device_count'

    try:
        npu_bin = runner.find('npu-smi', params['npu_smi_path'], 'npu_smi_path')
    except tool.ToolMissing as exc:
        module.fail_json(msg='Cannot list the NPU devices: npu-smi was not found on PATH or in %s. '
                             'Set devices or device_count, or npu_smi_path.' % ', '.join(exc.dirs))
    except tool.ToolError as exc:
        module.fail_json(msg=exc.msg)
    info = run_npu_smi(module, runner, [npu_bin, 'info'], npu_smi.parse_info)
    chips = info['chips']
    if not chips:
        module.fail_json(msg='npu-smi info lists no NPU chip; set devices or device_count.')
    if all(chip['phy_id'] is not None for chip in chips):
        return [chip['phy_id'] for chip in chips], 'npu-smi phy ids'
    if all(chip['device_id'] is not None for chip in chips):
        return [chip['device_id'] for chip in chips], 'npu-smi device ids'
    mapping = run_npu_smi(module, runner, [npu_bin, 'info', '-m'], npu_smi.parse_info_mapping)
    logic = [row['logic_id'] for row in mapping if row['logic_id'] is not None]
    if not logic:
        module.fail_json(msg='npu-smi info -m lists no chip with a logic id; set devices or device_count.')
    return logic, 'npu-smi -m logic ids'


def run_npu_smi(module, runner, argv, parser):
    try:
        return runner.run(argv, parser).parsed
    except tool.ToolFailed as exc:
        module.fail_json(msg='Cannot list the NPU devices: %s. Set devices or device_count.' % exc.msg, **exc.details)
    except tool.ToolParseError as exc:
        module.fail_json(msg=exc.msg, **exc.details)


def ping_plan(module, devices):
    """``{device: [address, ...]}`` from ping_targets and ping_map, each address validated."""

    def address(value, where):
        try:
            return str(ipaddress.ip_address(to_native(value).strip()))
        except ValueError:
            module.fail_json(msg='%s: %r is not an IP address.' % (where, value))

    common = [address(value, 'ping_targets') for value in module.params['ping_targets']]
    plan = dict((device, list(common)) for device in devices)
    for key, targets in module.params['ping_map'].items():
        try:
            device = int(key)
        except (TypeError, ValueError):
            module.fail_json(msg='ping_map: key %r is not a device number.' % (key,))
        if device not in plan:
            module.fail_json(msg='ping_map: device %d is not among the devices probed (%s).'
                                 % (device, ', '.join(str(d) for d in devices)))
        if not isinstance(targets, list):
            targets = [targets]
        for target in targets:
            target = address(target, 'ping_map[%d]' % device)
            if target not in plan[device]:
                plan[device].append(target)
    return plan


def _round_robin(jobs):
    """Jobs reordered so consecutive ones belong to different devices (device 0's first, device
    1's first, ..., device 0's second, ...): a pool then keeps every device busy."""
    per_device = {}
    for job in jobs:
        per_device.setdefault(job[0], []).append(job)
    queues = list(per_device.values())
    out = []
    for index in range(max(len(queue) for queue in queues) if queues else 0):
        out.extend(queue[index] for queue in queues if index < len(queue))
    return out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            hccn_tool_path=dict(type='path'),
            npu_smi_path=dict(type='path'),
            devices=dict(type='list', elements='int'),
            device_count=dict(type='int'),
            checks=dict(type='list', elements='str', choices=list(hccn_tool.CHECKS), default=list(hccn_tool.CHECKS)),
            ping_targets=dict(type='list', elements='str', default=[]),
            ping_map=dict(type='dict', default={}),
            parallel=dict(type='int', default=16),
            ping_parallel=dict(type='int'),
            command_timeout=dict(type='int', default=120),
            hccn_conf_path=dict(type='path', default='/etc/hccn.conf'),
        ),
        mutually_exclusive=[('devices', 'device_count')],
        supports_check_mode=True,
    )
    params = module.params
    for option in ('parallel', 'ping_parallel', 'command_timeout'):
        if params[option] is not None and params[option] < 1:
            module.fail_json(msg='%s must be at least 1, got %d.' % (option, params[option]))
    ping_parallel = params['ping_parallel'] or params['parallel']
    checks = [check for check in hccn_tool.CHECKS if check in params['checks']]

    runner = tool.Runner.for_module(module, execute=execute, timeout=params['command_timeout'])
    try:
        hccn_bin = runner.find('hccn_tool', params['hccn_tool_path'], 'hccn_tool_path')
    except tool.ToolError as exc:
        module.fail_json(msg=exc.msg)
    devices, source = device_list(module, runner)
    pings = ping_plan(module, devices)

    queries, pings_jobs = [], []
    for device in devices:
        queries.extend((device, check, None) for check in checks)
        pings_jobs.extend((device, 'ping', target) for target in pings[device])

    def run(job):
        device, check, target = job
        done = runner.run([hccn_bin] + hccn_tool.command_args(device, check, target), check=False)
        return job, done.argv, done.rc, done.stdout, done.stderr

    # The queries first, then the pings (their own limit), each pass taking the devices in turn.
    results = []
    for jobs, workers in ((queries, params['parallel']), (pings_jobs, ping_parallel)):
        if jobs:
            with ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
                results.extend(pool.map(run, _round_robin(jobs)))

    entries = {}
    for device in devices:
        entries[device] = {
            'device': device, 'ip': None, 'netmask': None, 'link': None, 'net_health': None,
            'netdetect': None, 'gateway': None, 'tls_switch': None, 'lldp_ifname': None,
            'pings': [], 'errors': [], 'failed_checks': [],
        }
    for (device, check, target), argv, rc, out, err in results:
        entry = entries[device]
        command = ' '.join(['hccn_tool'] + argv[1:])
        if rc != 0:
            detail = ' '.join((err or out or '').split()) or 'no output'
            if rc is None:
                entry['errors'].append('%s: %s' % (command, detail))
            else:
                entry['errors'].append('%s: exited with %d: %s' % (command, rc, detail))
            if check == 'ping':
                entry['pings'].append({'address': target, 'transmitted': None, 'received': None,
                                       'loss_pct': None, 'ok': False})
            continue
        try:
            parsed = hccn_tool.parse_check(check, out)
        except hccn_tool.ParseError as exc:
            module.fail_json(msg='device %d: cannot parse the output of %s: %s' % (device, command, exc),
                             device=device, cmd=argv, offending_line=exc.line, stdout=out, stderr=err)
        entry['errors'].extend('%s: %s' % (command, message) for message in parsed['errors'])
        if check == 'ping':
            entry['pings'].append({'address': target, 'transmitted': parsed['transmitted'],
                                   'received': parsed['received'], 'loss_pct': parsed['loss_pct'],
                                   'ok': parsed['ok']})
        else:
            for key, parsed_key in FIELDS[check].items():
                entry[key] = parsed[parsed_key]

    device_entries = [entries[device] for device in devices]
    problems, failed = hccn_tool.evaluate(device_entries, checks)
    for entry in device_entries:
        entry['failed_checks'] = failed[entry['device']]

    hccn_conf = None
    path = params['hccn_conf_path']
    if path and os.path.exists(path):
        try:
            with open(path, 'r') as handle:
                text = handle.read()
        except (IOError, OSError) as exc:
            module.fail_json(msg='cannot read %s: %s' % (path, to_native(exc)))
        try:
            parsed_conf = hccn_tool.parse_hccn_conf(text)
        except hccn_tool.ParseError as exc:
            module.fail_json(msg='cannot parse %s: %s' % (path, exc), offending_line=exc.line)
        hccn_conf = dict((str(device), values) for device, values in sorted(parsed_conf.items()))

    module.exit_json(changed=False, hccn_info={
        'healthy': bool(device_entries) and not problems,
        'problems': problems,
        'checks': checks,
        'device_source': source,
        'devices': device_entries,
        'hccn_conf': hccn_conf,
    })


if __name__ == '__main__':
    main()
