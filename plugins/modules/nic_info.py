#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nic_info
short_description: List the host's network interfaces and pick the one to use
version_added: 0.1.0
description:
  - Reads the host's network interfaces from the kernel with C(ip -j addr show) and returns them
    under RV(nic_info.interfaces).
  - When C(ip) is missing or too old for C(-j), falls back to C(/sys/class/net),
    C(/proc/net/if_inet6) and the kernel's primary IPv4 address of each interface.
  - Optionally chooses one interface (RV(nic_info.selected)), for example the one to use for
    C(HCCL_SOCKET_IFNAME), C(GLOO_SOCKET_IFNAME) and the data-parallel address, by the peer it must
    reach (O(peer)), by network (O(cidr)) or by name (O(name)).
  - Loopback and container or virtual bridges (C(docker*), C(podman*), C(cni*), C(virbr*), C(br-*),
    C(veth*), C(cali*), C(flannel*), C(cilium*), C(kube-ipvs*)) are never chosen unless named exactly.
  - Fails, listing every interface and its addresses, when no interface or more than one matches.
  - Never changes anything on the node.
author:
  - ascend.serving contributors (@ascend-serving)
options:
  peer:
    description:
      - Choose the interface and source address the kernel uses to reach this address
        (C(ip route get)); if it is an address of this host, the interface holding it.
      - A host name is resolved on the managed node first.
    type: str
  cidr:
    description:
      - Choose the one interface with an address inside this network, for example C(10.20.0.0/24).
    type: str
  name:
    description:
      - Choose the interface with exactly this name, or the one interface matching this shell glob
        (for example C(enp189s0f*)).
    type: str
  ip_path:
    description:
      - Path of the C(ip) binary (iproute2). By default it is looked up on E(PATH), C(/sbin) and
        C(/usr/sbin).
    type: path
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same commands in check mode.
  diff_mode:
    support: none
    description: Returns no diff.
notes:
  - Without C(ip -j) only the primary IPv4 address of each interface is known, and a peer's route is
    found by asking the kernel which source address a UDP socket to that peer would use.
seealso:
  - module: ascend.serving.hccn_info
"""

EXAMPLES = r"""
- name: List interfaces
  ascend.serving.nic_info:
  register: nics

- name: The interface this node uses to reach the head node
  ascend.serving.nic_info:
    peer: "{{ hostvars[groups['head'][0]].ansible_host }}"
  register: nic

- name: Use it for HCCL and GLOO
  ansible.builtin.set_fact:
    serving_socket_ifname: "{{ nic.nic_info.selected.name }}"
    serving_node_ip: "{{ nic.nic_info.selected.address }}"

- name: The interface on the storage network
  ascend.serving.nic_info:
    cidr: 10.20.0.0/24
