# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters planning an upgrade (module_utils/upgrade.py)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.ascend.serving.plugins.module_utils import upgrade
from ansible_collections.ascend.serving.plugins.module_utils.profile import plain


def vllm_upgrade_plan(hosts, hostvars, only=None, batch_size=1, diff_var='__upgrade_diff'):
    """Per-instance changes and batches from every host's launch plan and state difference."""
    nodes = {}
    for host in plain(hosts):
        hv = hostvars[host]
        try:
            host_plan = plain(hv['ascend_plan'])[host]
            diff = plain(hv[diff_var])
        except KeyError as exc:
            raise AnsibleFilterError('vllm_upgrade_plan: %s has no %s yet (compute the plan and the state '
                                     'difference on every host first)' % (host, exc))
        nodes[host] = {'instance': host_plan['instance'], 'role': host_plan['role'], 'diff': diff}
    try:
        return upgrade.plan(nodes, plain(only), batch_size)
    except upgrade.UpgradeError as exc:
        raise AnsibleFilterError(str(exc))


def vllm_upgrade_summary(upgrade_plan, instance):
    """The lines telling what happens to one instance of a vllm_upgrade_plan."""
    upgrade_plan = plain(upgrade_plan)
    return upgrade.summary(instance, upgrade_plan['instances'][instance])


def vllm_status_record(raw, host):
    """One node's status record from what the status entry point read."""
    return upgrade.status_record(plain(raw), host)


def vllm_status_lines(records):
    """Status records by host -> a table per instance."""
    return upgrade.status_lines(plain(records))


class FilterModule:
    """ascend.serving upgrade filters."""

    def filters(self):
        return {
            'vllm_upgrade_plan': vllm_upgrade_plan,
            'vllm_upgrade_summary': vllm_upgrade_summary,
            'vllm_status_record': vllm_status_record,
            'vllm_status_lines': vllm_status_lines,
        }
