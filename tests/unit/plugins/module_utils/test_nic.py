# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests of the interface parsers and the interface choice.

The inputs in tests/unit/fixtures/nic/ are SYNTHETIC (see the README there):
written by hand in the shape ``ip -j`` prints.
"""

from __future__ import annotations

import os

import pytest

from ansible_collections.ascend.serving.plugins.module_utils import nic
from ansible_collections.ascend.serving.plugins.module_utils.nic import ParseError, SelectionError

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'fixtures', 'nic')


def read(name):
    with open(os.path.join(FIXTURES, name), 'r') as handle:
        return handle.read()


def a(address, prefixlen, network, scope='global'):
    return {'address': address, 'prefixlen': prefixlen, 'network': network, 'scope': scope}


def iface(name, mac, mtu, up, operstate, link_type='ether', ipv4=(), ipv6=()):
    return {'name': name, 'mac': mac, 'mtu': mtu, 'up': up, 'operstate': operstate, 'link_type': link_type,
            'ipv4': list(ipv4), 'ipv6': list(ipv6)}


A2_HOST = [
    iface('lo', '00:00:00:00:00:00', 65536, True, 'UNKNOWN', 'loopback',
          [a('127.0.0.1', 8, '127.0.0.0/8', 'host')], [a('::1', 128, '::1/128', 'host')]),
    iface('enp189s0f0', '9c:52:f8:41:0a:10', 1500, True, 'UP', 'ether',
          [a('10.20.0.11', 24, '10.20.0.0/24'), a('10.20.0.100', 24, '10.20.0.0/24')],
          [a('2001:db8:20::11', 64, '2001:db8:20::/64'), a('fe80::9e52:f8ff:fe41:a10', 64, 'fe80::/64', 'link')]),
    iface('enp189s0f1', '9c:52:f8:41:0a:11', 1500, False, 'DOWN'),
    iface('enp61s0f0', '9c:52:f8:41:3d:00', 9000, True, 'UP'),
    iface('enp61s0f1', '9c:52:f8:41:3d:00', 9000, True, 'UP'),
    iface('bond0', '9c:52:f8:41:3d:00', 9000, True, 'UP', 'ether',
          [a('10.30.0.11', 24, '10.30.0.0/24')], [a('fe80::9e52:f8ff:fe41:3d00', 64, 'fe80::/64', 'link')]),
    iface('virbr0', '52:54:00:8a:1c:3e', 1500, False, 'DOWN', 'ether', [a('192.168.122.1', 24, '192.168.122.0/24')]),
    iface('docker0', '02:42:5c:1e:90:7b', 1500, True, 'UP', 'ether',
          [a('172.17.0.1', 16, '172.17.0.0/16')], [a('fe80::42:5cff:fe1e:907b', 64, 'fe80::/64', 'link')]),
    iface('veth3c1f2aa', '6a:1d:0e:7f:22:91', 1500, True, 'UP', 'ether', [],
          [a('fe80::681d:eff:fe7f:2291', 64, 'fe80::/64', 'link')]),
    iface('br-5f1e2d3c4b5a', '02:42:a7:33:10:02', 1500, False, 'DOWN', 'ether', [a('172.18.0.1', 16, '172.18.0.0/16')]),
]


@pytest.fixture
def host():
    return nic.parse_ip_addr_json(read('ip-addr-show-a2-host.json'))


# --------------------------------------------------------------------------- parsing

def test_parse_ip_addr_json_host(host):
    assert host == A2_HOST


def test_parse_ip_addr_json_container():
    assert nic.parse_ip_addr_json(read('ip-addr-show-container.json')) == [
        A2_HOST[0],
        iface('eth0', '02:42:ac:11:00:05', 1500, True, 'UP', 'ether', [a('172.17.0.5', 16, '172.17.0.0/16')]),
    ]


def test_parse_ip_addr_json_skips_empty_objects():
    interfaces = nic.parse_ip_addr_json(read('ip-addr-show-empty-objects.json'))
    assert [(i['name'], [x['address'] for x in i['ipv4']]) for i in interfaces] == [
        ('lo', ['127.0.0.1']), ('eth0', ['192.0.2.10'])]


@pytest.mark.parametrize('text, message, line', [
    pytest.param('', 'printed nothing', None, id='empty'),
    pytest.param('Option "-j" is unknown, try "ip -help".\n', 'did not print valid JSON',
                 'Option "-j" is unknown, try "ip -help".', id='old-iproute2'),
    pytest.param('[\n{"ifname": "lo",\n  oops\n]\n', 'did not print valid JSON', '  oops', id='broken-json'),
    pytest.param('{"ifname": "lo"}', 'not print a JSON list', '{"ifname": "lo"}', id='not-a-list'),
    pytest.param('[1]', 'is not an object', '1', id='not-an-object'),
    pytest.param('[{"ifindex": 1}]', 'has no ifname', '{"ifindex": 1}', id='no-ifname'),
    pytest.param('[{"ifname": "eth0", "addr_info": [{"family": "inet", "local": "10.0.0.1"}]}]',
                 'address of eth0 lacks local/prefixlen', '{"family": "inet", "local": "10.0.0.1"}', id='no-prefixlen'),
    pytest.param('[{"ifname": "eth0", "addr_info": [{"family": "inet", "local": "10.0.0.300", "prefixlen": 24}]}]',
                 'bad address on interface eth0', None, id='bad-address'),
])
def test_parse_ip_addr_json_rejects(text, message, line):
    with pytest.raises(ParseError) as caught:
        nic.parse_ip_addr_json(text)
    assert message in str(caught.value)
    assert caught.value.line == line


@pytest.mark.parametrize('name, expected', [
    ('route-get-via-gateway.json',
     {'dst': '10.40.0.9', 'dev': 'enp189s0f0', 'prefsrc': '10.20.0.11', 'gateway': '10.20.0.1', 'type': 'unicast'}),
    ('route-get-direct.json',
     {'dst': '10.20.0.12', 'dev': 'enp189s0f0', 'prefsrc': '10.20.0.11', 'gateway': None, 'type': 'unicast'}),
    ('route-get-local.json',
     {'dst': '10.20.0.11', 'dev': 'lo', 'prefsrc': '10.20.0.11', 'gateway': None, 'type': 'local'}),
    ('route-get-docker0.json',
     {'dst': '172.17.0.2', 'dev': 'docker0', 'prefsrc': '172.17.0.1', 'gateway': None, 'type': 'unicast'}),
    ('route-get-ipv6.json',
     {'dst': '2001:db8:20::12', 'dev': 'enp189s0f0', 'prefsrc': '2001:db8:20::11', 'gateway': None,
      'type': 'unicast'}),
])
def test_parse_route_get_json(name, expected):
    assert nic.parse_route_get_json(read(name)) == expected


@pytest.mark.parametrize('text, message', [
    ('', 'printed nothing'),
    ('[]', 'did not print a list holding a route'),
    ('[{"dst": "10.0.0.1"}]', 'the route has no dev'),
    ('RTNETLINK answers: Network is unreachable', 'did not print valid JSON'),
])
def test_parse_route_get_json_rejects(text, message):
    with pytest.raises(ParseError, match=message):
        nic.parse_route_get_json(text)


def test_parse_if_inet6():
    assert nic.parse_if_inet6(read('proc-net-if_inet6.txt')) == {
        'lo': [('::1', 128, 'host')],
        'enp189s0f0': [('2001:db8:20::11', 64, 'global'), ('fe80::9e52:f8ff:fe41:a10', 64, 'link')],
        'docker0': [('fe80::42:5cff:fe1e:907b', 64, 'link')],
    }


@pytest.mark.parametrize('line', [
    '0000 01 80 10 80 lo',
    'zz000000000000000000000000000001 01 80 10 80 lo',
])
def test_parse_if_inet6_rejects(line):
    with pytest.raises(ParseError) as caught:
        nic.parse_if_inet6(line + '\n')
    assert caught.value.line == line


def test_make_interface_derives_scope_and_network():
    built = nic.make_interface('eth0', '02:00:00:00:00:01', 1500, True, 'UP', 'ether',
                               ipv4=[('192.0.2.10', 24), ('127.0.0.2', 8)], ipv6=[('fe80::1', 64, 'link')])
    assert built == iface('eth0', '02:00:00:00:00:01', 1500, True, 'UP', 'ether',
                          [a('192.0.2.10', 24, '192.0.2.0/24'), a('127.0.0.2', 8, '127.0.0.0/8', 'host')],
                          [a('fe80::1', 64, 'fe80::/64', 'link')])


# --------------------------------------------------------------------------- exclusions

@pytest.mark.parametrize('name, excluded', [
    ('lo', True), ('docker0', True), ('podman1', True), ('cni0', True), ('virbr0', True),
    ('br-5f1e2d3c4b5a', True), ('veth3c1f2aa', True), ('cali12ab', True), ('flannel.1', True),
    ('kube-ipvs0', True), ('eth0', False), ('bond0', False), ('enp189s0f0', False), ('br0', False),
    ('ib0', False),
])
def test_is_excluded(name, excluded):
    assert nic.is_excluded({'name': name, 'link_type': 'ether'}) is excluded


def test_loopback_link_type_is_excluded_whatever_its_name():
    assert nic.is_excluded({'name': 'lo0', 'link_type': 'loopback'})


# --------------------------------------------------------------------------- by peer

@pytest.mark.parametrize('peer, route_file, route, expected', [
    pytest.param('10.40.0.9', 'route-get-via-gateway.json', None,
                 {'name': 'enp189s0f0', 'address': '10.20.0.11', 'prefixlen': 24,
                  'reason': 'the kernel routes 10.40.0.9 out of enp189s0f0 via gateway 10.20.0.1 with source 10.20.0.11'},
                 id='via-gateway'),
    pytest.param('10.20.0.12', 'route-get-direct.json', None,
                 {'name': 'enp189s0f0', 'address': '10.20.0.11', 'prefixlen': 24,
                  'reason': 'the kernel routes 10.20.0.12 out of enp189s0f0 with source 10.20.0.11'},
                 id='same-subnet'),
    pytest.param('10.20.0.11', 'route-get-local.json', None,
                 {'name': 'enp189s0f0', 'address': '10.20.0.11', 'prefixlen': 24,
                  'reason': '10.20.0.11 is an address of enp189s0f0 on this host'},
                 id='own-address-not-lo'),
    pytest.param('10.20.0.100', None, None,
                 {'name': 'enp189s0f0', 'address': '10.20.0.100', 'prefixlen': 24,
                  'reason': '10.20.0.100 is an address of enp189s0f0 on this host'},
                 id='own-secondary-address'),
    pytest.param('2001:db8:20::12', 'route-get-ipv6.json', None,
                 {'name': 'enp189s0f0', 'address': '2001:db8:20::11', 'prefixlen': 64,
                  'reason': 'the kernel routes 2001:db8:20::12 out of enp189s0f0 with source 2001:db8:20::11'},
                 id='ipv6'),
    pytest.param('10.30.5.5', None, {'dev': None, 'prefsrc': '10.30.0.11'},
                 {'name': 'bond0', 'address': '10.30.0.11', 'prefixlen': 24,
                  'reason': 'the kernel routes 10.30.5.5 out of bond0 with source 10.30.0.11'},
                 id='socket-fallback-source-only'),
    pytest.param('10.30.0.99', None, {'dev': 'bond0', 'prefsrc': None},
                 {'name': 'bond0', 'address': '10.30.0.11', 'prefixlen': 24,
                  'reason': 'the kernel routes 10.30.0.99 out of bond0 with source 10.30.0.11'},
                 id='route-without-prefsrc'),
])
def test_select_by_peer(host, peer, route_file, route, expected):
    if route_file:
        route = nic.parse_route_get_json(read(route_file))
    assert nic.select_by_peer(host, peer, route) == expected


@pytest.mark.parametrize('peer, route_file, route, message', [
    pytest.param('172.17.0.2', 'route-get-docker0.json', None, 'goes through docker0', id='via-docker0'),
    pytest.param('172.17.0.1', None, None, 'is an address of docker0', id='docker0-address'),
    pytest.param('127.0.0.1', None, None, 'is an address of lo', id='loopback'),
    pytest.param('10.99.0.1', None, None, 'no route to peer 10.99.0.1', id='no-route'),
    pytest.param('10.99.0.1', None, {'dev': 'ib0', 'prefsrc': '10.99.0.2'}, 'uses ib0, which is not among',
                 id='unknown-dev'),
    pytest.param('10.99.0.1', None, {'dev': None, 'prefsrc': None}, 'gave no interface', id='nothing-known'),
    pytest.param('10.99.0.1', None, {'dev': 'enp189s0f1', 'prefsrc': None}, 'enp189s0f1, which has no address',
                 id='dev-without-address'),
    pytest.param('head-node', None, None, "peer 'head-node' is not an IP address", id='hostname'),
])
def test_select_by_peer_fails(host, peer, route_file, route, message):
    if route_file:
        route = nic.parse_route_get_json(read(route_file))
    with pytest.raises(SelectionError) as caught:
        nic.select_by_peer(host, peer, route)
    assert message in str(caught.value)


def test_select_by_peer_rejects_address_on_two_interfaces(host):
    host[5]['ipv4'].append(a('10.20.0.11', 24, '10.20.0.0/24'))
    with pytest.raises(SelectionError, match=r'several interfaces \(enp189s0f0, bond0\)'):
        nic.select_by_peer(host, '10.20.0.11', None)


def test_selection_error_lists_every_interface(host):
    with pytest.raises(SelectionError) as caught:
        nic.select_by_cidr(host, '10.99.0.0/16')
    lines = str(caught.value).splitlines()
    assert lines[0] == 'no interface has an address inside 10.99.0.0/16'
    assert lines[1] == 'Interfaces on this host:'
    assert lines[2:] == [
        '  lo (up, never chosen unless named): 127.0.0.1/8, ::1/128',
        '  enp189s0f0 (up): 10.20.0.11/24, 10.20.0.100/24, 2001:db8:20::11/64, fe80::9e52:f8ff:fe41:a10/64',
        '  enp189s0f1 (down): no address',
        '  enp61s0f0 (up): no address',
        '  enp61s0f1 (up): no address',
        '  bond0 (up): 10.30.0.11/24, fe80::9e52:f8ff:fe41:3d00/64',
        '  virbr0 (down, never chosen unless named): 192.168.122.1/24',
        '  docker0 (up, never chosen unless named): 172.17.0.1/16, fe80::42:5cff:fe1e:907b/64',
        '  veth3c1f2aa (up, never chosen unless named): fe80::681d:eff:fe7f:2291/64',
        '  br-5f1e2d3c4b5a (down, never chosen unless named): 172.18.0.1/16',
    ]


# --------------------------------------------------------------------------- by cidr

@pytest.mark.parametrize('cidr, expected', [
    ('10.20.0.0/24', {'name': 'enp189s0f0', 'address': '10.20.0.11', 'prefixlen': 24,
                      'reason': 'enp189s0f0 holds 10.20.0.11/24 inside 10.20.0.0/24'}),
    ('10.20.0.5/24', {'name': 'enp189s0f0', 'address': '10.20.0.11', 'prefixlen': 24,
                      'reason': 'enp189s0f0 holds 10.20.0.11/24 inside 10.20.0.0/24'}),
    ('10.30.0.0/16', {'name': 'bond0', 'address': '10.30.0.11', 'prefixlen': 24,
                      'reason': 'bond0 holds 10.30.0.11/24 inside 10.30.0.0/16'}),
    ('10.20.0.100/32', {'name': 'enp189s0f0', 'address': '10.20.0.100', 'prefixlen': 24,
                        'reason': 'enp189s0f0 holds 10.20.0.100/24 inside 10.20.0.100/32'}),
    ('2001:db8:20::/48', {'name': 'enp189s0f0', 'address': '2001:db8:20::11', 'prefixlen': 64,
                          'reason': 'enp189s0f0 holds 2001:db8:20::11/64 inside 2001:db8:20::/48'}),
])
def test_select_by_cidr(host, cidr, expected):
    assert nic.select_by_cidr(host, cidr) == expected


@pytest.mark.parametrize('cidr, message', [
    ('10.0.0.0/8', 'several interfaces have an address inside 10.0.0.0/8 (enp189s0f0, bond0)'),
    ('172.16.0.0/12', 'no interface has an address inside 172.16.0.0/12 (only docker0, br-5f1e2d3c4b5a, '
                      'never chosen unless named)'),
    ('192.168.122.0/24', '(only virbr0, never chosen unless named)'),
    ('127.0.0.0/8', '(only lo, never chosen unless named)'),
    ('10.99.0.0/16', 'no interface has an address inside 10.99.0.0/16\n'),
    ('fe80::/64', 'several interfaces'),
    ('storage-net', "cidr 'storage-net' is not a network"),
])
def test_select_by_cidr_fails(host, cidr, message):
    with pytest.raises(SelectionError) as caught:
        nic.select_by_cidr(host, cidr)
    assert message in str(caught.value)


# --------------------------------------------------------------------------- by name

@pytest.mark.parametrize('pattern, expected', [
    ('bond0', {'name': 'bond0', 'address': '10.30.0.11', 'prefixlen': 24, 'reason': 'named bond0'}),
    ('bond*', {'name': 'bond0', 'address': '10.30.0.11', 'prefixlen': 24,
               'reason': 'the only interface matching bond*'}),
    ('enp189s0f0', {'name': 'enp189s0f0', 'address': '10.20.0.11', 'prefixlen': 24, 'reason': 'named enp189s0f0'}),
    ('docker0', {'name': 'docker0', 'address': '172.17.0.1', 'prefixlen': 16, 'reason': 'named docker0'}),
    ('lo', {'name': 'lo', 'address': '127.0.0.1', 'prefixlen': 8, 'reason': 'named lo'}),
])
def test_select_by_name(host, pattern, expected):
    assert nic.select_by_name(host, pattern) == expected


@pytest.mark.parametrize('pattern, message', [
    ('enp189s0f*', "several interfaces match 'enp189s0f*' (enp189s0f0, enp189s0f1)"),
    ('docker*', "no interface matches 'docker*'"),
    ('veth*', "no interface matches 'veth*'"),
    ('eth9', "no interface matches 'eth9'"),
    ('enp61s0f0', 'interface enp61s0f0 has no IPv4 or global IPv6 address'),
    ('veth3c1f2aa', 'interface veth3c1f2aa has no IPv4 or global IPv6 address'),
])
def test_select_by_name_fails(host, pattern, message):
    with pytest.raises(SelectionError) as caught:
        nic.select_by_name(host, pattern)
    assert message in str(caught.value)
    assert 'Interfaces on this host:' in str(caught.value)


def test_select_by_name_in_container():
    interfaces = nic.parse_ip_addr_json(read('ip-addr-show-container.json'))
    assert nic.select_by_name(interfaces, 'eth*') == {
        'name': 'eth0', 'address': '172.17.0.5', 'prefixlen': 16, 'reason': 'the only interface matching eth*'}
