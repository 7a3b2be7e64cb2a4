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


def vllm_upgrade_node_check(inspected, state_diff, host):
    """One node's pending switch / unit state / unfinished upgrade (module_utils/upgrade.node_check)."""
    inspected = plain(inspected)
    if not isinstance(inspected, dict) or 'unit' not in inspected:
        raise AnsibleFilterError('vllm_upgrade_node_check: %s: expected the result of ascend.serving.upgrade_switch '
                                 'action=inspect, got %r' % (host, inspected))
    return upgrade.node_check(host, inspected, plain(state_diff) or [])


def vllm_upgrade_refusals(upgrade_plan, hosts, hostvars, check_var='__upgrade_node_check'):
    """The refusal messages of the nodes of instances the rollout would upgrade."""
    checks = {}
    for host in plain(hosts):
        hv = hostvars[host]
        try:
            checks[host] = {'instance': plain(hv['ascend_plan'])[host]['instance'],
                            'blocked': plain(hv[check_var])['blocked']}
        except KeyError as exc:
            raise AnsibleFilterError('vllm_upgrade_refusals: %s has no %s yet (check every host first)' % (host, exc))
    return upgrade.refusals(checks, plain(upgrade_plan))


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
            'vllm_upgrade_node_check': vllm_upgrade_node_check,
            'vllm_upgrade_refusals': vllm_upgrade_refusals,
            'vllm_status_record': vllm_status_record,
            'vllm_status_lines': vllm_status_lines,
        }
