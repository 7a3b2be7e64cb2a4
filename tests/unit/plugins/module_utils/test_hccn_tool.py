# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests of the hccn_tool and hccn.conf parsers against every sample in tests/unit/fixtures.

Expected values were transcribed from the sample files (provenance in
tests/unit/fixtures/SOURCES.tsv), not produced by the parser.  Several samples
are the output of a ``for i in {0..7}`` loop; they are split into one chunk per
device, as the module would see them, and also fed whole to check that a
parser refuses the answer of several devices.
"""

from __future__ import annotations

import os

import pytest

from ansible_collections.ascend.serving.plugins.module_utils import hccn_tool
from ansible_collections.ascend.serving.plugins.module_utils.hccn_tool import ParseError

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'fixtures')


def read(*parts):
    with open(os.path.join(FIXTURES, *parts), 'r') as handle:
        return handle.read()


def per_device(name, lines_per_device):
    """Split a loop sample into per-device outputs, dropping the author's '...' lines."""
    lines = [line for line in read('hccn_tool', name).splitlines() if line.strip() != '...']
    assert len(lines) % lines_per_device == 0
    return ['\n'.join(lines[i:i + lines_per_device]) + '\n' for i in range(0, len(lines), lines_per_device)]


# Every hccn_tool sample, each used by a test below; checked against the directory.
TESTED_SAMPLES = set([
    'fec-g-nofec-910A-mindcluster-fixture.txt',
    'fec-g-rsfec-mindcluster-doc.txt',
    'gateway-g-loop-x8-910B3-deepseekv3-multinode-doc.txt',
    'hw_stats-g-dev3-910B1-arthurchiao-blog.txt',
    'ip-g-dev0-910A-mindcluster-fixture.txt',
    'ip-g-dev3-910B1-arthurchiao-blog.txt',
    'ip-g-error-no-ip-doc-quoted.txt',
    'ip-g-loop-x8-910B3-deepseekv3-multinode-doc.txt',
    'link-g-loop-elided-deepseekv3-multinode-doc.txt',
    'link_stat-g-910A-mindcluster-fixture.txt',
    'lldp-g-910B1-arthurchiao-blog.txt',
    'lldp-grep-ifname-loop-x8-910B3-deepseekv3-multinode-doc.txt',
    'net_health-g-Init-mindcluster-doc.txt',
    'net_health-g-loop-elided-deepseekv3-multinode-doc.txt',
    'net_health-g-socket-failed-910A-mindcluster-fixture.txt',
    'netdetect-g-loop-elided-deepseekv3-multinode-doc.txt',
    'optical-g-910A-mindcluster-fixture.txt',
    'ping-g-success-910B1-arthurchiao-blog.txt',
    'route-g-dev3-910B1-arthurchiao-blog.txt',
    'stat-g-910A-mindcluster-fixture.txt',
    'tls-g-grep-switch-loop-x8-910B3-deepseekv3-multinode-doc.txt',
    'tls-s-enable0-loop-elided-deepseekv3-multinode-doc.txt',
])


# --------------------------------------------------------------------------- -ip -g

@pytest.mark.parametrize('name, expected', [
    ('ip-g-dev0-910A-mindcluster-fixture.txt',
     {'ip': '192.161.200.10', 'netmask': '255.255.255.0', 'errors': []}),
    ('ip-g-dev3-910B1-arthurchiao-blog.txt',
     {'ip': '29.1.112.213', 'netmask': '255.255.0.0', 'errors': []}),
    ('ip-g-error-no-ip-doc-quoted.txt',
     {'ip': None, 'netmask': None, 'errors': ['Get ipconf failed, because no ip was preset there!']}),
])
def test_parse_ip_samples(name, expected):
    assert hccn_tool.parse_ip(read('hccn_tool', name)) == expected


def test_parse_ip_loop_sample_per_device():
    outputs = per_device('ip-g-loop-x8-910B3-deepseekv3-multinode-doc.txt', 2)
    assert [hccn_tool.parse_ip(text) for text in outputs] == [
        {'ip': '11.12.165.8%d' % n, 'netmask': '255.255.255.0', 'errors': []} for n in range(8)]


