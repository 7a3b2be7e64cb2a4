# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nic_info with run_command, get_bin_path, /sys and sockets replaced by fakes.

The ``ip -j`` outputs are the SYNTHETIC samples of tests/unit/fixtures/nic.
"""

from __future__ import annotations

import os
import socket

import pytest

from ansible_collections.ascend.serving.plugins.modules import nic_info
from ansible_collections.ascend.serving.tests.unit.plugins.modules.utils import FakeRunner, run_module

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'fixtures', 'nic')
IP = '/usr/sbin/ip'


def read(name):
    with open(os.path.join(FIXTURES, name), 'r') as handle:
        return handle.read()


HOST = read('ip-addr-show-a2-host.json')


def runner(table):
    def answer(argv):
        if tuple(argv) not in table:
            raise AssertionError('unexpected command %r' % argv)
        return table[tuple(argv)]
    return FakeRunner(answer)


def run(args, table, ip=IP):
    return run_module(nic_info.main, args, runner(table), {'ip': ip})


def test_lists_interfaces_without_choosing():
    failed, result, calls = run({}, {(IP, '-j', 'addr', 'show'): (0, HOST, '')})
    assert not failed
    assert result['changed'] is False
    info = result['nic_info']
    assert info['source'] == 'ip'
    assert info['selected'] is None
    assert [i['name'] for i in info['interfaces']] == [
        'lo', 'enp189s0f0', 'enp189s0f1', 'enp61s0f0', 'enp61s0f1', 'bond0', 'virbr0', 'docker0', 'veth3c1f2aa',
        'br-5f1e2d3c4b5a']
    assert calls.calls == [[IP, '-j', 'addr', 'show']]
    assert calls.environ[0]['LC_ALL'] == 'C'


def test_peer_uses_the_kernel_route():
    failed, result, calls = run({'peer': '10.40.0.9'}, {
        (IP, '-j', 'addr', 'show'): (0, HOST, ''),
        (IP, '-j', 'route', 'get', '10.40.0.9'): (0, read('route-get-via-gateway.json'), ''),
    })
    assert not failed
    assert result['nic_info']['selected'] == {
        'name': 'enp189s0f0', 'address': '10.20.0.11', 'prefixlen': 24,
        'reason': 'the kernel routes 10.40.0.9 out of enp189s0f0 via gateway 10.20.0.1 with source 10.20.0.11'}


def test_peer_that_is_this_host():
    failed, result, _calls = run({'peer': '10.20.0.11'}, {
        (IP, '-j', 'addr', 'show'): (0, HOST, ''),
        (IP, '-j', 'route', 'get', '10.20.0.11'): (0, read('route-get-local.json'), ''),
    })
    assert not failed
    assert result['nic_info']['selected']['name'] == 'enp189s0f0'
    assert result['nic_info']['selected']['reason'] == '10.20.0.11 is an address of enp189s0f0 on this host'


def test_peer_host_name_is_resolved(monkeypatch):
    def getaddrinfo(host, port, family=0, kind=0):
        assert host == 'worker-1'
        return [(socket.AF_INET6, kind, 17, '', ('2001:db8:20::12', 0, 0, 0)),
                (socket.AF_INET, kind, 17, '', ('10.20.0.12', 0))]

    monkeypatch.setattr(nic_info.socket, 'getaddrinfo', getaddrinfo)
    failed, result, _calls = run({'peer': 'worker-1'}, {
        (IP, '-j', 'addr', 'show'): (0, HOST, ''),
        (IP, '-j', 'route', 'get', '10.20.0.12'): (0, read('route-get-direct.json'), ''),
    })
    assert not failed
    assert result['nic_info']['selected']['address'] == '10.20.0.11'


def test_unresolvable_peer_fails(monkeypatch):
    def getaddrinfo(host, port, family=0, kind=0):
        raise socket.gaierror(-2, 'Name or service not known')

    monkeypatch.setattr(nic_info.socket, 'getaddrinfo', getaddrinfo)
    failed, result, _calls = run({'peer': 'nowhere'}, {(IP, '-j', 'addr', 'show'): (0, HOST, '')})
    assert failed
    assert result['msg'].startswith('peer nowhere is neither an IP address nor a resolvable host name')


def test_unreachable_peer_fails_with_the_kernel_message():
    failed, result, _calls = run({'peer': '10.99.0.1'}, {
        (IP, '-j', 'addr', 'show'): (0, HOST, ''),
        (IP, '-j', 'route', 'get', '10.99.0.1'): (2, '', 'RTNETLINK answers: Network is unreachable\n'),
    })
    assert failed
    assert result['msg'].startswith('no route to peer 10.99.0.1\nInterfaces on this host:\n')
    assert result['msg'].endswith(
        '(%s -j route get 10.99.0.1 exited with 2: RTNETLINK answers: Network is unreachable)' % IP)
    assert len(result['interfaces']) == 10


def test_peer_behind_docker0_fails():
    failed, result, _calls = run({'peer': '172.17.0.2'}, {
        (IP, '-j', 'addr', 'show'): (0, HOST, ''),
        (IP, '-j', 'route', 'get', '172.17.0.2'): (0, read('route-get-docker0.json'), ''),
    })
    assert failed
    assert 'the route to 172.17.0.2 goes through docker0' in result['msg']
    assert '  docker0 (up, never chosen unless named): 172.17.0.1/16' in result['msg']


@pytest.mark.parametrize('args, selected', [
    ({'cidr': '10.30.0.0/24'}, {'name': 'bond0', 'address': '10.30.0.11', 'prefixlen': 24,
                                'reason': 'bond0 holds 10.30.0.11/24 inside 10.30.0.0/24'}),
    ({'name': 'enp189s0f0'}, {'name': 'enp189s0f0', 'address': '10.20.0.11', 'prefixlen': 24,
                              'reason': 'named enp189s0f0'}),
    ({'name': 'bond*'}, {'name': 'bond0', 'address': '10.30.0.11', 'prefixlen': 24,
                         'reason': 'the only interface matching bond*'}),
])
def test_cidr_and_name(args, selected):
    failed, result, _calls = run(args, {(IP, '-j', 'addr', 'show'): (0, HOST, '')})
    assert not failed
    assert result['nic_info']['selected'] == selected


@pytest.mark.parametrize('args, message', [
    ({'cidr': '10.0.0.0/8'}, 'several interfaces have an address inside 10.0.0.0/8 (enp189s0f0, bond0)'),
    ({'name': 'enp189s0f*'}, "several interfaces match 'enp189s0f*' (enp189s0f0, enp189s0f1)"),
    ({'name': 'docker*'}, "no interface matches 'docker*'"),
    ({'cidr': '172.17.0.0/16'}, 'no interface has an address inside 172.17.0.0/16 (only docker0'),
])
def test_no_or_several_matches_fail_listing_interfaces(args, message):
    failed, result, _calls = run(args, {(IP, '-j', 'addr', 'show'): (0, HOST, '')})
    assert failed
    assert message in result['msg']
    assert '\nInterfaces on this host:\n  lo (up, never chosen unless named): 127.0.0.1/8, ::1/128\n' in result['msg']


def test_options_are_mutually_exclusive():
    failed, result, _calls = run({'peer': '10.20.0.12', 'name': 'eth0'}, {})
    assert failed
    assert 'mutually exclusive' in result['msg']


def test_unparseable_ip_output_fails():
    failed, result, _calls = run({}, {(IP, '-j', 'addr', 'show'): (0, '[{"ifindex": 1}]', '')})
    assert failed
    assert result['msg'].startswith('cannot parse the output of %s -j addr show: ' % IP)
    assert result['offending_line'] == '{"ifindex": 1}'


def test_ip_path_that_does_not_exist_fails(tmp_path):
    failed, result, _calls = run({'ip_path': str(tmp_path / 'ip')}, {})
    assert failed
    assert result['msg'] == 'ip_path %s is not an executable file.' % (tmp_path / 'ip')


def _fake_sysfs(tmp_path, monkeypatch):
    """A /sys/class/net with lo and eth0, /proc/net/if_inet6, and canned SIOCGIFADDR answers."""
    net = tmp_path / 'net'
    for name, values in [
        ('lo', {'ifindex': '1', 'address': '00:00:00:00:00:00', 'mtu': '65536', 'flags': '0x9', 'type': '772',
                'carrier': '1', 'operstate': 'unknown'}),
        ('eth0', {'ifindex': '2', 'address': 'fa:16:3e:12:34:56', 'mtu': '1500', 'flags': '0x1003', 'type': '1',
                  'carrier': '1', 'operstate': 'up'}),
        ('eth1', {'ifindex': '3', 'address': 'fa:16:3e:12:34:57', 'mtu': '1500', 'flags': '0x1002', 'type': '1',
                  'operstate': 'down'}),
    ]:
        (net / name).mkdir(parents=True)
        for key, value in values.items():
            (net / name / key).write_text(value + '\n')
    inet6 = tmp_path / 'if_inet6'
    inet6.write_text('00000000000000000000000000000001 01 80 10 80       lo\n'
                     '20010db8000000000000000000000010 02 40 00 80     eth0\n')
    monkeypatch.setattr(nic_info, 'SYS_NET', str(net))
    monkeypatch.setattr(nic_info, 'IF_INET6', str(inet6))
    monkeypatch.setattr(nic_info, '_primary_ipv4', lambda name: {
        'lo': [('127.0.0.1', 8)], 'eth0': [('192.0.2.10', 24)]}.get(name, []))


def test_falls_back_to_sysfs_without_ip(tmp_path, monkeypatch):
    _fake_sysfs(tmp_path, monkeypatch)
    failed, result, _calls = run({'name': 'eth0'}, {}, ip=None)
    assert not failed, result
    info = result['nic_info']
    assert info['source'] == 'sysfs'
    assert info['interfaces'] == [
        {'name': 'lo', 'mac': '00:00:00:00:00:00', 'mtu': 65536, 'up': True, 'operstate': 'UNKNOWN',
         'link_type': 'loopback',
         'ipv4': [{'address': '127.0.0.1', 'prefixlen': 8, 'network': '127.0.0.0/8', 'scope': 'host'}],
         'ipv6': [{'address': '::1', 'prefixlen': 128, 'network': '::1/128', 'scope': 'host'}]},
        {'name': 'eth0', 'mac': 'fa:16:3e:12:34:56', 'mtu': 1500, 'up': True, 'operstate': 'UP', 'link_type': 'ether',
         'ipv4': [{'address': '192.0.2.10', 'prefixlen': 24, 'network': '192.0.2.0/24', 'scope': 'global'}],
         'ipv6': [{'address': '2001:db8::10', 'prefixlen': 64, 'network': '2001:db8::/64', 'scope': 'global'}]},
        {'name': 'eth1', 'mac': 'fa:16:3e:12:34:57', 'mtu': 1500, 'up': False, 'operstate': 'DOWN',
         'link_type': 'ether', 'ipv4': [], 'ipv6': []},
    ]
    assert info['selected'] == {'name': 'eth0', 'address': '192.0.2.10', 'prefixlen': 24, 'reason': 'named eth0'}


def test_falls_back_to_sysfs_when_ip_has_no_json(tmp_path, monkeypatch):
    _fake_sysfs(tmp_path, monkeypatch)

    class FakeSocket(object):
        def __init__(self, family, kind):
            assert family == socket.AF_INET

        def connect(self, address):
            assert address == ('198.51.100.7', 9)

        def getsockname(self):
            return ('192.0.2.10', 40000)

        def close(self):
            pass

    monkeypatch.setattr(nic_info.socket, 'socket', FakeSocket)
    failed, result, calls = run({'peer': '198.51.100.7'}, {
        (IP, '-j', 'addr', 'show'): (255, '', 'Option "-j" is unknown, try "ip -help".\n'),
    })
    assert not failed, result
    assert result['nic_info']['source'] == 'sysfs'
    assert result['nic_info']['selected'] == {
        'name': 'eth0', 'address': '192.0.2.10', 'prefixlen': 24,
        'reason': 'the kernel routes 198.51.100.7 out of eth0 with source 192.0.2.10'}
    assert calls.calls == [[IP, '-j', 'addr', 'show']]
