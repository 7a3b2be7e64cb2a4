# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers to describe a host's network interfaces and pick one.

Nothing here runs a command or reads a file: the nic_info module feeds in the
JSON printed by ``ip -j addr show`` / ``ip -j route get <peer>`` (or data it
read from /sys and /proc) and gets plain dicts back.

Interface dict::

    {'name': 'enp189s0f0', 'mac': '9c:52:f8:..', 'mtu': 1500, 'up': True,
     'operstate': 'UP', 'link_type': 'ether',
     'ipv4': [{'address': '10.20.0.11', 'prefixlen': 24, 'network': '10.20.0.0/24', 'scope': 'global'}],
     'ipv6': [...]}

Selection (:func:`select_by_peer`, :func:`select_by_cidr`,
:func:`select_by_name`) returns ``{'name', 'address', 'prefixlen', 'reason'}``
or raises :class:`SelectionError` whose message lists every interface and its
addresses.  Loopback and container/virtual bridges (see
:data:`EXCLUDED_PATTERNS`) are never chosen unless named exactly.

Uses only the standard library (``ipaddress`` for address arithmetic), so it
runs on any managed node with Python 3.8+.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
from ansible_collections.ascend.serving.plugins.module_utils._parse import ParseError

__all__ = [
    'EXCLUDED_PATTERNS',
    'ParseError',
    'SelectionError',
    'describe_interfaces',
    'is_excluded',
    'make_interface',
    'parse_if_inet6',
    'parse_ip_addr_json',
    'parse_route_get_json',
    'select_by_cidr',
    'select_by_name',
    'select_by_peer',
]

#: Interfaces that carry container, VM or overlay traffic: never picked
#: unless the user names them exactly.  Loopback is excluded as well.
EXCLUDED_PATTERNS = ('docker*', 'podman*', 'cni*', 'virbr*', 'br-*', 'veth*',
                     'cali*', 'flannel*', 'cilium*', 'kube-ipvs*')

_IPV6_SCOPES = {0x00: 'global', 0x10: 'host', 0x20: 'link', 0x40: 'site'}


class SelectionError(ValueError):
    """No interface, or more than one, matches the request."""


def _address_entry(address, prefixlen, scope=None):
    iface = ipaddress.ip_interface('%s/%d' % (address, prefixlen))
    if scope is None:
        scope = 'host' if iface.ip.is_loopback else ('link' if iface.ip.is_link_local else 'global')
    return {
        'address': str(iface.ip),
        'prefixlen': int(prefixlen),
        'network': str(iface.network),
        'scope': scope,
    }


def make_interface(name, mac=None, mtu=None, up=False, operstate=None, link_type=None, ipv4=(), ipv6=()):
    """Build an interface dict; ``ipv4``/``ipv6`` are ``(address, prefixlen[, scope])`` tuples."""
    try:
        return {
            'name': name,
            'mac': mac,
            'mtu': mtu,
            'up': bool(up),
            'operstate': operstate,
            'link_type': link_type,
            'ipv4': [_address_entry(*entry) for entry in ipv4],
            'ipv6': [_address_entry(*entry) for entry in ipv6],
        }
    except ValueError as exc:
        raise ParseError('bad address on interface %s: %s' % (name, exc))


def _json(text, command):
    if not text or not text.strip():
        raise ParseError('%s printed nothing' % command)
    try:
        return json.loads(text)
    except ValueError as exc:
        lineno = getattr(exc, 'lineno', None)
        lines = text.splitlines()
        line = lines[lineno - 1] if lineno and lineno <= len(lines) else text[:200]
        raise ParseError('%s did not print valid JSON (%s)' % (command, getattr(exc, 'msg', exc)), line, lineno)