def test_parse_ip_refuses_several_devices_at_once():
    with pytest.raises(ParseError) as caught:
        hccn_tool.parse_ip(read('hccn_tool', 'ip-g-loop-x8-910B3-deepseekv3-multinode-doc.txt'))
    assert caught.value.line == 'ipaddr:11.12.165.81'
    assert caught.value.lineno == 3


@pytest.mark.parametrize('text, expected', [
    pytest.param('', {'ip': None, 'netmask': None, 'errors': ['no output']}, id='empty'),
    pytest.param('ipaddr: 10.0.0.1\nnetmask: 255.255.255.0\n',
                 {'ip': '10.0.0.1', 'netmask': '255.255.255.0', 'errors': []}, id='spaces-after-colon'),
    pytest.param('ipaddr:10.0.0.1\n', {'ip': '10.0.0.1', 'netmask': None, 'errors': []}, id='no-netmask'),
    pytest.param('random words\nmore words\n', {'ip': None, 'netmask': None, 'errors': ['random words', 'more words']},
                 id='garbage-is-a-message'),
])
def test_parse_ip_edge_cases(text, expected):
    assert hccn_tool.parse_ip(text) == expected


@pytest.mark.parametrize('text, line', [
    ('ipaddr:10.0.0.256\nnetmask:255.255.255.0\n', 'ipaddr:10.0.0.256'),
    ('ipaddr:\n', 'ipaddr:'),
    ('ipaddr:10.0.0.1\nnetmask:/24\n', 'netmask:/24'),
])
def test_parse_ip_rejects_malformed_values(text, line):
    with pytest.raises(ParseError) as caught:
        hccn_tool.parse_ip(text)
    assert caught.value.line == line


# --------------------------------------------------------------------------- -link -g

def test_parse_link_loop_sample_per_device():
    outputs = per_device('link-g-loop-elided-deepseekv3-multinode-doc.txt', 1)
    assert [hccn_tool.parse_link(text) for text in outputs] == [{'link': 'UP', 'errors': []}] * 2


def test_parse_link_skips_elision_but_refuses_two_devices():
    # The published loop output, fed whole: the '...' line is skipped, the second answer is refused.
    with pytest.raises(ParseError) as caught:
        hccn_tool.parse_link(read('hccn_tool', 'link-g-loop-elided-deepseekv3-multinode-doc.txt'))
    assert caught.value.lineno == 3
    assert hccn_tool.parse_link('link status: UP\n...\n') == {'link': 'UP', 'errors': []}


@pytest.mark.parametrize('text, expected', [
    ('link status: DOWN\n', {'link': 'DOWN', 'errors': []}),
    ('link status: up\n', {'link': 'UP', 'errors': []}),
    ('hccn_tool: device 9 is not exist\n', {'link': None, 'errors': ['hccn_tool: device 9 is not exist']}),
])
def test_parse_link_values(text, expected):
    assert hccn_tool.parse_link(text) == expected


def test_parse_link_rejects_unknown_state():
    with pytest.raises(ParseError, match='neither UP nor DOWN'):
        hccn_tool.parse_link('link status: FLAPPING\n')


# --------------------------------------------------------------------------- -net_health -g

@pytest.mark.parametrize('name, health', [
    ('net_health-g-Init-mindcluster-doc.txt', 'Init'),
    ('net_health-g-socket-failed-910A-mindcluster-fixture.txt', 'Socket failed'),
])
def test_parse_net_health_samples(name, health):
    assert hccn_tool.parse_net_health(read('hccn_tool', name)) == {'net_health': health, 'errors': []}


def test_parse_net_health_loop_sample_per_device():
    outputs = per_device('net_health-g-loop-elided-deepseekv3-multinode-doc.txt', 1)
    assert [hccn_tool.parse_net_health(text) for text in outputs] == [{'net_health': 'Success', 'errors': []}] * 2


@pytest.mark.parametrize('text, expected', [
    ('net health status: Receive timeout\n', {'net_health': 'Receive timeout', 'errors': []}),
    ('', {'net_health': None, 'errors': ['no output']}),
])
def test_parse_net_health_values(text, expected):
    assert hccn_tool.parse_net_health(text) == expected


def test_parse_net_health_rejects_empty_value():
    with pytest.raises(ParseError, match='empty'):
        hccn_tool.parse_net_health('net health status:\n')


# --------------------------------------------------------------------------- -netdetect -g

