#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: npu_info
short_description: Read the Ascend NPU inventory and health from npu-smi
version_added: 0.1.0
description:
  - Runs C(npu-smi info) on the managed node and returns its table as structured data under
    RV(npu_info).
  - Understands the 98-column layout (Ascend 910, 910B/Atlas 800 A2, Atlas A3 with two chips per
    NPU id), the 106-column layout (310P, 310B) and the 116-column layout of 26.x drivers.
  - Never changes anything on the node.
author:
  - ascend.serving contributors (@ascend-serving)
options:
  npu_smi_path:
    description:
      - Path of the C(npu-smi) binary.
      - By default it is looked up on E(PATH), then in C(/usr/local/bin), C(/usr/local/sbin) and
        C(/usr/local/Ascend/driver/tools).
    type: path
  mapping:
    description:
      - Also run C(npu-smi info -m) and return its NPU id / chip id / logic id table as
        RV(npu_info.mapping).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same commands in check mode.
  diff_mode:
    support: none
    description: Returns no diff.
notes:
  - Fails, showing the offending line, when the output of C(npu-smi) cannot be parsed.
  - M(ascend.serving.hccn_info) uses the same parser to decide which devices to probe.
seealso:
  - module: ascend.serving.hccn_info
"""

EXAMPLES = r"""
- name: Read the NPU inventory
  ascend.serving.npu_info:
  register: npu

- name: Every chip must report Health OK
  ansible.builtin.assert:
    that: npu.npu_info.healthy
    fail_msg: >-
      {{ npu.npu_info.chips | rejectattr('health', 'equalto', 'OK')
         | map(attribute='npu_id') | list }} report a Health other than OK in npu-smi info.

- name: Include the logic id mapping, with npu-smi outside PATH
  ascend.serving.npu_info:
    npu_smi_path: /usr/local/Ascend/driver/tools/npu-smi
    mapping: true
  register: npu
"""

RETURN = r"""
npu_info:
  description: The parsed C(npu-smi info) table.
  returned: success
  type: dict
  contains:
    npu_smi_version:
      description: Version printed after C(npu-smi) in the table title.
      type: str
      sample: 24.1.rc3
    version:
      description: Version printed after C(Version:) in the table title (the driver package).
      type: str
      sample: 24.1.rc3
    product:
      description:
        - C(a2) for 910B-class chips (910B1-910B4) with one chip per NPU id.
        - C(a3) for C(Ascend910) chips, two per NPU id.
        - C(310p) for 310P cards, C(910) for first-generation Ascend 910, C(unknown) otherwise.
      type: str
      sample: a2
    npu_count:
      description: Number of distinct NPU ids.
      type: int
      sample: 8
    chip_count:
      description: Number of chips (twice the NPU count on A3 and 310P Duo).
      type: int
      sample: 8
    healthy:
      description: True when there is at least one chip and every chip reports Health C(OK).
      type: bool
      sample: true
    chips:
      description: One entry per chip, in the order printed.
      type: list
      elements: dict
      contains:
        npu_id:
          description: NPU (card) id, as used by C(npu-smi -i).
          type: int
        chip_id:
          description: Chip index within the NPU.
          type: int
        phy_id:
          description: Physical chip id (A3 C(Phy-ID) column); null when the table has none.
          type: int
        device_id:
          description: C(Device) column of the 310P/310B layout (the logic id); null otherwise.
          type: int
        name:
          description: Chip name as printed, for example C(910B3), C(Ascend910), C(310P3).
          type: str
        health:
          description: Health as printed (C(OK), C(Warning), C(Alarm), C(Critical), C(UNKNOWN)).
          type: str
        power_w:
          description: Power draw in watts; null when printed as C(-) or C(NA).
          type: float
        temp_c:
          description: Temperature in degrees Celsius.
          type: int
        hugepages_used:
          description: Huge pages in use.
          type: int
        hugepages_total:
          description: Huge pages available.
          type: int
        aicore_pct:
          description: AI core utilisation in percent.
          type: int
        hbm_used_mb:
          description: HBM in use, MB; null when the layout has no HBM column.
          type: int
        hbm_total_mb:
          description: HBM size, MB; null when the layout has no HBM column.
          type: int
        memory_used_mb:
          description: Memory-Usage (DDR) in use, MB.
          type: int
        memory_total_mb:
          description: Memory-Usage (DDR) size, MB.
          type: int
        bus_id:
          description: PCIe bus id; null when printed as C(NA).
          type: str
      sample:
        - npu_id: 0
          chip_id: 0
          phy_id: null
          device_id: null
          name: 910B3
          health: OK
          power_w: 124.9
          temp_c: 41
          hugepages_used: 0
          hugepages_total: 0
          aicore_pct: 27
          hbm_used_mb: 59718
          hbm_total_mb: 65536
          memory_used_mb: 0
          memory_total_mb: 0
          bus_id: "0000:C1:00.0"
    processes:
      description: Processes holding NPU memory; empty when none or when the table has no process section.
      type: list
      elements: dict
      contains:
        npu_id:
          description: NPU id.
          type: int
        chip_id:
          description: Chip index within the NPU.
          type: int
        pid:
          description: Process id on the host.
          type: int
        name:
          description: Process name as printed (npu-smi truncates it to 15 characters; may be empty).
          type: str
        memory_mb:
          description: NPU memory held, MB.
          type: int
        container_pid:
          description: Process id inside its container (26.x layout only); null otherwise.
          type: int
      sample:
        - npu_id: 4
          chip_id: 0
          pid: 1601114
          name: python
          memory_mb: 18429
          container_pid: null
    mapping:
      description: The C(npu-smi info -m) table; only when O(mapping=true).
      returned: when O(mapping=true)
      type: list
      elements: dict
      contains:
        npu_id:
          description: NPU id.
          type: int
        chip_id:
          description: Chip index within the NPU.
          type: int
        logic_id:
          description: Logic id of the chip; null for pseudo-chips such as C(Mcu).
          type: int
        phy_id:
          description: Physical id, when the table has that column; null otherwise.
          type: int
        name:
          description: Chip name, for example C(Ascend 910B4).
          type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ascend.serving.plugins.module_utils.npu_smi import parse_info, parse_info_mapping
from ansible_collections.ascend.serving.plugins.module_utils.tool import Runner, ToolError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            npu_smi_path=dict(type='path'),
            mapping=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    runner = Runner.for_module(module)
    try:
        npu_smi = runner.find('npu-smi', module.params['npu_smi_path'], 'npu_smi_path')
        info = runner.run([npu_smi, 'info'], parse_info).parsed
        if module.params['mapping']:
            info['mapping'] = runner.run([npu_smi, 'info', '-m'], parse_info_mapping).parsed
    except ToolError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    module.exit_json(changed=False, npu_info=info)


if __name__ == '__main__':
    main()