def parse_ip_addr_json(text):
    """Parse ``ip -j addr show`` into a list of interface dicts (kernel order).

    ``up`` is True when the interface is administratively up and has
    carrier (flags ``UP`` and ``LOWER_UP``).  Empty objects, which some
    iproute2 releases print for filtered entries, are skipped; address
    families other than inet/inet6 are ignored.
    """
    data = _json(text, 'ip -j addr show')
    if not isinstance(data, list):
        raise ParseError('ip -j addr show did not print a JSON list', text[:200])
    interfaces = []
    for entry in data:
        if not isinstance(entry, dict):
            raise ParseError('an ip -j addr show entry is not an object', json.dumps(entry)[:200])
        if not entry:
            continue
        name = entry.get('ifname')
        if not isinstance(name, str) or not name:
            raise ParseError('an ip -j addr show entry has no ifname', json.dumps(entry)[:200])
        flags = entry.get('flags') or []
        ipv4, ipv6 = [], []
        for info in entry.get('addr_info') or []:
            if not info:
                continue
            family = info.get('family')
            if family not in ('inet', 'inet6'):
                continue
            if 'local' not in info or not isinstance(info.get('prefixlen'), int):
                raise ParseError('address of %s lacks local/prefixlen' % name, json.dumps(info)[:200])
            item = (info['local'], info['prefixlen'], info.get('scope'))
            (ipv4 if family == 'inet' else ipv6).append(item)
        mtu = entry.get('mtu')
        interfaces.append(make_interface(
            name,
            mac=entry.get('address'),
            mtu=mtu if isinstance(mtu, int) else None,
            up='UP' in flags and 'LOWER_UP' in flags,
            operstate=entry.get('operstate'),
            link_type=entry.get('link_type'),
            ipv4=ipv4,
            ipv6=ipv6,
        ))
    return interfaces


def parse_route_get_json(text):
    """Parse ``ip -j route get <address>`` -> ``{'dst', 'dev', 'prefsrc', 'gateway', 'type'}``.

    ``type`` is ``'local'`` when the address belongs to this host, else
    ``'unicast'`` (or whatever the kernel reports).
    """
    data = _json(text, 'ip -j route get')
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        raise ParseError('ip -j route get did not print a list holding a route', text[:200])
    route = data[0]
    if not route.get('dev'):
        raise ParseError('the route has no dev', json.dumps(route)[:200])
    return {
        'dst': route.get('dst'),
        'dev': route.get('dev'),
        'prefsrc': route.get('prefsrc'),
        'gateway': route.get('gateway'),
        'type': route.get('type', 'unicast'),
    }


def parse_if_inet6(text):
    """Parse ``/proc/net/if_inet6`` -> ``{ifname: [(address, prefixlen, scope), ...]}``.

    Used by nic_info when ``ip -j`` is not available.
    """
    result = {}
    for lineno, line in enumerate((text or '').splitlines(), 1):
        if not line.strip():
            continue
        words = line.split()
        if len(words) != 6 or len(words[0]) != 32:
            raise ParseError('expected "<32 hex digits> <ifindex> <prefixlen> <scope> <flags> <name>"', line, lineno)
        try:
            address = str(ipaddress.IPv6Address(int(words[0], 16)))
            prefixlen = int(words[2], 16)
            scope = _IPV6_SCOPES.get(int(words[3], 16) & 0xf0, 'global')
        except ValueError:
            raise ParseError('not hexadecimal', line, lineno)
        result.setdefault(words[5], []).append((address, prefixlen, scope))
    return result


def is_excluded(iface):
    """Loopback and container/VM bridges: never chosen unless named exactly."""
    if iface.get('link_type') == 'loopback' or iface['name'] == 'lo':
        return True
    return any(fnmatch.fnmatchcase(iface['name'], pattern) for pattern in EXCLUDED_PATTERNS)


def describe_interfaces(interfaces):
    """One line per interface with its state and addresses, for error messages."""
    lines = []
    for iface in interfaces:
        addresses = ['%s/%d' % (a['address'], a['prefixlen']) for a in iface['ipv4'] + iface['ipv6']]
        notes = ['up' if iface['up'] else 'down']
        if is_excluded(iface):
            notes.append('never chosen unless named')
        lines.append('  %s (%s): %s' % (iface['name'], ', '.join(notes), ', '.join(addresses) or 'no address'))
    return '\n'.join(lines) if lines else '  (none)'


def _fail(message, interfaces):
    raise SelectionError('%s\nInterfaces on this host:\n%s' % (message, describe_interfaces(interfaces)))


def _primary(iface, version=None):
    """The address to report for ``iface``.

    The first global IPv4 address, else the first global IPv6 address (IPv6
    first when ``version`` is 6), else any IPv4 address (``127.0.0.1`` on a
    loopback named on purpose).  Link-local IPv6 addresses are never used:
    they are useless without a scope id.
    """
    families = [iface['ipv4'], iface['ipv6']]
    if version == 6:
        families.reverse()
    for family in families:
        for entry in family:
            if entry['scope'] in ('global', 'site'):
                return entry
    return iface['ipv4'][0] if iface['ipv4'] else None


def _selected(iface, address, reason):
    prefixlen = None
    for entry in iface['ipv4'] + iface['ipv6']:
        if entry['address'] == address:
            prefixlen = entry['prefixlen']
            break
    return {'name': iface['name'], 'address': address, 'prefixlen': prefixlen, 'reason': reason}