def test_parse_netdetect_loop_sample_per_device():
    outputs = per_device('netdetect-g-loop-elided-deepseekv3-multinode-doc.txt', 1)
    assert [hccn_tool.parse_netdetect(text) for text in outputs] == [
        {'netdetect': '11.12.165.1', 'errors': []}] * 2


@pytest.mark.parametrize('text, expected', [
    ('netdetect address: \n', {'netdetect': None, 'errors': ['netdetect address:']}),
    ('Get netdetect failed\n', {'netdetect': None, 'errors': ['Get netdetect failed']}),
])
def test_parse_netdetect_unset(text, expected):
    assert hccn_tool.parse_netdetect(text) == expected


def test_parse_netdetect_rejects_bad_address():
    with pytest.raises(ParseError) as caught:
        hccn_tool.parse_netdetect('netdetect address: 11.12.165\n')
    assert caught.value.line == 'netdetect address: 11.12.165'


# --------------------------------------------------------------------------- -gateway -g

def test_parse_gateway_loop_sample_per_device():
    outputs = per_device('gateway-g-loop-x8-910B3-deepseekv3-multinode-doc.txt', 1)
    assert [hccn_tool.parse_gateway(text) for text in outputs] == [
        {'gateway': '11.12.165.1', 'gateway_iface': 'eth%d' % n, 'errors': []} for n in range(8)]


def test_parse_gateway_refuses_several_devices_at_once():
    with pytest.raises(ParseError, match='several devices'):
        hccn_tool.parse_gateway(read('hccn_tool', 'gateway-g-loop-x8-910B3-deepseekv3-multinode-doc.txt'))


def test_parse_gateway_without_iface_and_bad_value():
    assert hccn_tool.parse_gateway('default gateway:10.0.0.1\n') == {
        'gateway': '10.0.0.1', 'gateway_iface': None, 'errors': []}
    with pytest.raises(ParseError):
        hccn_tool.parse_gateway('default gateway:none, Iface:eth0\n')


# --------------------------------------------------------------------------- -tls -g

def test_parse_tls_loop_sample_per_device():
    outputs = per_device('tls-g-grep-switch-loop-x8-910B3-deepseekv3-multinode-doc.txt', 1)
    assert [hccn_tool.parse_tls(text) for text in outputs] == [
        {'tls_switch': 0, 'tls_preconfigured': 1, 'tls_alarm_days': 60, 'dev_id': n, 'errors': []}
        for n in range(8)]


def test_parse_tls_ignores_certificate_lines():
    text = ('dev_id:3, tls switch[1](0:disable, 1:enable), tls preconfigured[1](0:non-preset, 1:preset), '
            'tls alarm time threshold[60]days\n'
            'tls cert info: [ca]\n'
            '  subject: CN=HUAWEI\n')
    result = hccn_tool.parse_tls(text)
    assert (result['tls_switch'], result['dev_id'], result['errors']) == (1, 3, [])


def test_parse_tls_messages_and_errors():
    assert hccn_tool.parse_tls('Get tls failed\n')['errors'] == ['Get tls failed']
    assert hccn_tool.parse_tls('Get tls failed\n')['tls_switch'] is None
    with pytest.raises(ParseError, match='tls switch is not a number'):
        hccn_tool.parse_tls('dev_id:0, tls switch[on](0:disable, 1:enable)\n')


# --------------------------------------------------------------------------- -lldp -g

def test_parse_lldp_full_sample():
    result = hccn_tool.parse_lldp(read('hccn_tool', 'lldp-g-910B1-arthurchiao-blog.txt'))
    assert result == {
        'ifname': '400GE1/1/20:2',
        'chassis_mac': '...',
        'mgmt_ipv4': '26.xx.xx.xx',
        'tlvs': {
            'Chassis ID': ['MAC: ...'],
            'Port ID': ['Ifname: 400GE1/1/20:2'],
            'System Description': [
                'Versatile Routing Platform Software',
                'VRP (R) software, Version 8.211 (DX511 V200R021C10SPC600)',
                'Huarong DX511',
            ],
            'System Capabilities': ['Enabled capabilities: Bridge, Router'],
            'Management Address': ['IPv4: 26.xx.xx.xx'],
            'Maximum Frame Size': ['9216'],
            'End of LLDPDU': [],
        },
        'errors': [],
    }


