# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters exposing module_utils/comm_report.py to the comm_check role."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.ascend.serving.plugins.module_utils.profile import plain as _plain

from ansible_collections.ascend.serving.plugins.module_utils import comm_report


# States of the vLLM unit in which node0 may hold a temporary listener: anything else (active,
# activating while vLLM loads its weights for 10-45 minutes, reloading, deactivating, or a state
# that could not be read) means vLLM owns, or is about to bind, the ports.
LISTENER_SAFE_STATES = ('inactive', 'failed')


def node0_ports(output, ports, unit='ascend-vllm.service'):
    """node0's plan for the TCP probe out of ``unit=<systemctl is-active>`` then ``ss -Hltnp``.

    Returns ``{unit, service, ports, listener, probe, not_probed}``: ``ports`` as
    comm_report.port_states, ``listener`` the free ports that get the temporary listener (none
    unless the unit is inactive or failed), ``probe`` the ports the headless nodes connect to
    (those with a listener, and the temporary listener's), ``not_probed`` the free ports left out
    while the unit is active or starting ([{name, port}])."""
    lines = (output or '').splitlines()
    if not lines or not lines[0].startswith('unit='):
        raise ValueError('expected "unit=<state of %s>" on the first line, got %r' % (unit, lines[:1]))
    service = lines[0][len('unit='):].strip() or 'unknown'
    states = comm_report.port_states('\n'.join(lines[1:]), ports)
    may_listen = service in LISTENER_SAFE_STATES
    free = [p for p in states if p['owner'] is None]
    return {
        'unit': unit,
        'service': service,
        'ports': states,
        'listener': [p['port'] for p in free] if may_listen else [],
        'probe': [p['port'] for p in states if p['owner'] is not None or may_listen],
        'not_probed': [] if may_listen else [{'name': p['name'], 'port': p['port']} for p in free],
    }


def comm_check_node0_ports(output, ports, unit='ascend-vllm.service'):
    try:
        return node0_ports(output, _plain(ports), unit)
    except (ValueError, TypeError, KeyError) as exc:
        raise AnsibleFilterError('comm_check_node0_ports: %s' % exc)


def comm_check_probe_ports(ports, node0=None):
    """The ports a headless node probes: node0's ``probe`` list, or every port when node0's plan is
    unknown (node0 not in the play)."""
    ports = _plain(ports)
    if not node0:
        return ports
    wanted = set(int(p) for p in node0['probe'])
    return [p for p in ports if int(p['port']) in wanted]


def probe_notes(hosts):
    """One line per node0 whose free ports were not probed, saying why and what to do."""
    notes = []
    for host in sorted(hosts):
        probe = hosts[host].get('probe') or {}
        skipped = probe.get('not_probed') or []
        if not skipped:
            continue
        notes.append(
            '%s: %s is %s, so no temporary listener was opened (it could take a port vLLM is about to '
            'bind): %s without a listener, not probed from the headless nodes. Run verify_comm again '
            'once vLLM listens on them, or while the service is stopped.'
            % (host, probe.get('unit'), probe.get('service'),
               ', '.join('port %s (%s)' % (p['port'], p['name']) for p in skipped)))
    return notes


def comm_check_report(hosts, ping_mode='same_index', expected_chips=None, meta=None):
    hosts = _plain(hosts)
    notes = probe_notes(hosts)
    observed = dict((h, dict((k, v) for k, v in data.items() if k != 'probe')) for h, data in hosts.items())
    try:
        report = comm_report.build_report(observed, ping_mode=ping_mode,
                                          expected_chips=expected_chips, meta=_plain(meta))
    except (ValueError, TypeError, KeyError) as exc:
        raise AnsibleFilterError('comm_check_report: %s' % exc)
    report['notes'] = notes
    return report


# Where comm_check keeps each observation: report key -> (host variable, key in its value or None).
_OBSERVED = (
    ('npu', '__comm_check_npu', 'npu_info'),
    ('hccn', '__comm_check_hccn', 'hccn_info'),
    ('tcp', '__comm_check_tcp_results', None),
    ('ports', '__comm_check_port_states', None),
    ('probe', '__comm_check_node0', None),
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
    report = _plain(report)
    text = comm_report.render_markdown(report)
    if report.get('notes'):
        text += '\n## Notes\n\n%s\n' % '\n'.join('- %s' % note for note in report['notes'])
    return text


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
            'comm_check_node0_ports': comm_check_node0_ports,
            'comm_check_probe_ports': comm_check_probe_ports,
            'comm_check_tcp_results': comm_check_tcp_results,
            'comm_check_failures': comm_check_failures,
        }
