#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: preflight_probe
short_description: Read what the preflight checks need from one host, in one round trip
version_added: 0.3.0
description:
  - Internal to role C(ascend.serving.preflight); its interface may change with the role.
  - Reads, in one module run, everything the preflight host checks look at - the architecture,
    whether the collection's vLLM unit is active, the driver and CANN version files, the output of
    C(npu-smi info), the listeners on node0's ports, the weights directory and the free space - and
    returns it unparsed under RV(observed). The role's C(ascend.serving.preflight_problems) filter
    turns it into problems on the controller.
  - C(npu-smi) is looked up on E(PATH), then in C(/usr/local/bin), C(/usr/local/sbin) and
    C(/usr/local/Ascend/driver/tools), and runs in the C locale.
  - A missing tool, file or directory is data, not a failure; the module fails only on bad options.
  - Never changes anything on the node.
author:
  - ascend.serving contributors (@ascend-serving)
options:
  unit:
    description: The systemd unit of the collection's vLLM service (C(systemctl is-active)).
    type: str
    default: ascend-vllm.service
  driver_version_file:
    description: The NPU driver's version file.
    type: path
    default: /usr/local/Ascend/driver/version.info
  cann_latest:
    description:
      - The CANN toolkit's C(latest) directory; of the C(ascend_toolkit_install.info) files in it and
        in its subdirectories the first in path order is read.
    type: path
    default: /usr/local/Ascend/ascend-toolkit/latest
  cann_default:
    description: The CANN version file read when O(cann_latest) holds none.
    type: path
    default: /usr/local/Ascend/ascend-toolkit/latest/ascend_toolkit_install.info
  ports:
    description: TCP ports whose listeners are listed with C(ss -Hltnp) (node0's); none when empty.
    type: list
    elements: int
    default: []
  weights:
    description: The weights directory whose existence is checked; not checked when omitted.
    type: path
  df:
    description: The path whose filesystem's free space is read with C(df -Pk); not read when omitted.
    type: path
  timeout:
    description: Seconds each command (C(npu-smi info), C(systemctl), C(ss), C(df)) may run before it is killed.
    type: int
    default: 120
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Returns no diff.
seealso:
  - module: ascend.serving.npu_info
"""

EXAMPLES = r"""
- name: Read the host (as role preflight does on node0)
  ascend.serving.preflight_probe:
    ports: [13355, 8000]
    weights: /data/models/Qwen3-8B
    df: /data/models
  register: probe
"""

RETURN = r"""
observed:
  description: What was read, unparsed; the input of the C(ascend.serving.preflight_problems) filter.
  returned: success
  type: dict
  contains:
    arch:
      description: The machine architecture (C(uname -m)).
      type: str
      sample: aarch64
    serving:
      description: Whether C(systemctl is-active) reports O(unit) as C(active).
      type: bool
      sample: false
    versions:
      description: The text of O(driver_version_file) and of the CANN version file; empty when unreadable.
      type: list
      elements: str
      sample: ["Version=24.1.rc3\n", "version=8.0.0\n"]
    npu_smi:
      description:
        - What C(npu-smi info) printed; C(path) is null, and C(searched) lists where it was looked for,
          when C(npu-smi) was not found.
        - C(rc) is -1 when the command was killed after O(timeout) seconds.
      type: dict
      sample: {path: /usr/local/bin/npu-smi, rc: 0, stdout: "+----...", stderr: ""}
    ss:
      description: The output of C(ss -Hltnp) for O(ports); empty when O(ports) is empty.
      type: str
      sample: ""
    weights:
      description: C(exists) and C(isdir) of O(weights); null when O(weights) is omitted.
      type: dict
      sample: {exists: true, isdir: true}
    df:
      description: The output of C(df -Pk) for O(df); empty when O(df) is omitted.
      type: str
      sample: "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda1 10255636 1234 9000000 1% /\n"
"""

import glob
import os

from ansible.module_utils.basic import AnsibleModule

# execute and which by name: the host-facing halves of the runner, replaced in unit tests.
from ansible_collections.ascend.serving.plugins.module_utils.tool import Runner, ToolMissing, execute, which

CANN_INFO = 'ascend_toolkit_install.info'


def read(path):
    """The text of ``path``; '' when it cannot be read."""
    try:
        with open(path, encoding='utf-8', errors='replace') as handle:
            return handle.read()
    except OSError:
        return ''


def cann_info(latest, default):
    """The CANN version file: of the ascend_toolkit_install.info files in ``latest`` and its
    subdirectories the first in path order, else ``default``."""
    found = sorted(glob.glob(os.path.join(latest, CANN_INFO)) + glob.glob(os.path.join(latest, '*', CANN_INFO)))
    return found[0] if found else default


def npu_smi(runner):
    """What ``npu-smi info`` printed, in the shape preflight.npu_from_probe reads."""
    try:
        path = runner.find('npu-smi')
    except ToolMissing as exc:
        return {'path': None, 'searched': exc.searched}
    done = runner.run([path, 'info'], check=False)
    return {'path': path, 'rc': -1 if done.rc is None else done.rc, 'stdout': done.stdout, 'stderr': done.stderr}


def output(runner, argv):
    """stdout of ``argv``; '' when it cannot run or times out (its exit status is not used)."""
    return runner.run(argv, check=False).stdout


def probe(params, runner):
    """Everything the preflight host checks read (the module's RV(observed))."""
    seen = {
        'arch': os.uname().machine,
        'serving': output(runner, ['systemctl', 'is-active', params['unit']]).strip() == 'active',
        'versions': [read(params['driver_version_file']), read(cann_info(params['cann_latest'], params['cann_default']))],
        'npu_smi': npu_smi(runner),
        'ss': '',
        'weights': None,
        'df': '',
    }
    if params['ports']:
        seen['ss'] = output(runner, ['ss', '-Hltnp', '( %s )' % ' or '.join('sport = :%d' % p for p in params['ports'])])
    if params['weights']:
        seen['weights'] = {'exists': os.path.exists(params['weights']), 'isdir': os.path.isdir(params['weights'])}
    if params['df']:
        seen['df'] = output(runner, ['df', '-Pk', params['df']])
    return seen


def main():
    module = AnsibleModule(
        argument_spec=dict(
            unit=dict(type='str', default='ascend-vllm.service'),
            driver_version_file=dict(type='path', default='/usr/local/Ascend/driver/version.info'),
            cann_latest=dict(type='path', default='/usr/local/Ascend/ascend-toolkit/latest'),
            cann_default=dict(type='path', default='/usr/local/Ascend/ascend-toolkit/latest/ascend_toolkit_install.info'),
            ports=dict(type='list', elements='int', default=[]),
            weights=dict(type='path'),
            df=dict(type='path'),
            timeout=dict(type='int', default=120),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params['timeout'] < 1:
        module.fail_json(msg='timeout must be at least 1, got %d.' % params['timeout'])
    bad = [port for port in params['ports'] if not 0 < port < 65536]
    if bad:
        module.fail_json(msg='ports: %s not a TCP port (1-65535).' % ', '.join(str(port) for port in bad))
    module.exit_json(changed=False, observed=probe(params, Runner(which=which, execute=execute, timeout=params['timeout'])))


if __name__ == '__main__':
    main()
