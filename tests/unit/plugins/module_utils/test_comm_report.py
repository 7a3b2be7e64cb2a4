# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tables for the communication report: a healthy 2-node cluster, then one fault at a time."""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.ascend.serving.plugins.module_utils import comm_report


def _device(d, node):
    return {
        'device': d, 'ip': '10.20.%d.%d' % (d, 10 + node), 'netmask': '255.255.255.0',
        'link': 'UP', 'net_health': 'Success', 'netdetect': '10.20.%d.1' % d,
        'gateway': '10.20.%d.1' % d, 'tls_switch': 0, 'lldp_ifname': '100GE1/0/%d' % (d + 1),
        'errors': [],
    }


def _host(node, role):
    devices = [_device(d, node) for d in range(2)]
    return {
        'role': role,
        'npu': {'product': 'a3', 'chip_count': 2, 'healthy': True,
                'chips': [{'npu_id': 0, 'chip_id': c, 'phy_id': c, 'health': 'OK'} for c in range(2)]},
        'hccn': {'devices': devices,
                 'hccn_conf': dict((str(d['device']), {'address': d['ip'], 'netmask': d['netmask']})
                                   for d in devices)},
        # Each pair once: node0 pings from its even devices, node1 from its odd ones.
        'pings': [{'device': d, 'pings': [{'address': '10.20.%d.%d' % (d, 10 + (1 - node)), 'transmitted': 3,
                                           'received': 3, 'loss_pct': 0.0, 'ok': True}]}
                  for d in range(2) if d % 2 == node],
        'nic': {'selected': {'name': 'eth1', 'address': '10.231.1.%d' % (10 + node)},
                'interfaces': [{'name': 'eth1', 'mtu': 1500, 'up': True}]},
        'tcp': [] if role == 'node0' else [
            {'name': 'dp_rpc', 'address': '10.231.1.10', 'port': 13389, 'ok': True, 'error': None},
            {'name': 'api', 'address': '10.231.1.10', 'port': 8000, 'ok': True, 'error': None}],
        'ports': [] if role != 'node0' else [
            {'name': 'dp_rpc', 'port': 13389, 'free': True, 'owner': None}],
    }


@pytest.fixture
def healthy():
    return {'node0': _host(0, 'node0'), 'node1': _host(1, 'headless')}


def _checks(report):
    return [(f['host'], f['device'], f['check']) for f in report['findings']]


def test_healthy_cluster_passes(healthy):
    report = comm_report.build_report(healthy)
    assert report['ok'] is True
    assert report['findings'] == []
    assert report['summary'] == {'nodes': 2, 'devices': 4, 'pings': 2, 'findings': 0, 'failed_checks': []}
    assert report['ping_matrix'] == {'0': {'node0': 'ok', 'node1': 'ok'}, '1': {'node0': 'ok', 'node1': 'ok'}}
    assert report['nodes']['node1']['links_up'] == 2
    assert report['nodes']['node0']['nic'] == 'eth1'
    # stable, JSON-serialisable keys
    assert sorted(json.loads(comm_report.to_json(report))) == [
        'findings', 'nodes', 'ok', 'ping_matrix', 'ping_mode', 'summary', 'version']


def _set(hosts, host, device, key, value):
    for dev in hosts[host]['hccn']['devices']:
        if dev['device'] == device:
            dev[key] = value


