#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: latency_chart
short_description: Draw a PNG bar chart of latency percentiles (matplotlib)
version_added: 0.2.0
description:
  - One group of bars per latency metric (TTFT, TPOT, ITL, E2EL), one bar per statistic
    (mean, median, p90, p99, ...), in milliseconds, written to O(path).
  - Meant for the controller (C(delegate_to=localhost)), where the benchmark report lands.
  - Without matplotlib nothing is written and RV(skipped_reason) says how to get the chart; the
    module does not fail, the chart is an extra.
author:
  - ascend.serving contributors (@ascend-serving)
options:
  path:
    description: The PNG file to write.
    type: path
    required: true
  series:
    description: >-
      Milliseconds per latency metric and statistic, C({"TTFT": {"median": 95.7, "p99": 143.3}}),
      for example the C(chart_series) of P(ascend.serving.vllm_bench_report#filter).
    type: dict
    required: true
  title:
    description: The chart's title.
    type: str
    default: Latency percentiles
attributes:
  check_mode:
    support: full
    description: Writes nothing in check mode.
  diff_mode:
    support: none
    description: Returns no diff.
requirements:
  - matplotlib (optional; without it the chart is skipped)
"""

EXAMPLES = r"""
- name: Latency chart next to the benchmark report
  ascend.serving.latency_chart:
    path: "{{ report_dir }}/latency.png"
    series: "{{ report.chart_series }}"
    title: vllm bench serve, node0
  delegate_to: localhost
"""

RETURN = r"""
path:
  description: The chart written (absent when skipped).
  type: str
  returned: when written
skipped_reason:
  description: Why no chart was drawn (matplotlib missing, nothing to draw).
  type: str
  returned: when skipped
"""

import os
import sys

from ansible.module_utils.basic import AnsibleModule

try:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    HAS_MATPLOTLIB = True
except ImportError:
    HAS_MATPLOTLIB = False


def draw(path, series, title):
    metrics = list(series)
    stats = []
    for metric in metrics:
        for stat in series[metric]:
            if stat not in stats:
                stats.append(stat)
    width = 0.8 / max(1, len(stats))
    fig, axis = plt.subplots(figsize=(8, 4.5), dpi=100)
    for index, stat in enumerate(stats):
        xs = [pos + (index - (len(stats) - 1) / 2.0) * width for pos in range(len(metrics))]
        ys = [float(series[metric].get(stat, 0.0)) for metric in metrics]
        bars = axis.bar(xs, ys, width, label=stat)
        axis.bar_label(bars, fmt='%.1f', fontsize=7)
    axis.set_xticks(list(range(len(metrics))))
    axis.set_xticklabels(metrics)
    axis.set_ylabel('ms')
    axis.set_title(title)
    axis.legend(fontsize=8)
    axis.grid(axis='y', alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format='png')
    plt.close(fig)


def main():
    module = AnsibleModule(
        argument_spec=dict(path=dict(type='path', required=True), series=dict(type='dict', required=True),
                           title=dict(type='str', default='Latency percentiles')),
        supports_check_mode=True)
    path, series = module.params['path'], module.params['series']
    if not HAS_MATPLOTLIB:
        module.exit_json(changed=False, skipped_reason='matplotlib is not installed for %s on the controller: '
                         'pip install matplotlib to get the latency chart' % sys.executable)
    series = dict((k, v) for k, v in series.items() if isinstance(v, dict) and v)
    if not series:
        module.exit_json(changed=False, skipped_reason='no latency statistics to draw')
    for metric, stats in series.items():
        for stat, value in stats.items():
            try:
                float(value)
            except (TypeError, ValueError):
                module.fail_json(msg='series.%s.%s is %r, not a number of milliseconds' % (metric, stat, value))
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        module.fail_json(msg='%s: its directory does not exist' % path)
    if module.check_mode:
        module.exit_json(changed=True, path=path)
    draw(path, series, module.params['title'])
    module.exit_json(changed=True, path=path)


if __name__ == '__main__':
    main()