def test_parse_lldp_grep_sample_per_device():
    outputs = per_device('lldp-grep-ifname-loop-x8-910B3-deepseekv3-multinode-doc.txt', 1)
    ports = ['400GE1/1/5:1', '400GE1/1/5:2', '400GE1/2/5:1', '400GE1/2/5:2',
             '400GE1/3/5:1', '400GE1/3/5:2', '400GE1/4/5:1', '400GE1/4/5:2']
    assert [hccn_tool.parse_lldp(text)['ifname'] for text in outputs] == ports
    assert all(hccn_tool.parse_lldp(text)['errors'] == [] for text in outputs)


def test_parse_lldp_refuses_several_devices_at_once():
    with pytest.raises(ParseError) as caught:
        hccn_tool.parse_lldp(read('hccn_tool', 'lldp-grep-ifname-loop-x8-910B3-deepseekv3-multinode-doc.txt'))
    assert caught.value.line == '\tIfname: 400GE1/1/5:2'


def test_parse_lldp_without_neighbour():
    assert hccn_tool.parse_lldp('') == {
        'ifname': None, 'chassis_mac': None, 'mgmt_ipv4': None, 'tlvs': {}, 'errors': ['no output']}
    result = hccn_tool.parse_lldp('Chassis ID TLV\n\tMAC: 00:11:22:33:44:55\nEnd of LLDPDU TLV\n')
    assert result['ifname'] is None
    assert result['chassis_mac'] == '00:11:22:33:44:55'
    assert result['errors'] == ['no Ifname in the LLDP data']


# --------------------------------------------------------------------------- -ping -g

def test_parse_ping_success_sample():
    assert hccn_tool.parse_ping(read('hccn_tool', 'ping-g-success-910B1-arthurchiao-blog.txt')) == {
        'device': 3, 'address': '29.1.137.205', 'transmitted': 3, 'received': 3, 'loss_pct': 0.0,
        'rtt_ms': [1.418, 0.034, 0.04], 'ok': True, 'errors': []}


@pytest.mark.parametrize('text, ok, counts, errors', [
    pytest.param('device 0 PING 10.0.0.9\n3 packets transmitted, 0 received, 100.00% packet loss\n',
                 False, (3, 0, 100.0), [], id='all-lost'),
    pytest.param('device 0 PING 10.0.0.9\nrecv seq=0,time=0.1ms\n3 packets transmitted, 1 received, 66.67% packet loss\n',
                 False, (3, 1, 66.67), [], id='some-lost'),
    pytest.param('0 packets transmitted, 0 received, 0.00% packet loss\n', False, (0, 0, 0.0), [], id='nothing-sent'),
    pytest.param('ping failed, device ip is not set\n', False, (None, None, None),
                 ['ping failed, device ip is not set'], id='tool-message'),
    pytest.param('', False, (None, None, None), ['no output'], id='empty'),
])
def test_parse_ping_results(text, ok, counts, errors):
    result = hccn_tool.parse_ping(text)
    assert result['ok'] is ok
    assert (result['transmitted'], result['received'], result['loss_pct']) == counts
    assert result['errors'] == errors


def test_parse_ping_rejects_impossible_counts():
    with pytest.raises(ParseError, match='more packets received'):
        hccn_tool.parse_ping('3 packets transmitted, 4 received, 0.00% packet loss\n')


# --------------------------------------------------------------------------- diagnostics

def test_parse_fec_samples():
    assert hccn_tool.parse_fec(read('hccn_tool', 'fec-g-nofec-910A-mindcluster-fixture.txt')) == {
        'fec_mode': 'no FEC mode', 'errors': []}
    assert hccn_tool.parse_fec(read('hccn_tool', 'fec-g-rsfec-mindcluster-doc.txt')) == {
        'fec_mode': 'rs FEC mode', 'errors': []}


def test_parse_key_values_stat_sample():
    assert hccn_tool.parse_key_values(read('hccn_tool', 'stat-g-910A-mindcluster-fixture.txt')) == {
        'devid': None, 'values': {'roce_rx_err_pkt_num': '0', 'roce_tx_err_pkt_num': '0'}}