FAULTS = [
    ('link down', lambda h: _set(h, 'node1', 1, 'link', 'DOWN'), [('node1', 1, 'link')], 'hccn_tool -i 1 -cfg recovery'),
    ('net health fault', lambda h: _set(h, 'node0', 0, 'net_health', 'Fault'), [('node0', 0, 'net_health')], '-net_health -g'),
    ('no gateway', lambda h: _set(h, 'node0', 1, 'gateway', None), [('node0', 1, 'gateway')], '-gateway -s'),
    ('no netdetect', lambda h: _set(h, 'node1', 0, 'netdetect', None), [('node1', 0, 'netdetect')], '-netdetect -s'),
    ('no lldp', lambda h: _set(h, 'node1', 0, 'lldp_ifname', None), [('node1', 0, 'lldp')], 'LLDP'),
    ('tls mismatch', lambda h: _set(h, 'node1', 1, 'tls_switch', 1), [('node1', 1, 'tls_consistency')], '-tls -s enable 0'),
    ('chip critical', lambda h: h['node1']['npu']['chips'][1].update(health='Critical'), [('node1', 1, 'npu_health')], 'npu-smi info -t health'),
    ('tool error', lambda h: _set(h, 'node0', 0, 'errors', ['hccn_tool -i 0 -lldp -g: rc=1']), [('node0', 0, 'tool_error')], 'by hand'),
    ('hccn.conf missing', lambda h: h['node1']['hccn'].update(hccn_conf=None), [('node1', None, 'hccn_conf')], 'create /etc/hccn.conf'),
    ('port blocked', lambda h: h['node1']['tcp'][0].update(ok=False, error='timeout'), [('node1', None, 'tcp')], 'open TCP 13389'),
    ('port busy', lambda h: h['node0']['ports'][0].update(free=False, owner='nginx'), [('node0', None, 'port_free')], 'stop what listens on 13389'),
    ('mtu mismatch', lambda h: h['node1']['nic']['interfaces'][0].update(mtu=9000), [('node1', None, 'nic_mtu')], 'mtu 1500'),
    ('nic down', lambda h: h['node0']['nic']['interfaces'][0].update(up=False), [('node0', None, 'nic')], 'ip link set eth1 up'),
    ('hccn.conf disagrees', lambda h: h['node0']['hccn']['hccn_conf']['1'].update(address='10.99.0.1'), [('node0', 1, 'hccn_conf')], 'align address_1'),
]