def select_by_peer(interfaces, peer, route=None):
    """The interface and source address this host uses to reach ``peer``.

    If ``peer`` is an address of this host, the interface holding it.
    Otherwise ``route`` (from :func:`parse_route_get_json`, or
    ``{'dev': None, 'prefsrc': <source address>}`` when nic_info had to ask
    the kernel through a socket) decides.
    """
    try:
        peer_ip = ipaddress.ip_address(peer)
    except ValueError:
        raise SelectionError('peer %r is not an IP address' % (peer,))

    holders = []
    for iface in interfaces:
        for entry in iface['ipv4'] + iface['ipv6']:
            if ipaddress.ip_address(entry['address']) == peer_ip:
                holders.append(iface)
                break
    if len(holders) > 1:
        _fail('peer %s is an address of several interfaces (%s); choose by name instead'
              % (peer, ', '.join(i['name'] for i in holders)), interfaces)
    if holders:
        iface = holders[0]
        if is_excluded(iface):
            _fail('peer %s is an address of %s, a loopback or container interface that is never chosen; '
                  'give the address of a real NIC or choose by name' % (peer, iface['name']), interfaces)
        return _selected(iface, str(peer_ip), '%s is an address of %s on this host' % (peer, iface['name']))

    if not route:
        _fail('no route to peer %s' % peer, interfaces)
    by_name = dict((i['name'], i) for i in interfaces)
    dev = route.get('dev')
    source = route.get('prefsrc')
    if not dev and source:
        for iface in interfaces:
            if any(e['address'] == source for e in iface['ipv4'] + iface['ipv6']):
                dev = iface['name']
                break
    if not dev:
        _fail('the kernel gave no interface for peer %s (source %s)' % (peer, source), interfaces)
    iface = by_name.get(dev)
    if iface is None:
        _fail('the route to %s uses %s, which is not among the interfaces listed' % (peer, dev), interfaces)
    if is_excluded(iface):
        _fail('the route to %s goes through %s, a loopback or container interface that is never chosen; '
              'fix the routing or choose by name' % (peer, dev), interfaces)
    if not source:
        entry = _primary(iface, peer_ip.version)
        if entry is None:
            _fail('the route to %s uses %s, which has no address' % (peer, dev), interfaces)
        source = entry['address']
    via = ' via gateway %s' % route['gateway'] if route.get('gateway') else ''
    return _selected(iface, source, 'the kernel routes %s out of %s%s with source %s' % (peer, dev, via, source))


def select_by_cidr(interfaces, cidr):
    """The one interface (not loopback or a container bridge) with an address inside ``cidr``."""
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise SelectionError('cidr %r is not a network such as 10.20.0.0/24' % (cidr,))
    matches = []
    excluded = []
    for iface in interfaces:
        inside = [e for e in iface['ipv4'] + iface['ipv6']
                  if ipaddress.ip_address(e['address']) in network]
        if not inside:
            continue
        if is_excluded(iface):
            excluded.append(iface['name'])
        else:
            matches.append((iface, inside[0]))
    if len(matches) == 1:
        iface, entry = matches[0]
        return _selected(iface, entry['address'], '%s holds %s/%d inside %s' % (
            iface['name'], entry['address'], entry['prefixlen'], network))
    if not matches:
        extra = ' (only %s, never chosen unless named)' % ', '.join(excluded) if excluded else ''
        _fail('no interface has an address inside %s%s' % (network, extra), interfaces)
    _fail('several interfaces have an address inside %s (%s); give a narrower cidr or choose by name'
          % (network, ', '.join(i['name'] for i, _e in matches)), interfaces)


def select_by_name(interfaces, pattern):
    """The interface named ``pattern`` exactly, else the one non-excluded interface matching the glob."""
    exact = [i for i in interfaces if i['name'] == pattern]
    if exact:
        iface = exact[0]
        reason = 'named %s' % pattern
    else:
        matches = [i for i in interfaces if fnmatch.fnmatchcase(i['name'], pattern) and not is_excluded(i)]
        if not matches:
            _fail('no interface matches %r (loopback and container interfaces match only when named exactly)'
                  % pattern, interfaces)
        if len(matches) > 1:
            _fail('several interfaces match %r (%s); give a more precise name'
                  % (pattern, ', '.join(i['name'] for i in matches)), interfaces)
        iface = matches[0]
        reason = 'the only interface matching %s' % pattern
    entry = _primary(iface)
    if entry is None:
        _fail('interface %s has no IPv4 or global IPv6 address' % iface['name'], interfaces)
    return _selected(iface, entry['address'], reason)
