# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters exposing module_utils/comm_report.py to the comm_check role."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.ascend.serving.plugins.module_utils.profile import plain as _plain

from ansible_collections.ascend.serving.plugins.module_utils import comm_report


def comm_check_report(hosts, ping_mode='same_index', expected_chips=None, meta=None):
    try:
        return comm_report.build_report(_plain(hosts), ping_mode=ping_mode,
                                        expected_chips=expected_chips, meta=_plain(meta))
    except (ValueError, TypeError, KeyError) as exc:
        raise AnsibleFilterError('comm_check_report: %s' % exc)


# Where comm_check keeps each observation: report key -> (host variable, key in its value or None).
_OBSERVED = (
    ('npu', '__comm_check_npu', 'npu_info'),
    ('hccn', '__comm_check_hccn', 'hccn_info'),
    ('tcp', '__comm_check_tcp_results', None),
    ('ports', '__comm_check_port_states', None),
)


def comm_check_observations(hosts, hostvars):
    """``{host: observations}`` (the input of comm_check_report) out of what the comm_check role
    registered on each host, read on the controller: no per-host set_fact task."""
    out = {}
    for host in hosts:
        host = str(host)
        facts = hostvars[host]
        data = {'role': facts['ascend_topology']['hosts'][host]['role']}
        for key, var, field in _OBSERVED:
            value = facts.get(var)
            if value is not None and field is not None:
                value = value.get(field)
            if value is not None:
                data[key] = value
        pings = facts.get('__comm_check_ping') or {}
        data['pings'] = (pings.get('hccn_info') or {}).get('devices') or []
        data.setdefault('tcp', [])
        data.setdefault('ports', [])
        if facts.get('hccl_env_nic') is not None:
            data['nic'] = {'selected': facts.get('hccl_env_nic'), 'interfaces': facts.get('hccl_env_interfaces')}
        out[host] = _plain(data)
    return out


def comm_check_ping_plan(hosts, mode='same_index'):
    try:
        return comm_report.ping_plan(_plain(hosts), mode)
    except ValueError as exc:
        raise AnsibleFilterError('comm_check_ping_plan: %s' % exc)


def comm_check_port_states(ss_outputs, ports):
    try:
        return comm_report.port_states(_plain(ss_outputs), _plain(ports))
    except ValueError as exc:
        raise AnsibleFilterError('comm_check_port_states: %s' % exc)


def comm_check_tcp_results(wait_results, ports, address):
    try:
        return comm_report.tcp_results(_plain(wait_results), _plain(ports), address)
    except ValueError as exc:
        raise AnsibleFilterError('comm_check_tcp_results: %s' % exc)


def comm_check_markdown(report):
    return comm_report.render_markdown(_plain(report))


def comm_check_failures(report):
    return comm_report.failure_lines(_plain(report))


class FilterModule:
    """ascend.serving comm_check filters."""

    def filters(self):
        return {
            'comm_check_report': comm_check_report,
            'comm_check_ping_plan': comm_check_ping_plan,
            'comm_check_observations': comm_check_observations,
            'comm_check_markdown': comm_check_markdown,
            'comm_check_port_states': comm_check_port_states,
            'comm_check_tcp_results': comm_check_tcp_results,
            'comm_check_failures': comm_check_failures,
        }