"""

RETURN = r"""
nic_info:
  description: The host's interfaces and, when asked, the chosen one.
  returned: success
  type: dict
  contains:
    source:
      description: Where the data came from, C(ip) (C(ip -j addr show)) or C(sysfs) (fallback).
      type: str
      sample: ip
    interfaces:
      description: Every interface, in kernel order.
      type: list
      elements: dict
      contains:
        name:
          description: Interface name.
          type: str
        mac:
          description: Link-layer address.
          type: str
        mtu:
          description: MTU in bytes.
          type: int
        up:
          description: Administratively up and with carrier.
          type: bool
        operstate:
          description: Kernel operational state (C(UP), C(DOWN), C(UNKNOWN), ...).
          type: str
        link_type:
          description: Link type (C(ether), C(loopback), ...); null when unknown.
          type: str
        ipv4:
          description: IPv4 addresses.
          type: list
          elements: dict
          contains:
            address:
              description: The address.
              type: str
            prefixlen:
              description: Prefix length.
              type: int
            network:
              description: The network in CIDR notation.
              type: str
            scope:
              description: Address scope (C(global), C(link), C(host)).
              type: str
        ipv6:
          description: IPv6 addresses, same keys as RV(nic_info.interfaces[].ipv4).
          type: list
          elements: dict
      sample:
        - name: enp189s0f0
          mac: "9c:52:f8:41:0a:10"
          mtu: 1500
          up: true
          operstate: UP
          link_type: ether
          ipv4:
            - address: 10.20.0.11
              prefixlen: 24
              network: 10.20.0.0/24
              scope: global
          ipv6: []
    selected:
      description: The chosen interface; null unless O(peer), O(cidr) or O(name) is given.
      type: dict
      contains:
        name:
          description: Interface name.
          type: str
        address:
          description: The address to use on it (the kernel's source address for O(peer)).
          type: str
        prefixlen:
          description: Prefix length of that address; null if the address is not on the interface.
          type: int
        reason:
          description: Why this interface was chosen.
          type: str
      sample:
        name: enp189s0f0
        address: 10.20.0.11
        prefixlen: 24
        reason: the kernel routes 10.20.0.12 out of enp189s0f0 with source 10.20.0.11
"""

import ipaddress
import os
import socket
import struct

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.ascend.serving.plugins.module_utils import nic
from ansible_collections.ascend.serving.plugins.module_utils.tool import Runner, ToolError, ToolFailed, ToolMissing

SYS_NET = '/sys/class/net'
IF_INET6 = '/proc/net/if_inet6'
SIOCGIFADDR = 0x8915
SIOCGIFNETMASK = 0x891b
IFF_UP = 0x1
ARPHRD_ETHER = 1
ARPHRD_LOOPBACK = 772


def read_with_ip(module, runner, ip_bin):
    """Interfaces from ``ip -j addr show``; None when this ip cannot print JSON."""
    try:
        return runner.run([ip_bin, '-j', 'addr', 'show'], nic.parse_ip_addr_json, check=False).parsed
    except ToolError as exc:
        module.fail_json(msg=exc.msg, **exc.details)


def _read(path, default=None):
    try:
        with open(path, 'r') as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return default


def _primary_ipv4(name):
    """The kernel's primary IPv4 address of ``name`` as ``[(address, prefixlen)]``, or []."""
    import fcntl  # Linux only, and only needed on this fallback path.

    request = struct.pack('256s', name[:15].encode())
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        address = socket.inet_ntoa(fcntl.ioctl(sock.fileno(), SIOCGIFADDR, request)[20:24])
        mask = socket.inet_ntoa(fcntl.ioctl(sock.fileno(), SIOCGIFNETMASK, request)[20:24])
    except (IOError, OSError):
        return []
    finally:
        sock.close()
    prefixlen = bin(struct.unpack('!I', socket.inet_aton(mask))[0]).count('1')
    return [(address, prefixlen)]


def read_sysfs(module):
    """Interfaces from /sys/class/net, /proc/net/if_inet6 and SIOCGIFADDR (no iproute2)."""
    try:
        names = os.listdir(SYS_NET)
    except OSError as exc:
        module.fail_json(msg='ip -j addr show is unavailable and %s cannot be read: %s' % (SYS_NET, to_native(exc)))
    inet6_text = _read(IF_INET6, '')
    try:
        inet6 = nic.parse_if_inet6(inet6_text)
    except nic.ParseError as exc:
        module.fail_json(msg='cannot parse %s: %s' % (IF_INET6, exc), offending_line=exc.line)

    def ifindex(name):
        try:
            return int(_read(os.path.join(SYS_NET, name, 'ifindex'), '0'))
        except ValueError:
            return 0

    interfaces = []
    for name in sorted(names, key=lambda n: (ifindex(n), n)):
        base = os.path.join(SYS_NET, name)
        try:
            flags = int(_read(os.path.join(base, 'flags'), '0'), 16)
            mtu = int(_read(os.path.join(base, 'mtu'), '0')) or None
            link = int(_read(os.path.join(base, 'type'), '-1'))
        except ValueError as exc:
            module.fail_json(msg='unexpected content under %s: %s' % (base, to_native(exc)))
        # Reading carrier fails with EINVAL on an interface that is down.
        carrier = _read(os.path.join(base, 'carrier'), '0')
        operstate = (_read(os.path.join(base, 'operstate'), '') or 'unknown').upper()
        link_type = {ARPHRD_ETHER: 'ether', ARPHRD_LOOPBACK: 'loopback'}.get(link)
        interfaces.append(nic.make_interface(
            name,
            mac=_read(os.path.join(base, 'address')) or None,
            mtu=mtu,
            up=bool(flags & IFF_UP) and carrier == '1',
            operstate=operstate,
            link_type=link_type,
            ipv4=_primary_ipv4(name),
            ipv6=inet6.get(name, []),
        ))
    return interfaces


def resolve(module, peer):
    """``peer`` as an IP address string; host names are resolved (IPv4 preferred)."""
    try:
        return str(ipaddress.ip_address(peer.strip()))
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(peer, None, 0, socket.SOCK_DGRAM)
    except socket.gaierror as exc:
        module.fail_json(msg='peer %s is neither an IP address nor a resolvable host name: %s' % (peer, exc))
    infos.sort(key=lambda info: 0 if info[0] == socket.AF_INET else 1)
    return infos[0][4][0]


def route_to(module, runner, ip_bin, peer_ip):
    """``(route, error)`` for ``peer_ip``: from ``ip -j route get``, else from a UDP socket."""
    if ip_bin:
        try:
            return runner.run([ip_bin, '-j', 'route', 'get', peer_ip], nic.parse_route_get_json).parsed, None
        except ToolFailed as exc:
            return None, exc.msg
        except ToolError as exc:
            module.fail_json(msg=exc.msg, **exc.details)
    family = socket.AF_INET6 if ':' in peer_ip else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.connect((peer_ip, 9))  # UDP connect sends nothing; it only picks the route.
        source = sock.getsockname()[0]
    except (IOError, OSError) as exc:
        return None, 'no route to %s: %s' % (peer_ip, to_native(exc))
    finally:
        sock.close()
    return {'dst': peer_ip, 'dev': None, 'prefsrc': source, 'gateway': None, 'type': 'unicast'}, None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            peer=dict(type='str'),
            cidr=dict(type='str'),
            name=dict(type='str'),
            ip_path=dict(type='path'),
        ),
        mutually_exclusive=[('peer', 'cidr', 'name')],
        supports_check_mode=True,
    )
    params = module.params
    runner = Runner.for_module(module)
    try:
        ip_bin = runner.find('ip', params['ip_path'], 'ip_path')
    except ToolMissing:
        ip_bin = None
    except ToolError as exc:
        module.fail_json(msg=exc.msg)

    interfaces = read_with_ip(module, runner, ip_bin) if ip_bin else None
    source = 'ip'
    if interfaces is None:
        interfaces, source, ip_bin = read_sysfs(module), 'sysfs', None

    selected = None
    try:
        if params['peer']:
            peer_ip = resolve(module, params['peer'])
            route, route_error = route_to(module, runner, ip_bin, peer_ip)
            try:
                selected = nic.select_by_peer(interfaces, peer_ip, route)
            except nic.SelectionError as exc:
                if route_error:
                    raise nic.SelectionError('%s\n(%s)' % (exc, route_error))
                raise
        elif params['cidr']:
            selected = nic.select_by_cidr(interfaces, params['cidr'])
        elif params['name']:
            selected = nic.select_by_name(interfaces, params['name'])
    except nic.SelectionError as exc:
        module.fail_json(msg=to_native(exc), interfaces=interfaces)

    module.exit_json(changed=False, nic_info={'source': source, 'interfaces': interfaces, 'selected': selected})


if __name__ == '__main__':
    main()