def test_parse_key_values_hw_stats_sample():
    result = hccn_tool.parse_key_values(read('hccn_tool', 'hw_stats-g-dev3-910B1-arthurchiao-blog.txt'))
    assert result == {'devid': 3, 'values': {
        'pd_alloc': '1', 'pd_dealloc': '0', 'mr_alloc': '0', 'mr_dealloc': '0', 'cq_alloc': '1', 'cq_dealloc': '0',
        'qp_alloc': '1', 'qp_dealloc': '0', 'pd_active': '1', 'mr_active': '0', 'cq_active': '1', 'qp_active': '1',
        'aeqe': '0', 'ceqe': '0'}}


def test_parse_key_values_optical_sample():
    result = hccn_tool.parse_key_values(read('hccn_tool', 'optical-g-910A-mindcluster-fixture.txt'))
    assert result == {'devid': None, 'values': {
        'present': 'not present', 'temperature': '47 C', 'high_power_enable_reg': 'enabled',
        'vendor_name': 'Hisense', 'vendor_part_number': 'LMQ8611-PC+', 'vendor_serial_number': 'V8BD6H25033',
        'vendor_org_unique_id': '0xac 0x4a 0x0', 'xsfp_identifier': 'QSFP+ or later', 'xsfp_wave_length': '850 nm',
        'manufact_date_code': '2023.6.18', 'vcc': '3262.90 mV',
        'tx_power0': '4.4035 mW', 'rx_power0': '1.0189 mW', 'tx_power1': '1.3968 mW', 'rx_power1': '0.0054 mW',
        'tx_power2': '1.4140 mW', 'rx_power2': '0.9907 mW', 'tx_power3': '1.4988 mW', 'rx_power3': '1.0213 mW',
        'vcc_high_thres': '3465.00 mV', 'vcc_low_thres': '3135.00 mV', 'temp_high_thres': '70 C',
        'temp_low_thres': '0 C', 'txpower_high_thres': '3.5481 mW', 'txpower_low_thres': '0.2818 mW',
        'rxpower_high_thres': '3.5481 mW', 'rxpower_low_thres': '0.1445 mW',
        'tx_bias0': '7.9360 mA', 'tx_bias1': '7.9280 mA', 'tx_bias2': '7.9360 mA', 'tx_bias3': '7.9240 mA',
        'tx_los_flag': '0x0', 'rx_los_flag': '0xff', 'tx_lol_flag': '0x0', 'rx_lol_flag': '0xff',
        'host_snr_lane0': 'not supported', 'host_snr_lane1': 'not supported', 'host_snr_lane2': 'not supported',
        'host_snr_lane3': 'not supported', 'media_snr_lane0': '23.1211 dB', 'media_snr_lane1': '22.6289 dB',
        'media_snr_lane2': '22.1875 dB', 'media_snr_lane3': '23.2969 dB'}}
    assert len(result['values']) == 43


@pytest.mark.parametrize('text, message', [
    ('', 'no "key: value" line'),
    ('[devid 0] a: 1\n[devid 1] b: 2\n', 'devices 0 and 1 mixed'),
    ('a: 1\na: 2\n', "key 'a' appears twice"),
    ('just words\n', 'expected "key: value"'),
])
def test_parse_key_values_rejects(text, message):
    with pytest.raises(ParseError, match=message):
        hccn_tool.parse_key_values(text)


def test_parse_link_stat_sample():
    assert hccn_tool.parse_link_stat(read('hccn_tool', 'link_stat-g-910A-mindcluster-fixture.txt')) == {
        'devid': 0,
        'current_time': 'Wed Aug 2 03:09:26 2022',
        'link_up_count': 2,
        'records': [
            {'time': 'Tue Aug 1 14:43:40 2022', 'event': 'LINK UP'},
            {'time': 'Tue Aug 1 14:43:40 2022', 'event': 'LINK DOWN'},
            {'time': 'Tue Aug 1 14:43:26 2022', 'event': 'LINK UP'},
        ],
    }


def test_parse_link_stat_rejects():
    with pytest.raises(ParseError, match='no link statistics'):
        hccn_tool.parse_link_stat('')
    with pytest.raises(ParseError, match='not a number'):
        hccn_tool.parse_link_stat('link up count : many\n')


