# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over a host's service state (module_utils/service.py); its files are rendered by vllm_render."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.ascend.serving.plugins.module_utils import service
from ansible_collections.ascend.serving.plugins.module_utils.profile import plain


def _host_plan(value, name):
    value = plain(value)
    if not isinstance(value, dict) or 'argv' not in value:
        raise AnsibleFilterError('%s expects one host plan, e.g. ascend_plan[inventory_hostname]' % name)
    return value


def vllm_service_state(host_plan, runtime='auto', auth=False, image_id=None):
    """The state record (state.json) of the node this plan is for."""
    try:
        return service.node_state(_host_plan(host_plan, 'vllm_service_state'), runtime, auth=auth,
                                  image_id=image_id or None)
    except service.ServiceError as exc:
        raise AnsibleFilterError(str(exc))


def vllm_install_changes(topology_host, recorded):
    """What the operator install would change under a deployed node (module_utils/service.install_changes)."""
    topology_host = plain(topology_host)
    if not isinstance(topology_host, dict) or 'profile' not in topology_host:
        raise AnsibleFilterError('vllm_install_changes expects a topology host entry, e.g. ascend_topology.hosts[host]')
    recorded = plain(recorded)
    return service.install_changes(topology_host['profile'], recorded if isinstance(recorded, dict) else None)


def vllm_state_diff(recorded, desired):
    """``["key: old -> new", ...]`` between a recorded and a desired state record."""
    recorded = plain(recorded)
    if recorded is not None and not isinstance(recorded, dict):
        raise AnsibleFilterError('vllm_state_diff: the recorded state must be a mapping or none, got %r' % (recorded,))
    return service.state_diff(recorded or None, plain(desired))


def vllm_journal_lines(results):
    """The journal excerpts of a looped, delegated ``journalctl`` as one list of lines, by host."""
    lines = []
    for res in plain(results):
        if res.get('rc') == 0:
            state = 'journal of the vLLM unit'
        else:
            state = 'journal unavailable (%s)' % (res.get('msg') or res.get('stderr'))
        lines.append('----- %s: %s' % (res.get('item'), state))
        lines.extend('%s | %s' % (res.get('item'), line) for line in res.get('stdout_lines') or [])
    return lines


class FilterModule:
    """ascend.serving service-file filters."""

    def filters(self):
        return {
            'vllm_journal_lines': vllm_journal_lines,
            'vllm_service_state': vllm_service_state,
            'vllm_state_diff': vllm_state_diff,
            'vllm_install_changes': vllm_install_changes,
        }