@pytest.mark.parametrize('name,fault,expected,fix', FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_is_named_exactly(healthy, name, fault, expected, fix):
    fault(healthy)
    report = comm_report.build_report(healthy)
    assert report['ok'] is False
    assert _checks(report) == expected
    assert fix in report['findings'][0]['fix']
    line = comm_report.failure_lines(report)[0]
    assert line.startswith(expected[0][0])


def test_ping_failure_names_both_ends(healthy):
    # node1 device 1 pings node0 device 1 (the pair is pinged once); both ends are named.
    healthy['node1']['pings'][0]['pings'][0].update(received=0, loss_pct=100.0, ok=False)
    report = comm_report.build_report(healthy)
    assert _checks(report) == [('node0', 1, 'ping'), ('node1', 1, 'ping')]
    receiver, sender = report['findings']
    assert sender['peer'] == 'node0/1' and receiver['peer'] == 'node1/1'
    assert sender['observed'] == '0/3 received, 100.0% loss'
    assert receiver['observed'] == '0/3 received, 100.0% loss (pinged from node1 device 1)'
    assert '`hccn_tool -i 1 -ping -g address 10.20.1.10`' in sender['fix']
    assert '`hccn_tool -i 1 -ping -g address 10.20.1.11`' in receiver['fix']
    assert report['ping_matrix'] == {'0': {'node0': 'ok', 'node1': 'ok'},
                                     '1': {'node0': 'FAIL: node1/1', 'node1': 'FAIL: node0/1'}}


def test_ping_not_run_is_a_finding(healthy):
    healthy['node0']['pings'] = []
    report = comm_report.build_report(healthy)
    assert _checks(report) == [('node0', 0, 'ping'), ('node1', 0, 'ping')]
    assert report['findings'][0]['observed'] == 'not run'


def _cluster(nodes, devices):
    hosts = {}
    for node in range(nodes):
        host = _host(node, 'node0' if node == 0 else 'headless')
        host['hccn']['devices'] = [_device(d, node) for d in range(devices)]
        hosts['node%d' % node] = host
    return hosts


@pytest.mark.parametrize('nodes', [2, 3, 4, 5, 16])
@pytest.mark.parametrize('mode,devices', [('same_index', 16), ('full', 4)])
def test_ping_pairs_cover_every_pair_once_balanced(nodes, mode, devices):
    hosts = _cluster(nodes, devices)
    pairs = comm_report.ping_pairs(hosts, mode)
    unordered = [frozenset(((s[0], s[1]), (r[0], r[1]))) for s, r in pairs]
    per_peer = devices if mode == 'full' else 1
    assert len(unordered) == len(set(unordered)) == nodes * (nodes - 1) // 2 * devices * per_peer
    assert all(s[0] != r[0] and (mode == 'full' or s[1] == r[1]) for s, r in pairs)
    sent = [sum(len(t) for t in per.values()) for per in comm_report.ping_plan(hosts, mode).values()]
    assert sum(sent) == len(pairs)
    assert max(sent) == min(sent)


def test_unrequested_checks_are_not_judged(healthy):
    for host in healthy.values():
        host['hccn']['checks'] = ['link']
        for dev in host['hccn']['devices']:
            dev.update(net_health=None, gateway=None, netdetect=None, lldp_ifname=None, tls_switch=None)
    assert comm_report.build_report(healthy)['findings'] == []
    _set(healthy, 'node0', 1, 'link', 'DOWN')
    assert _checks(comm_report.build_report(healthy)) == [('node0', 1, 'link')]


def test_missing_device_ip_skips_its_pings_and_names_it(healthy):
    _set(healthy, 'node1', 1, 'errors', ['hccn_tool -i 1 -ip -g: Get ipconf failed, because no ip was preset there!'])
    _set(healthy, 'node1', 1, 'ip', None)
    _set(healthy, 'node1', 1, 'netmask', None)
    healthy['node1']['hccn']['hccn_conf'].pop('1')
    # node0 device 1 has no peer left to ping, so the ping result it carries is not expected
    report = comm_report.build_report(healthy)
    assert _checks(report) == [('node1', 1, 'ip')]
    assert report['findings'][0]['observed'] == (
        'None (hccn_tool -i 1 -ip -g: Get ipconf failed, because no ip was preset there!)')
    assert report['ping_matrix']['1'] == {'node0': 'skipped: no peer', 'node1': 'skipped: no device ip'}


def test_subnet_mismatch(healthy):
    _set(healthy, 'node1', 0, 'ip', '10.21.0.11')
    healthy['node1']['hccn']['hccn_conf']['0']['address'] = '10.21.0.11'
    healthy['node0']['pings'][0]['pings'][0]['address'] = '10.21.0.11'
    report = comm_report.build_report(healthy)
    assert ('node1', 0, 'subnet_consistency') in _checks(report)
    subnet = [f for f in report['findings'] if f['check'] == 'subnet_consistency']
    assert len(subnet) == 1 and subnet[0]['observed'] == '10.21.0.0/24'


def test_ping_plan_modes(healthy):
    assert comm_report.ping_plan(healthy, 'same_index') == {
        'node0': {0: ['10.20.0.11']},
        'node1': {1: ['10.20.1.10']},
    }
    assert comm_report.ping_plan(healthy, 'full') == {
        'node0': {0: ['10.20.0.11', '10.20.1.11']},
        'node1': {0: ['10.20.1.10'], 1: ['10.20.1.10']},
    }
    with pytest.raises(ValueError, match='ping mode'):
        comm_report.ping_plan(healthy, 'everything')


def test_expected_chip_count(healthy):
    report = comm_report.build_report(healthy, expected_chips=16)
    assert _checks(report) == [('node0', None, 'npu_count'), ('node1', None, 'npu_count')]


def test_markdown_marks_failures(healthy):
    healthy['node1']['pings'][0]['pings'][0].update(received=0, loss_pct=100.0, ok=False)
    md = comm_report.render_markdown(comm_report.build_report(healthy, meta={'inventory': 'sim'}))
    assert md.startswith('# Multi-node communication check: sim')
    assert '**FAILED**' in md
    assert '| 1 | **FAIL: node1/1** | **FAIL: node0/1** |' in md
    assert '| node1 | 1 | ping |' in md


def test_markdown_healthy(healthy):
    md = comm_report.render_markdown(comm_report.build_report(healthy))
    assert '**PASSED**: 2 node(s), 4 device(s), 2 ping(s) (same_index), 0 finding(s).' in md
    assert 'None: every check passed.' in md
    assert copy.deepcopy(healthy) == healthy


PORTS = [{'name': 'dp_rpc', 'port': '13389'}, {'name': 'api', 'port': 8000}]


@pytest.mark.parametrize('outputs,expected', [
    (['', ''], [('dp_rpc', 13389, True, None), ('api', 8000, True, None)]),
    (['LISTEN 0      64      10.231.1.10:13389      0.0.0.0:*    users:(("vllm",pid=812,fd=7))\n', ''],
     [('dp_rpc', 13389, True, 'vllm'), ('api', 8000, True, None)]),
    (['', 'LISTEN 0      511          0.0.0.0:8000      0.0.0.0:*    users:(("nginx",pid=90,fd=6),("nginx",pid=91,fd=6))\n'],
     [('dp_rpc', 13389, True, None), ('api', 8000, False, 'nginx')]),
    (['LISTEN 0 5 0.0.0.0:13389 0.0.0.0:*\n', ''],
     [('dp_rpc', 13389, False, 'unknown process'), ('api', 8000, True, None)]),
])
def test_port_states_from_ss(outputs, expected):
    got = comm_report.port_states(outputs, PORTS)
    assert [(p['name'], p['port'], p['free'], p['owner']) for p in got] == expected


@pytest.mark.parametrize('output,expected', [
    ('', [('dp_rpc', 13389, True, None), ('api', 8000, True, None)]),
    ('LISTEN 0      64      10.231.1.10:13389      0.0.0.0:*    users:(("vllm",pid=812,fd=7))\n'
     'LISTEN 0      511          [::]:8000      [::]:*    users:(("nginx",pid=90,fd=6),("nginx",pid=91,fd=6))\n',
     [('dp_rpc', 13389, True, 'vllm'), ('api', 8000, False, 'nginx')]),
    ('LISTEN 0 5 0.0.0.0:13389 0.0.0.0:*\nLISTEN 0 5 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=1,fd=3))\n',
     [('dp_rpc', 13389, False, 'unknown process'), ('api', 8000, True, None)]),
])
def test_port_states_from_one_ss_output(output, expected):
    got = comm_report.port_states(output, PORTS)
    assert [(p['name'], p['port'], p['free'], p['owner']) for p in got] == expected


def test_port_states_length_mismatch():
    with pytest.raises(ValueError, match='1 ss outputs for 2 ports'):
        comm_report.port_states([''], PORTS)


def test_tcp_results_from_wait_for():
    results = [
        {'state': 'started', 'port': 13389, 'elapsed': 0, 'changed': False, 'failed': False},
        {'msg': 'Timeout when waiting for 10.231.1.10:8000', 'elapsed': 5, 'failed': False},
    ]
    assert comm_report.tcp_results(results, PORTS, '10.231.1.10') == [
        {'name': 'dp_rpc', 'address': '10.231.1.10', 'port': 13389, 'ok': True, 'error': None},
        {'name': 'api', 'address': '10.231.1.10', 'port': 8000, 'ok': False,
         'error': 'Timeout when waiting for 10.231.1.10:8000'},
    ]


def test_tcp_results_from_the_roles_probe():
    results = [{'port': 13389, 'ok': True, 'error': None},
               {'port': 8000, 'ok': False, 'error': 'Timeout when waiting for 10.231.1.10:8000 (last: refused)'}]
    assert comm_report.tcp_results(results, PORTS, '10.231.1.10') == [
        {'name': 'dp_rpc', 'address': '10.231.1.10', 'port': 13389, 'ok': True, 'error': None},
        {'name': 'api', 'address': '10.231.1.10', 'port': 8000, 'ok': False,
         'error': 'Timeout when waiting for 10.231.1.10:8000 (last: refused)'},
    ]