def test_parse_route_sample():
    routes = hccn_tool.parse_route(read('hccn_tool', 'route-g-dev3-910B1-arthurchiao-blog.txt'))

    def route(dest, gw, mask, flags, iface):
        return {'destination': dest, 'gateway': gw, 'genmask': mask, 'flags': flags, 'metric': 0, 'ref': 0,
                'use': 0, 'iface': iface}

    assert routes == [
        route('default', '29.1.0.1', '0.0.0.0', 'UG', 'eth3'),
        route('29.1.0.0', None, '255.255.0.0', 'U', 'eth3'),
        route('127.0.0.1', None, '255.255.255.255', 'UH', 'lo'),
        route('192.168.1.0', None, '255.255.255.0', 'U', 'end3v0'),
        route('192.168.2.0', None, '255.255.255.0', 'U', 'end3v0'),
    ]


@pytest.mark.parametrize('text, message', [
    ('', 'no routing table'),
    ('default 29.1.0.1 0.0.0.0 UG 0 0 0 eth3\n', 'expected the "Destination Gateway Genmask'),
    ('Destination Gateway Genmask Flags Metric Ref Use Iface\ndefault 29.1.0.1 0.0.0.0 UG 0 0 eth3\n',
     'expected 8 columns'),
])
def test_parse_route_rejects(text, message):
    with pytest.raises(ParseError, match=message):
        hccn_tool.parse_route(text)


def test_parse_cmd_result_sample():
    text = read('hccn_tool', 'tls-s-enable0-loop-elided-deepseekv3-multinode-doc.txt')
    assert hccn_tool.parse_cmd_result(text) == {'ok': True, 'errors': []}
    assert hccn_tool.parse_cmd_result('Cmd executed successfully!\nset tls failed\n') == {
        'ok': False, 'errors': ['set tls failed']}
    assert hccn_tool.parse_cmd_result('') == {'ok': False, 'errors': ['no output']}


def test_every_hccn_tool_sample_is_tested():
    assert TESTED_SAMPLES == set(os.listdir(os.path.join(FIXTURES, 'hccn_tool')))


# --------------------------------------------------------------------------- /etc/hccn.conf

def _conf(address, netmask, netdetect, gateway, **extra):
    entry = {'address': address, 'netmask': netmask, 'netdetect': netdetect, 'gateway': gateway,
             'send_arp_status': '1'}
    entry.update(extra)
    return entry


def test_parse_hccn_conf_elided_sample():
    conf = hccn_tool.parse_hccn_conf(read('hccn_conf', 'hccn.conf-910B1-x8-elided-arthurchiao-blog.txt'))
    assert conf == {
        0: _conf('29.1.137.205', '255.255.0.0', '29.1.0.1', '29.1.0.1'),
        7: _conf('29.1.170.143', '255.255.0.0', '29.1.0.1', '29.1.0.1'),
    }


def test_parse_hccn_conf_eight_device_sample():
    conf = hccn_tool.parse_hccn_conf(read('hccn_conf', 'hccn.conf-a2-8npu-ip-sanitized-openyuanrong-fixture.txt'))
    addresses = ['127.0.0.45', '127.0.0.226', '127.0.0.83', '127.0.0.190',
                 '127.0.0.208', '127.0.0.247', '127.0.0.118', '127.0.0.223']
    assert conf == dict((n, _conf(addresses[n], '255.255.0.0', '127.0.0.1', '127.0.0.1', tls_enable='0'))
                        for n in range(8))


def test_every_hccn_conf_sample_is_tested():
    assert set(os.listdir(os.path.join(FIXTURES, 'hccn_conf'))) == set([
        'hccn.conf-910B1-x8-elided-arthurchiao-blog.txt', 'hccn.conf-a2-8npu-ip-sanitized-openyuanrong-fixture.txt'])


def test_parse_hccn_conf_comments_and_spaces():
    assert hccn_tool.parse_hccn_conf('# managed\n\naddress_10 = 10.0.0.1\n') == {10: {'address': '10.0.0.1'}}


@pytest.mark.parametrize('text, line', [
    ('address=10.0.0.1\n', 'address=10.0.0.1'),
    ('address_0 10.0.0.1\n', 'address_0 10.0.0.1'),
    ('address_0=10.0.0.1\naddress_0=10.0.0.2\n', 'address_0=10.0.0.2'),
])
def test_parse_hccn_conf_rejects(text, line):
    with pytest.raises(ParseError) as caught:
        hccn_tool.parse_hccn_conf(text)
    assert caught.value.line == line


