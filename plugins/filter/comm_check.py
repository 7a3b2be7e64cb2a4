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
            'comm_check_markdown': comm_check_markdown,
            'comm_check_port_states': comm_check_port_states,
            'comm_check_tcp_results': comm_check_tcp_results,
            'comm_check_failures': comm_check_failures,
        }
