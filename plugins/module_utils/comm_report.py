# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The multi-node communication report: pure functions from per-node observations to findings.

``comm_check`` gathers, on every node, what ``npu_info``, ``hccn_info`` and ``nic_info`` saw plus
the TCP probes, then hands everything to :func:`build_report` on the controller. The report holds
every finding (nothing stops at the first), each naming the host, the device, the check, what was
observed, what was expected and the likely fix. The fixes are text for the operator: nothing here
(or in the role) runs them.

Per-host input (``hosts[name]``), every key optional except ``role``::

    role: node0 | headless
    npu: npu_info result (product, chips[{npu_id, chip_id, phy_id, health}], healthy)
    hccn: hccn_info result (devices[{device, ip, netmask, link, net_health, netdetect, gateway,
          tls_switch, lldp_ifname, errors}], hccn_conf{device: {key: value}})
    pings: hccn_info devices list of the ping pass ([{device, pings[{address, ok, ...}]}])
    nic: {selected: {name, address}, interfaces: [{name, mtu, up}]}
    tcp: [{name, address, port, ok, error}]      (headless -> node0 probes)
    ports: [{name, port, free, owner}]            (node0: DP RPC / API ports before deploy)
"""

from __future__ import annotations

import ipaddress
import json
import re

REPORT_VERSION = 1

# Finding check -> the hccn_tool option whose message explains it.
_CHECK_FLAGS = {'tls_consistency': 'tls', 'lldp': 'lldp', 'ip': 'ip', 'gateway': 'gateway',
                'netdetect': 'netdetect', 'net_health': 'net_health', 'link': 'link'}

# The per-device checks of hccn_info, assumed when its result does not list them.
DEVICE_CHECKS = ('ip', 'link', 'net_health', 'netdetect', 'gateway', 'tls', 'lldp')

# Every check the report knows, in report order.
CHECKS = (
    'npu_health', 'npu_count', 'link', 'net_health', 'ip', 'gateway', 'netdetect', 'lldp',
    'hccn_conf', 'tool_error', 'tls_consistency', 'subnet_consistency', 'ping', 'nic', 'nic_mtu',
    'tcp', 'port_free',
)


_SS_OWNER = re.compile(r'users:\(\("([^"]+)"')
# A port held by this process name is the deployed service itself, not a conflict.
SERVICE_PROCESS = 'vllm'


def port_states(ss_outputs, ports):
    """node0's port states from ``ss -Hltnp``.

    ss_outputs is either one output listing the listeners of every port (``ss -Hltnp '( sport =
    :P1 or sport = :P2 )'``: each line goes to the port of its local address) or one output per
    port, in the order of ports. Returns [{name, port, free, owner}]: ``owner`` is the listening
    process (None when free); a port held by vLLM itself counts as free (the service is already
    deployed).
    """
    if isinstance(ss_outputs, str):
        by_port = dict((int(port['port']), []) for port in ports)
        for line in ss_outputs.splitlines():
            fields = line.split()
            if len(fields) < 4:
                continue
            local_port = fields[3].rpartition(':')[2]
            if local_port.isdigit() and int(local_port) in by_port:
                by_port[int(local_port)].append(line)
        ss_outputs = ['\n'.join(by_port[int(port['port'])]) for port in ports]
    if len(ss_outputs) != len(ports):
        raise ValueError('%d ss outputs for %d ports' % (len(ss_outputs), len(ports)))
    out = []
    for text, port in zip(ss_outputs, ports):
        owner = None
        for line in (text or '').splitlines():
            if not line.strip():
                continue
            match = _SS_OWNER.search(line)
            owner = match.group(1) if match else 'unknown process'
            break
        out.append({'name': port['name'], 'port': int(port['port']), 'owner': owner,
                    'free': owner is None or owner == SERVICE_PROCESS})
    return out


def tcp_results(wait_results, ports, address):
    """Headless TCP probe results, one per port in the order of ports: the role's probe
    (``{port, ok, error}``) or a registered ``wait_for`` loop (failed_when: false)."""
    if len(wait_results) != len(ports):
        raise ValueError('%d probe results for %d ports' % (len(wait_results), len(ports)))
    out = []
    for res, port in zip(wait_results, ports):
        ok = res.get('ok') is True or res.get('state') == 'started'
        out.append({'name': port['name'], 'address': address, 'port': int(port['port']), 'ok': ok,
                    'error': None if ok else (res.get('error') or res.get('msg') or 'unreachable')})
    return out


def _finding(host, check, observed, expected, fix, device=None, peer=None):
    return {
        'host': host,
        'device': device,
        'check': check,
        'observed': observed,
        'expected': expected,
        'fix': fix,
        'peer': peer,
    }


def _devices(data):
    return (data.get('hccn') or {}).get('devices') or []


def _network(ip, netmask):
    try:
        return str(ipaddress.IPv4Network(u'%s/%s' % (ip, netmask), strict=False))
    except (ValueError, TypeError):
        return None


def _node_findings(host, data, expected_chips):
    out = []
    npu = data.get('npu')
    if npu is not None:
        for chip in npu.get('chips') or []:
            if chip.get('health') != 'OK':
                ident = chip.get('phy_id') if chip.get('phy_id') is not None else chip.get('npu_id')
                out.append(_finding(
                    host, 'npu_health', chip.get('health'), 'OK',
                    'inspect `npu-smi info -t health -i %s -c %s`; the chip needs service before it can serve'
                    % (chip.get('npu_id'), chip.get('chip_id')), device=ident))
        if expected_chips and npu.get('chip_count') != expected_chips:
            out.append(_finding(
                host, 'npu_count', npu.get('chip_count'), expected_chips,
                'the profile expects %s NPU chips on every node; check `npu-smi info` and the '
                'hardware named by the profile' % expected_chips))
    hccn = data.get('hccn')
    conf = (hccn or {}).get('hccn_conf')
    checks = set((hccn or {}).get('checks') or DEVICE_CHECKS)
    for dev in _devices(data):
        d = dev.get('device')
        mine = []
        if 'link' in checks and dev.get('link') != 'UP':
            mine.append(_finding(host, 'link', dev.get('link'), 'UP',
                                 'check the cable and switch port, then `hccn_tool -i %s -cfg recovery`' % d,
                                 device=d))
        if 'net_health' in checks and dev.get('net_health') != 'Success':
            mine.append(_finding(host, 'net_health', dev.get('net_health'), 'Success',
                                 'check the netdetect address and the switch: `hccn_tool -i %s -netdetect -g`, '
                                 '`hccn_tool -i %s -net_health -g`' % (d, d), device=d))
        if 'ip' in checks and not dev.get('ip'):
            mine.append(_finding(host, 'ip', None, 'an address and netmask',
                                 'set the device address: `hccn_tool -i %s -ip -s address <ip> netmask <mask>` '
                                 '(and address_%s / netmask_%s in /etc/hccn.conf)' % (d, d, d), device=d))
        if 'gateway' in checks and not dev.get('gateway'):
            mine.append(_finding(host, 'gateway', None, 'a gateway address',
                                 '`hccn_tool -i %s -gateway -s gateway <ip>`' % d, device=d))
        if 'netdetect' in checks and not dev.get('netdetect'):
            mine.append(_finding(host, 'netdetect', None, 'a netdetect address',
                                 '`hccn_tool -i %s -netdetect -s address <ip>`' % d, device=d))
        if 'lldp' in checks and not dev.get('lldp_ifname'):
            mine.append(_finding(host, 'lldp', None, 'a switch port name',
                                 'no LLDP neighbour: check the cable and that LLDP is enabled on the switch port',
                                 device=d))
        if 'tls' in checks and dev.get('tls_switch') is None:
            mine.append(_finding(host, 'tls_consistency', None, 'a TLS switch value',
                                 'read `hccn_tool -i %s -tls -g` by hand' % d, device=d))
        if conf is not None and dev.get('ip'):
            entry = conf.get(str(d)) or {}
            if not entry.get('address'):
                mine.append(_finding(host, 'hccn_conf', 'no address_%s in /etc/hccn.conf' % d, dev.get('ip'),
                                     'record address_%s=%s in /etc/hccn.conf so the address survives a reboot'
                                     % (d, dev.get('ip')), device=d))
            elif entry.get('address') != dev.get('ip'):
                mine.append(_finding(host, 'hccn_conf', entry.get('address'), dev.get('ip'),
                                     '/etc/hccn.conf and the live device disagree: align address_%s' % d,
                                     device=d))
        # A tool message explains the finding of its check (shown with it); alone it is a finding.
        errors = list(dev.get('errors') or [])
        for f in mine:
            flag = ' -%s ' % _CHECK_FLAGS.get(f['check'], f['check'])
            said = [e for e in errors if flag in e + ' ']
            if said:
                f['observed'] = '%s (%s)' % (f['observed'], '; '.join(said))
                errors = [e for e in errors if e not in said]
        if not mine:
            for err in errors:
                mine.append(_finding(host, 'tool_error', err, 'no error',
                                     'run the command by hand and read the message', device=d))
        out.extend(mine)
    if hccn is not None and conf is None:
        out.append(_finding(host, 'hccn_conf', 'missing', '/etc/hccn.conf',
                            'create /etc/hccn.conf with the device addresses (`hccn_tool -i N -ip -s` writes it)'))
    nic = data.get('nic')
    if nic is not None:
        sel = nic.get('selected') or {}
        iface = None
        for candidate in nic.get('interfaces') or []:
            if candidate.get('name') == sel.get('name'):
                iface = candidate
        if not sel.get('name') or iface is None:
            out.append(_finding(host, 'nic', sel.get('name'), 'the NIC that reaches node0',
                                'set hccl_env_nic_name / hccl_env_local_ip or hccl_env_nic_cidr for this host'))
        elif not iface.get('up'):
            out.append(_finding(host, 'nic', '%s is down' % iface['name'], 'UP',
                                '`ip link set %s up` and check the cable' % iface['name']))
    for probe in data.get('tcp') or []:
        if not probe.get('ok'):
            out.append(_finding(host, 'tcp', probe.get('error') or 'unreachable',
                                '%s:%s reachable' % (probe.get('address'), probe.get('port')),
                                'open TCP %s on node0 (%s) to this host: firewall / security group / route'
                                % (probe.get('port'), probe.get('name')), peer=probe.get('address')))
    for port in data.get('ports') or []:
        if not port.get('free'):
            out.append(_finding(host, 'port_free', 'port %s in use by %s' % (port.get('port'), port.get('owner') or 'another process'),
                                'free before deploy',
                                'stop what listens on %s or choose another port for %s' % (port.get('port'), port.get('name'))))
    return out


def _tls_findings(hosts):
    values = {}
    for host in sorted(hosts):
        for dev in _devices(hosts[host]):
            if dev.get('tls_switch') is not None:
                values.setdefault(dev['tls_switch'], []).append((host, dev.get('device')))
    if len(values) <= 1:
        return []
    # The value most devices carry is taken as intended; the others are named.
    majority = sorted(values, key=lambda v: (-len(values[v]), v))[0]
    out = []
    for value in sorted(values):
        if value == majority:
            continue
        for host, dev in values[value]:
            out.append(_finding(host, 'tls_consistency', value, majority,
                                'align TLS on every device of every node: `hccn_tool -i %s -tls -s enable %s` '
                                '(tls_enable_%s in /etc/hccn.conf)' % (dev, majority, dev), device=dev))
    return out


def _subnet_findings(hosts):
    """Same-index devices of every node must share one subnet (HCCL pairs them by index)."""
    by_index = {}
    for host in sorted(hosts):
        for dev in _devices(hosts[host]):
            net = _network(dev.get('ip'), dev.get('netmask'))
            if net:
                by_index.setdefault(dev.get('device'), {}).setdefault(net, []).append(host)
    out = []
    for index in sorted(by_index, key=str):
        nets = by_index[index]
        if len(nets) <= 1:
            continue
        majority = sorted(nets, key=lambda n: (-len(nets[n]), n))[0]
        for net in sorted(nets):
            if net == majority:
                continue
            for host in nets[net]:
                out.append(_finding(host, 'subnet_consistency', net, majority,
                                    'device %s must sit in %s like on the other nodes: fix its address/netmask'
                                    % (index, majority), device=index))
    return out


def _mtu_findings(hosts):
    mtus = {}
    for host in sorted(hosts):
        nic = hosts[host].get('nic') or {}
        name = (nic.get('selected') or {}).get('name')
        for iface in nic.get('interfaces') or []:
            if iface.get('name') == name and iface.get('mtu'):
                mtus.setdefault(iface['mtu'], []).append((host, name))
    if len(mtus) <= 1:
        return []
    majority = sorted(mtus, key=lambda m: (-len(mtus[m]), m))[0]
    out = []
    for mtu in sorted(mtus):
        if mtu != majority:
            for host, name in mtus[mtu]:
                out.append(_finding(host, 'nic_mtu', mtu, majority,
                                    'set the same MTU on the HCCL NIC of every node: `ip link set %s mtu %s`'
                                    % (name, majority)))
    return out


def ping_pairs(hosts, mode='same_index'):
    """The device pairs to ping, each unordered pair once: [(sender, receiver)] of
    ``(host, device, address)`` triples, in a stable order.

    One ICMP echo proves both directions of a pair (the request one way, the reply the other), so
    no pair is pinged twice. ``same_index``: device i of a node with device i of every other node
    (the vllm-ascend guides' check); ``full``: every device with every device of every other node.
    Devices without an address take part in no pair.

    The sender is chosen so every node sends about as many pings as every other: with the hosts in
    sorted order on a circle, a pair is sent by the node from which the other is less than half way
    round; a pair exactly half way round (an even node count) is sent by the lower node when its
    device number is even, else by the higher one (with 2 nodes, node0 pings from its even devices
    and node1 from its odd ones).
    """
    if mode not in ('same_index', 'full'):
        raise ValueError("ping mode must be 'same_index' or 'full', got %r" % (mode,))
    names = sorted(hosts)
    count = len(names)
    ends = [[(name, dev.get('device'), dev['ip']) for dev in _devices(hosts[name]) if dev.get('ip')]
            for name in names]
    pairs = []
    for i in range(count):
        for j in range(i + 1, count):
            for low in ends[i]:
                for high in ends[j]:
                    if mode == 'same_index' and low[1] != high[1]:
                        continue
                    ahead = j - i
                    if 2 * ahead < count or (2 * ahead == count and _even(low[1])):
                        pairs.append((low, high))
                    else:
                        pairs.append((high, low))
    pairs.sort(key=lambda pair: (pair[0][0], str(pair[0][1]), pair[1][0], str(pair[1][1])))
    return pairs


def _even(device):
    try:
        return int(device) % 2 == 0
    except (TypeError, ValueError):
        return True


def ping_plan(hosts, mode='same_index'):
    """Per host, per device, the peer device addresses it must ping (see :func:`ping_pairs`).

    Returns {host: {device: [address, ...]}}; a host that sends no ping maps to {}.
    """
    plan = dict((host, {}) for host in hosts)
    for sender, receiver in ping_pairs(hosts, mode):
        plan[sender[0]].setdefault(sender[1], []).append(receiver[2])
    return plan


def _ping_results(hosts, pairs):
    """Ping findings and the device x node matrix.

    The matrix is {device: {host: 'ok' | 'FAIL: peer/dev, ...' | 'skipped: reason'}} where a cell
    covers every ping between that device of that host and its peers, whichever end sent it. A
    failed ping is a finding for each of its two ends (host, device, the other end as peer).
    """
    sent = {}
    for host in sorted(hosts):
        for dev in (hosts[host].get('pings') or []):
            for res in dev.get('pings') or []:
                sent[(host, dev.get('device'), res.get('address'))] = res
    involved = {}
    findings = []
    for sender, receiver in pairs:
        res = sent.get((sender[0], sender[1], receiver[2]))
        ok = res is not None and bool(res.get('ok'))
        for end, other in ((sender, receiver), (receiver, sender)):
            involved.setdefault((end[0], end[1]), []).append((other, ok))
            if ok:
                continue
            if res is None:
                observed = 'not run'
            else:
                observed = '%s/%s received, %s%% loss' % (
                    res.get('received'), res.get('transmitted'), res.get('loss_pct'))
            if end is receiver:
                observed += ' (pinged from %s device %s)' % (sender[0], sender[1])
            findings.append(_finding(
                end[0], 'ping', observed, '0%% loss to %s (%s device %s)' % (other[2], other[0], other[1]),
                'check link/net_health of both devices and that they share a subnet; '
                '`hccn_tool -i %s -ping -g address %s`' % (end[1], other[2]),
                device=end[1], peer='%s/%s' % (other[0], other[1])))
    matrix = {}
    for host in sorted(hosts):
        for dev in _devices(hosts[host]):
            d = dev.get('device')
            cell = matrix.setdefault(str(d), {})
            if not dev.get('ip'):
                cell[host] = 'skipped: no device ip'
                continue
            results = involved.get((host, d))
            if not results:
                cell[host] = 'skipped: no peer'
                continue
            failed = ['%s/%s' % (other[0], other[1]) for other, ok in results if not ok]
            cell[host] = 'ok' if not failed else 'FAIL: ' + ', '.join(sorted(failed, key=_peer_order))
    return findings, matrix


def _peer_order(peer):
    host, dummy, device = peer.rpartition('/')
    return (host, int(device) if device.isdigit() else -1, device)


def _node_summary(host, data, findings):
    devs = _devices(data)
    npu = data.get('npu') or {}
    sel = (data.get('nic') or {}).get('selected') or {}
    mtu = None
    for iface in (data.get('nic') or {}).get('interfaces') or []:
        if iface.get('name') == sel.get('name'):
            mtu = iface.get('mtu')
    tls = sorted(set(str(d.get('tls_switch')) for d in devs if d.get('tls_switch') is not None))
    return {
        'role': data.get('role'),
        'product': npu.get('product'),
        'chips': npu.get('chip_count'),
        'chips_healthy': sum(1 for c in npu.get('chips') or [] if c.get('health') == 'OK'),
        'devices': len(devs),
        'links_up': sum(1 for d in devs if d.get('link') == 'UP'),
        'net_health_ok': sum(1 for d in devs if d.get('net_health') == 'Success'),
        'tls': tls,
        'nic': sel.get('name'),
        'address': sel.get('address'),
        'mtu': mtu,
        'findings': len(findings),
        'ok': not findings,
    }


def build_report(hosts, ping_mode='same_index', expected_chips=None, meta=None):
    """Turn per-host observations into the report (see the module docstring for the input)."""
    pairs = ping_pairs(hosts, ping_mode)
    findings = []
    per_host = {}
    for host in sorted(hosts):
        node = _node_findings(host, hosts[host], expected_chips)
        per_host[host] = node
        findings.extend(node)
    cross = _tls_findings(hosts) + _subnet_findings(hosts) + _mtu_findings(hosts)
    ping_findings, matrix = _ping_results(hosts, pairs)
    cross += ping_findings
    findings.extend(cross)
    for f in cross:
        per_host.setdefault(f['host'], []).append(f)
    order = {c: i for i, c in enumerate(CHECKS)}
    findings.sort(key=lambda f: (f['host'], order.get(f['check'], 99), str(f['device'])))
    report = {
        'version': REPORT_VERSION,
        'ok': not findings,
        'ping_mode': ping_mode,
        'summary': {
            'nodes': len(hosts),
            'devices': sum(len(_devices(d)) for d in hosts.values()),
            'pings': len(pairs),
            'findings': len(findings),
            'failed_checks': sorted(set(f['check'] for f in findings), key=lambda c: order.get(c, 99)),
        },
        'nodes': dict((h, _node_summary(h, hosts[h], per_host.get(h, []))) for h in sorted(hosts)),
        'ping_matrix': matrix,
        'findings': findings,
    }
    if meta:
        report['meta'] = meta
    return report


def _cell(value):
    text = '' if value is None else str(value)
    return text.replace('|', '\\|').replace('\n', ' ')


def render_markdown(report):
    """A page an operator reads: verdict, per-node table, ping matrix, then every finding."""
    lines = []
    meta = report.get('meta') or {}
    title = 'Multi-node communication check'
    if meta.get('inventory'):
        title += ': %s' % meta['inventory']
    lines.append('# %s' % title)
    lines.append('')
    s = report['summary']
    verdict = 'PASSED' if report['ok'] else 'FAILED'
    lines.append('**%s**: %d node(s), %d device(s), %d ping(s) (%s), %d finding(s).' % (
        verdict, s['nodes'], s['devices'], s['pings'], report['ping_mode'], s['findings']))
    if meta.get('generated_at'):
        lines.append('')
        lines.append('Generated %s.' % meta['generated_at'])
    lines.append('')
    lines.append('## Nodes')
    lines.append('')
    lines.append('| host | role | product | chips OK | links UP | net_health OK | TLS | NIC | address | MTU | result |')
    lines.append('|---|---|---|---|---|---|---|---|---|---|---|')
    for host, n in sorted(report['nodes'].items()):
        lines.append('| %s |' % ' | '.join(_cell(v) for v in (
            host, n['role'], n['product'],
            '%s/%s' % (n['chips_healthy'], n['chips']) if n['chips'] is not None else '',
            '%s/%s' % (n['links_up'], n['devices']),
            '%s/%s' % (n['net_health_ok'], n['devices']),
            ','.join(n['tls']), n['nic'], n['address'], n['mtu'],
            'ok' if n['ok'] else 'FAIL (%d)' % n['findings'])))
    lines.append('')
    lines.append('## NPU ping matrix (device x source node)')
    lines.append('')
    hosts = sorted(report['nodes'])
    if report['ping_matrix']:
        lines.append('| device | %s |' % ' | '.join(hosts))
        lines.append('|---|%s' % '---|' * len(hosts))
        for dev in sorted(report['ping_matrix'], key=lambda d: (len(d), d)):
            row = report['ping_matrix'][dev]
            cells = []
            for h in hosts:
                v = row.get(h, '')
                cells.append('**%s**' % _cell(v) if v.startswith('FAIL') else _cell(v))
            lines.append('| %s | %s |' % (dev, ' | '.join(cells)))
    else:
        lines.append('No device pings were run.')
    lines.append('')
    lines.append('## Findings')
    lines.append('')
    if not report['findings']:
        lines.append('None: every check passed.')
    else:
        lines.append('| host | device | check | observed | expected | fix |')
        lines.append('|---|---|---|---|---|---|')
        for f in report['findings']:
            lines.append('| %s |' % ' | '.join(_cell(v) for v in (
                f['host'], f['device'], f['check'], f['observed'], f['expected'], f['fix'])))
    lines.append('')
    return '\n'.join(lines)


def failure_lines(report):
    """One line per finding, for the play's failure message."""
    out = []
    for f in report['findings']:
        where = f['host'] if f['device'] is None else '%s device %s' % (f['host'], f['device'])
        out.append('%s: %s: observed %s, expected %s. Fix: %s' % (
            where, f['check'], f['observed'], f['expected'], f['fix']))
    return out


def to_json(report):
    return json.dumps(report, indent=2, sort_keys=True)