# --------------------------------------------------------------------------- commands and verdicts

@pytest.mark.parametrize('device, check, address, args', [
    (0, 'ip', None, ['-i', '0', '-ip', '-g']),
    (15, 'link', None, ['-i', '15', '-link', '-g']),
    (3, 'net_health', None, ['-i', '3', '-net_health', '-g']),
    (3, 'netdetect', None, ['-i', '3', '-netdetect', '-g']),
    (3, 'gateway', None, ['-i', '3', '-gateway', '-g']),
    (3, 'tls', None, ['-i', '3', '-tls', '-g']),
    (3, 'lldp', None, ['-i', '3', '-lldp', '-g']),
    (3, 'ping', '29.1.137.205', ['-i', '3', '-ping', '-g', 'address', '29.1.137.205']),
])
def test_command_args(device, check, address, args):
    assert hccn_tool.command_args(device, check, address) == args


def test_command_args_rejects():
    with pytest.raises(ValueError, match='unknown hccn_tool check'):
        hccn_tool.command_args(0, 'stat')
    with pytest.raises(ValueError, match='needs an address'):
        hccn_tool.command_args(0, 'ping')


def test_parse_check_dispatches():
    assert hccn_tool.parse_check('link', 'link status: UP\n') == {'link': 'UP', 'errors': []}
    assert hccn_tool.parse_check('ping', '1 packets transmitted, 1 received, 0.00% packet loss\n')['ok'] is True
    with pytest.raises(ValueError):
        hccn_tool.parse_check('optical', '')


def _device(number, **values):
    device = {'device': number, 'ip': '10.0.0.%d' % (10 + number), 'link': 'UP', 'net_health': 'Success',
              'netdetect': '10.0.0.1', 'gateway': '10.0.0.1', 'tls_switch': 0, 'lldp_ifname': '400GE1/1/5:1',
              'pings': [], 'errors': []}
    device.update(values)
    return device


def test_evaluate_all_good():
    ping = {'address': '10.0.1.10', 'transmitted': 3, 'received': 3, 'loss_pct': 0.0, 'ok': True}
    devices = [_device(0), _device(1, pings=[ping])]
    assert hccn_tool.evaluate(devices, hccn_tool.CHECKS) == ([], {0: [], 1: []})


def test_evaluate_names_device_check_and_tool_message():
    devices = [
        _device(0, ip=None, errors=['hccn_tool -i 0 -ip -g: Get ipconf failed, because no ip was preset there!']),
        _device(1, link='DOWN', net_health='Socket fail'),
        _device(2, pings=[{'address': '10.0.1.12', 'transmitted': 3, 'received': 0, 'loss_pct': 100.0, 'ok': False}]),
    ]
    problems, failed = hccn_tool.evaluate(devices, hccn_tool.CHECKS)
    assert failed == {0: ['ip'], 1: ['link', 'net_health'], 2: ['ping']}
    assert problems == [
        'device 0: no device IP (hccn_tool -ip -g); Get ipconf failed, because no ip was preset there!',
        'device 1: link is DOWN, expected UP (try: hccn_tool -i 1 -cfg recovery)',
        'device 1: net health is Socket fail, expected Success',
        'device 2: ping 10.0.1.12 failed (0/3 received, 100.0% loss)',
    ]


def test_evaluate_only_requested_checks():
    devices = [_device(0, lldp_ifname=None, gateway=None)]
    assert hccn_tool.evaluate(devices, ['ip', 'link']) == ([], {0: []})
    assert hccn_tool.evaluate(devices, ['lldp'])[1] == {0: ['lldp']}


def test_evaluate_tls_must_match_across_devices():
    devices = [_device(0, tls_switch=0), _device(1, tls_switch=1), _device(2, tls_switch=0)]
    problems, failed = hccn_tool.evaluate(devices, ['tls'])
    assert failed == {0: ['tls'], 1: ['tls'], 2: ['tls']}
    assert problems == ['TLS switch differs between devices (switch 0 on devices 0, 2; switch 1 on devices 1): '
                        'set the same value on every device (hccn_tool -i N -tls -s enable 0|1)']
    # Not checked when tls is not requested.
    assert hccn_tool.evaluate(devices, ['link']) == ([], {0: [], 1: [], 2: []})
