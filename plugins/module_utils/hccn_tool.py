# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsers for Huawei's ``hccn_tool`` output and ``/etc/hccn.conf``.

Nothing here runs a command or reads a file.  Each ``parse_*`` function takes
the stdout of ONE ``hccn_tool -i <device> ...`` call.

The tool reports problems as plain sentences on stdout
(``Get ipconf failed, because no ip was preset there!``).  Those are data, not
parse failures: when the expected ``key: value`` line is absent the value is
None and every non-empty line lands in the result's ``errors`` list.  Lines
the tool adds around an expected value are ignored.  :class:`ParseError` is
raised only when an expected line is present but malformed (an ``ipaddr:``
that is not an IPv4 address, a link status other than UP/DOWN, ...) or when
the output holds the answer of several devices at once.

A line that is exactly ``...`` is an elision left by someone who pasted the
output into a document; it is skipped.
"""

from __future__ import annotations

import re
from ansible_collections.ascend.serving.plugins.module_utils._parse import ParseError, is_elision

__all__ = [
    'CHECKS',
    'ParseError',
    'command_args',
    'evaluate',
    'is_elision',
    'is_ipv4',
    'parse_check',
    'parse_cmd_result',
    'parse_fec',
    'parse_gateway',
    'parse_hccn_conf',
    'parse_ip',
    'parse_key_values',
    'parse_link',
    'parse_link_stat',
    'parse_lldp',
    'parse_net_health',
    'parse_netdetect',
    'parse_ping',
    'parse_route',
    'parse_tls',
]

#: The read-only checks hccn_info knows, in the order they are reported.
CHECKS = ('ip', 'link', 'net_health', 'netdetect', 'gateway', 'tls', 'lldp')

_IPV4_RE = re.compile(r'^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$')
_DEVID_PREFIX_RE = re.compile(r'^\[devid\s+(\d+)\]\s?')


def is_ipv4(text):
    """True for a dotted-quad IPv4 address (no leading zeros, no prefix)."""
    return bool(_IPV4_RE.match(text or ''))


def _lines(text):
    """``(lineno, line)`` for each non-blank, non-elision line, right-stripped."""
    for lineno, raw in enumerate((text or '').splitlines(), 1):
        line = raw.rstrip()
        if line.strip() and not is_elision(line):
            yield lineno, line


def _messages(text):
    """The tool's own words when the expected line is missing."""
    messages = [line.strip() for _lineno, line in _lines(text)]
    return messages or ['no output']


def _snake(key):
    return re.sub(r'[^a-z0-9]+', '_', key.lower()).strip('_')


def _single(text, regex, what):
    """Find the one line matching ``regex``; return ``(match, line, lineno)``.

    None when no line matches; ParseError when two do (the output of a
    ``for i in ...`` loop was passed as one device's output).
    """
    found = None
    for lineno, line in _lines(text):
        match = regex.match(line)
        if match:
            if found is not None:
                raise ParseError('a second %s line: the output of several devices?' % what, line, lineno)
            found = (match, line, lineno)
    return found


# --------------------------------------------------------------------------
# The checks run by hccn_info
# --------------------------------------------------------------------------

_IP_RE = re.compile(r'^\s*ipaddr\s*:\s*(\S*)\s*$')
_NETMASK_RE = re.compile(r'^\s*netmask\s*:\s*(\S*)\s*$')


def parse_ip(text):
    """``hccn_tool -i N -ip -g`` -> ``{'ip', 'netmask', 'errors'}``."""
    ip = _single(text, _IP_RE, 'ipaddr')
    mask = _single(text, _NETMASK_RE, 'netmask')
    if ip is None:
        return {'ip': None, 'netmask': None, 'errors': _messages(text)}
    match, line, lineno = ip
    if not is_ipv4(match.group(1)):
        raise ParseError('ipaddr is not an IPv4 address', line, lineno)
    netmask = None
    if mask is not None:
        match, line, lineno = mask
        if not is_ipv4(match.group(1)):
            raise ParseError('netmask is not a dotted-quad mask', line, lineno)
        netmask = match.group(1)
    return {'ip': ip[0].group(1), 'netmask': netmask, 'errors': []}


_LINK_RE = re.compile(r'^\s*link status\s*:\s*(.*?)\s*$', re.IGNORECASE)


def parse_link(text):
    """``hccn_tool -i N -link -g`` -> ``{'link': 'UP' | 'DOWN' | None, 'errors'}``."""
    found = _single(text, _LINK_RE, 'link status')
    if found is None:
        return {'link': None, 'errors': _messages(text)}
    match, line, lineno = found
    state = match.group(1).upper()
    if state not in ('UP', 'DOWN'):
        raise ParseError('link status is neither UP nor DOWN', line, lineno)
    return {'link': state, 'errors': []}


_NET_HEALTH_RE = re.compile(r'^\s*net health status\s*:\s*(.*?)\s*$', re.IGNORECASE)


def parse_net_health(text):
    """``hccn_tool -i N -net_health -g`` -> ``{'net_health': word, 'errors'}``.

    The word is kept as printed: ``Success`` is healthy; ``Socket fail``
    (``Socket failed`` on older drivers), ``Receive timeout``,
    ``Unreachable``, ``Time exceeded``, ``Fault``, ``Init`` (no netdetect
    address configured), ``Thread error``, ``Detect ip set``, ``Unknown`` are not.
    """
    found = _single(text, _NET_HEALTH_RE, 'net health status')
    if found is None:
        return {'net_health': None, 'errors': _messages(text)}
    match, line, lineno = found
    if not match.group(1):
        raise ParseError('net health status is empty', line, lineno)
    return {'net_health': match.group(1), 'errors': []}


_NETDETECT_RE = re.compile(r'^\s*netdetect address\s*:\s*(.*?)\s*$', re.IGNORECASE)


def parse_netdetect(text):
    """``hccn_tool -i N -netdetect -g`` -> ``{'netdetect': address | None, 'errors'}``."""
    found = _single(text, _NETDETECT_RE, 'netdetect address')
    if found is None:
        return {'netdetect': None, 'errors': _messages(text)}
    match, line, lineno = found
    address = match.group(1)
    if not address:
        return {'netdetect': None, 'errors': [line.strip()]}
    if not is_ipv4(address):
        raise ParseError('netdetect address is not an IPv4 address', line, lineno)
    return {'netdetect': address, 'errors': []}


_GATEWAY_RE = re.compile(r'^\s*default gateway\s*:\s*([^,\s]*)\s*(?:,\s*Iface\s*:\s*(\S+))?\s*$', re.IGNORECASE)


def parse_gateway(text):
    """``hccn_tool -i N -gateway -g`` -> ``{'gateway', 'gateway_iface', 'errors'}``."""
    found = _single(text, _GATEWAY_RE, 'default gateway')
    if found is None:
        return {'gateway': None, 'gateway_iface': None, 'errors': _messages(text)}
    match, line, lineno = found
    if not is_ipv4(match.group(1)):
        raise ParseError('default gateway is not an IPv4 address', line, lineno)
    return {'gateway': match.group(1), 'gateway_iface': match.group(2), 'errors': []}


_TLS_SWITCH_RE = re.compile(r'tls switch\[([^\]]*)\]', re.IGNORECASE)
_TLS_PRESET_RE = re.compile(r'tls preconfigured\[([^\]]*)\]', re.IGNORECASE)
_TLS_ALARM_RE = re.compile(r'tls alarm time threshold\[([^\]]*)\]', re.IGNORECASE)
_TLS_DEVID_RE = re.compile(r'^\s*dev_id\s*:\s*(\d+)')


def parse_tls(text):
    """``hccn_tool -i N -tls -g`` -> TLS settings.

    Returns ``{'tls_switch': 0 | 1 | None, 'tls_preconfigured', 'tls_alarm_days',
    'dev_id', 'errors'}`` from the ``dev_id:N, tls switch[S](...), tls
    preconfigured[P](...), tls alarm time threshold[D]days`` line; the
    certificate lines around it are ignored.
    """
    found = None
    for lineno, line in _lines(text):
        if _TLS_SWITCH_RE.search(line):
            if found is not None:
                raise ParseError('a second tls switch line: the output of several devices?', line, lineno)
            found = (line, lineno)
    if found is None:
        return {'tls_switch': None, 'tls_preconfigured': None, 'tls_alarm_days': None, 'dev_id': None,
                'errors': _messages(text)}
    line, lineno = found

    def number(regex, what):
        match = regex.search(line)
        if match is None:
            return None
        try:
            return int(match.group(1))
        except ValueError:
            raise ParseError('%s is not a number' % what, line, lineno)

    devid = _TLS_DEVID_RE.match(line)
    return {
        'tls_switch': number(_TLS_SWITCH_RE, 'tls switch'),
        'tls_preconfigured': number(_TLS_PRESET_RE, 'tls preconfigured'),
        'tls_alarm_days': number(_TLS_ALARM_RE, 'tls alarm time threshold'),
        'dev_id': int(devid.group(1)) if devid else None,
        'errors': [],
    }


_IFNAME_RE = re.compile(r'^\s*Ifname\s*:\s*(.*?)\s*$')
_TLV_RE = re.compile(r'^(\S.*?)\s+TLV$')
_MAC_RE = re.compile(r'^\s*MAC\s*:\s*(.*?)\s*$')
_MGMT_RE = re.compile(r'^\s*IPv4\s*:\s*(.*?)\s*$')


def parse_lldp(text):
    """``hccn_tool -i N -lldp -g`` -> what the switch port announced.

    Returns ``{'ifname', 'chassis_mac', 'mgmt_ipv4', 'tlvs', 'errors'}``:
    ``ifname`` is the switch port (``Port ID TLV / Ifname:``); ``tlvs`` maps
    each TLV name (``'Port ID'``) to its content lines.  Also accepts the
    ``| grep Ifname`` form (a lone ``Ifname:`` line).  Values are kept as
    printed (a redacted ``MAC: ...`` stays ``'...'``).
    """
    tlvs = {}
    current = None
    ifname = chassis_mac = mgmt = None
    loose = []
    for lineno, line in _lines(text):
        header = _TLV_RE.match(line)
        if header:
            current = header.group(1)
            if current in tlvs:
                raise ParseError('TLV %r appears twice: the output of several devices?' % current, line, lineno)
            tlvs[current] = []
            continue
        content = line.strip()
        match = _IFNAME_RE.match(line)
        if match and (current is None or current == 'Port ID'):
            if ifname is not None:
                raise ParseError('a second Ifname line: the output of several devices?', line, lineno)
            ifname = match.group(1) or None
        if current is None:
            if not match:
                loose.append(content)
            continue
        tlvs[current].append(content)
        if current == 'Chassis ID' and _MAC_RE.match(line):
            chassis_mac = _MAC_RE.match(line).group(1)
        elif current == 'Management Address' and _MGMT_RE.match(line):
            mgmt = _MGMT_RE.match(line).group(1)
    if ifname is None and not tlvs:
        return {'ifname': None, 'chassis_mac': None, 'mgmt_ipv4': None, 'tlvs': {}, 'errors': _messages(text)}
    errors = [] if ifname is not None else ['no Ifname in the LLDP data']
    return {'ifname': ifname, 'chassis_mac': chassis_mac, 'mgmt_ipv4': mgmt, 'tlvs': tlvs,
            'errors': errors + loose}


_PING_SUMMARY_RE = re.compile(
    r'^\s*(\d+)\s+packets? transmitted,\s*(\d+)\s+received,\s*([\d.]+)%\s+packet loss\s*$', re.IGNORECASE)
_PING_HEADER_RE = re.compile(r'^\s*device\s+(\d+)\s+PING\s+(\S+)\s*$', re.IGNORECASE)
_PING_REPLY_RE = re.compile(r'^\s*recv seq=(\d+)\s*,\s*time=([\d.]+)\s*ms\s*$', re.IGNORECASE)


def parse_ping(text):
    """``hccn_tool -i N -ping -g address X`` -> ping result.

    Returns ``{'device', 'address', 'transmitted', 'received', 'loss_pct',
    'rtt_ms', 'ok', 'errors'}``; ``ok`` is True when at least one packet was
    sent and every one came back.  Without the ``N packets transmitted``
    summary the counters are None, ``ok`` False and the tool's lines are in
    ``errors``.
    """
    result = {'device': None, 'address': None, 'transmitted': None, 'received': None, 'loss_pct': None,
              'rtt_ms': [], 'ok': False, 'errors': []}
    summary = _single(text, _PING_SUMMARY_RE, 'ping summary')
    others = []
    for _lineno, line in _lines(text):
        header = _PING_HEADER_RE.match(line)
        reply = _PING_REPLY_RE.match(line)
        if header:
            result['device'] = int(header.group(1))
            result['address'] = header.group(2)
        elif reply:
            result['rtt_ms'].append(float(reply.group(2)))
        elif not _PING_SUMMARY_RE.match(line):
            others.append(line.strip())
    if summary is None:
        result['errors'] = others or ['no output']
        return result
    match, line, lineno = summary
    try:
        result['loss_pct'] = float(match.group(3))
    except ValueError:
        raise ParseError('packet loss is not a number', line, lineno)
    result['transmitted'] = int(match.group(1))
    result['received'] = int(match.group(2))
    if result['received'] > result['transmitted']:
        raise ParseError('more packets received than transmitted', line, lineno)
    result['ok'] = result['transmitted'] > 0 and result['received'] == result['transmitted']
    return result


_PARSERS = {
    'ip': parse_ip,
    'link': parse_link,
    'net_health': parse_net_health,
    'netdetect': parse_netdetect,
    'gateway': parse_gateway,
    'tls': parse_tls,
    'lldp': parse_lldp,
}

_ARGS = {
    'ip': ['-ip', '-g'],
    'link': ['-link', '-g'],
    'net_health': ['-net_health', '-g'],
    'netdetect': ['-netdetect', '-g'],
    'gateway': ['-gateway', '-g'],
    'tls': ['-tls', '-g'],
    'lldp': ['-lldp', '-g'],
}


def command_args(device, check, address=None):
    """The hccn_tool arguments (without the binary) for one device and check.

    ``check`` is one of :data:`CHECKS` or ``'ping'`` (needs ``address``).
    """
    device = int(device)
    if check == 'ping':
        if not address:
            raise ValueError('a ping needs an address')
        return ['-i', str(device), '-ping', '-g', 'address', str(address)]
    if check not in _ARGS:
        raise ValueError('unknown hccn_tool check %r (known: %s)' % (check, ', '.join(CHECKS)))
    return ['-i', str(device)] + _ARGS[check]


def parse_check(check, text):
    """Dispatch to the parser of one of :data:`CHECKS` (or ``'ping'``)."""
    if check == 'ping':
        return parse_ping(text)
    if check not in _PARSERS:
        raise ValueError('unknown hccn_tool check %r (known: %s)' % (check, ', '.join(CHECKS)))
    return _PARSERS[check](text)


def _check_problem(check, device):
    """Why ``check`` fails on ``device`` (a hccn_info device dict), or None."""
    if check == 'ip':
        return None if device.get('ip') else 'no device IP (hccn_tool -ip -g)'
    if check == 'link':
        if device.get('link') == 'UP':
            return None
        return 'link is %s, expected UP (try: hccn_tool -i %s -cfg recovery)' % (
            device.get('link') or 'unknown', device.get('device'))
    if check == 'net_health':
        if device.get('net_health') == 'Success':
            return None
        return 'net health is %s, expected Success' % (device.get('net_health') or 'unknown')
    if check == 'netdetect':
        return None if device.get('netdetect') else 'no netdetect address configured'
    if check == 'gateway':
        return None if device.get('gateway') else 'no default gateway configured'
    if check == 'tls':
        return None if device.get('tls_switch') is not None else 'TLS switch state unknown'
    if check == 'lldp':
        return None if device.get('lldp_ifname') else 'no LLDP neighbour (switch port) seen'
    raise ValueError('unknown hccn_tool check %r' % check)


def evaluate(devices, checks):
    """Judge hccn_info device dicts against the requested checks.

    ``devices`` is a list of dicts with the keys hccn_info returns
    (``device``, ``ip``, ``link``, ``net_health``, ``netdetect``, ``gateway``,
    ``tls_switch``, ``lldp_ifname``, ``pings``, ``errors``).  A failed check's
    sentence quotes the device's errors recorded for that query (errors
    prefixed ``hccn_tool <args>: ``).  Returns
    ``(problems, failed)``: ``problems`` is a list of sentences naming the
    device, ``failed`` maps device number -> list of failed check names
    (``'ping'`` included).  The ``tls`` check also requires the same TLS
    switch value on every device (mixed values break HCCL links).
    """
    problems = []
    failed = {}
    for device in devices:
        number = device['device']
        failed[number] = []
        for check in checks:
            problem = _check_problem(check, device)
            if problem:
                failed[number].append(check)
                # Quote what the tool said for that query, when it said something.
                prefix = ' '.join(['hccn_tool'] + command_args(number, check)) + ': '
                said = [error[len(prefix):] for error in device.get('errors') or [] if error.startswith(prefix)]
                if said:
                    problem = '%s; %s' % (problem, '; '.join(said))
                problems.append('device %s: %s' % (number, problem))
        for ping in device.get('pings') or []:
            if not ping.get('ok'):
                if 'ping' not in failed[number]:
                    failed[number].append('ping')
                if ping.get('transmitted') is None:
                    detail = 'no result'
                else:
                    detail = '%s/%s received, %s%% loss' % (ping['received'], ping['transmitted'], ping['loss_pct'])
                problems.append('device %s: ping %s failed (%s)' % (number, ping.get('address'), detail))
    if 'tls' in checks:
        values = {}
        for device in devices:
            if device.get('tls_switch') is not None:
                values.setdefault(device['tls_switch'], []).append(device['device'])
        if len(values) > 1:
            detail = '; '.join('switch %s on devices %s' % (value, ', '.join(str(d) for d in sorted(devs)))
                               for value, devs in sorted(values.items()))
            problems.append('TLS switch differs between devices (%s): set the same value on every device '
                            '(hccn_tool -i N -tls -s enable 0|1)' % detail)
            for devs in values.values():
                for number in devs:
                    if 'tls' not in failed[number]:
                        failed[number].append('tls')
    return problems, failed


# --------------------------------------------------------------------------
# /etc/hccn.conf
# --------------------------------------------------------------------------

_CONF_RE = re.compile(r'^\s*([A-Za-z][A-Za-z0-9_]*?)_(\d+)\s*=\s*(.*?)\s*$')


def parse_hccn_conf(text):
    """Parse ``/etc/hccn.conf`` (``address_0=...`` lines).

    Returns ``{device number (int): {key: value}}``, e.g.
    ``{0: {'address': '29.1.137.205', 'netmask': '255.255.0.0', ...}}``.
    Blank lines, ``#`` comments and ``...`` elisions are skipped; any other
    line without the ``<key>_<device>=<value>`` shape raises ParseError.
    """
    conf = {}
    for lineno, line in _lines(text):
        if line.lstrip().startswith('#'):
            continue
        match = _CONF_RE.match(line)
        if not match:
            raise ParseError('expected <key>_<device>=<value>', line, lineno)
        key, device, value = match.group(1), int(match.group(2)), match.group(3)
        entry = conf.setdefault(device, {})
        if key in entry and entry[key] != value:
            raise ParseError('%s_%d is set twice' % (key, device), line, lineno)
        entry[key] = value
    return conf


# --------------------------------------------------------------------------
# Other read-only hccn_tool reports (diagnostics)
# --------------------------------------------------------------------------

def parse_key_values(text):
    """Parse a ``key : value`` report (``-stat -g``, ``-optical -g``, ``-hw_stats -g``).

    Returns ``{'devid': N | None, 'values': {snake_key: value}}``.  A
    ``[devid N]`` prefix is stripped (and must name one device); title lines
    with an empty value (``optical info:``) are skipped.  Values are strings
    as printed (``'47 C'``, ``'0xff'``).
    """
    devid = None
    values = {}
    for lineno, line in _lines(text):
        prefix = _DEVID_PREFIX_RE.match(line)
        if prefix:
            number = int(prefix.group(1))
            if devid is not None and devid != number:
                raise ParseError('lines for devices %s and %s mixed' % (devid, number), line, lineno)
            devid = number
            line = line[prefix.end():]
        key, sep, value = line.partition(':')
        if not sep or not key.strip():
            raise ParseError('expected "key: value"', line, lineno)
        value = value.strip()
        if not value:
            continue
        name = _snake(key)
        if name in values:
            raise ParseError('key %r appears twice' % key.strip(), line, lineno)
        values[name] = value
    if not values:
        raise ParseError('no "key: value" line in the output')
    return {'devid': devid, 'values': values}


_FEC_RE = re.compile(r'^\s*fec mode\s*:\s*(.*?)\s*$', re.IGNORECASE)


def parse_fec(text):
    """``hccn_tool -i N -fec -g`` -> ``{'fec_mode': 'rs FEC mode' | ..., 'errors'}``."""
    found = _single(text, _FEC_RE, 'fec mode')
    if found is None:
        return {'fec_mode': None, 'errors': _messages(text)}
    return {'fec_mode': found[0].group(1), 'errors': []}


_LINK_RECORD_RE = re.compile(r'^\s+(.+?)\s{2,}(LINK\s+\w+)\s*$')


def parse_link_stat(text):
    """``hccn_tool -i N -link_stat -g`` -> link flap history.

    Returns ``{'devid', 'current_time', 'link_up_count', 'records': [{'time', 'event'}]}``
    with records newest first, as printed; runs of spaces inside times are
    collapsed (``'Tue Aug 1 14:43:40 2022'``).
    """
    devid = None
    current_time = up_count = None
    records = []
    for lineno, line in _lines(text):
        prefix = _DEVID_PREFIX_RE.match(line)
        if prefix:
            number = int(prefix.group(1))
            if devid is not None and devid != number:
                raise ParseError('lines for devices %s and %s mixed' % (devid, number), line, lineno)
            devid = number
            line = line[prefix.end():]
        record = _LINK_RECORD_RE.match(line)
        if record:
            records.append({'time': ' '.join(record.group(1).split()), 'event': ' '.join(record.group(2).split())})
            continue
        key, sep, value = line.partition(':')
        name = _snake(key)
        if not sep:
            raise ParseError('unexpected line in link_stat output', line, lineno)
        if name == 'current_time':
            current_time = ' '.join(value.split())
        elif name == 'link_up_count':
            try:
                up_count = int(value.strip())
            except ValueError:
                raise ParseError('link up count is not a number', line, lineno)
        elif name == 'link_change_records':
            continue
        else:
            raise ParseError('unexpected line in link_stat output', line, lineno)
    if current_time is None and up_count is None and not records:
        raise ParseError('no link statistics in the output')
    return {'devid': devid, 'current_time': current_time, 'link_up_count': up_count, 'records': records}


_ROUTE_HEADER = ['Destination', 'Gateway', 'Genmask', 'Flags', 'Metric', 'Ref', 'Use', 'Iface']


def parse_route(text):
    """``hccn_tool -i N -route -g`` -> list of ``{'destination', 'gateway',
    'genmask', 'flags', 'metric', 'ref', 'use', 'iface'}`` (gateway None for ``*``)."""
    routes = []
    header = False
    for lineno, line in _lines(text):
        words = line.split()
        if line.strip().rstrip(':') == 'Routing table':
            continue
        if words == _ROUTE_HEADER:
            header = True
            continue
        if not header:
            raise ParseError('expected the "Destination Gateway Genmask ..." header', line, lineno)
        if len(words) != len(_ROUTE_HEADER):
            raise ParseError('expected %d columns' % len(_ROUTE_HEADER), line, lineno)
        try:
            metric, ref, use = int(words[4]), int(words[5]), int(words[6])
        except ValueError:
            raise ParseError('Metric, Ref and Use must be numbers', line, lineno)
        routes.append({
            'destination': words[0],
            'gateway': None if words[1] == '*' else words[1],
            'genmask': words[2],
            'flags': words[3],
            'metric': metric,
            'ref': ref,
            'use': use,
            'iface': words[7],
        })
    if not header:
        raise ParseError('no routing table in the output')
    return routes


def parse_cmd_result(text):
    """Output of a setter (``-tls -s enable 0``, ...) -> ``{'ok', 'errors'}``.

    ``ok`` when every line says ``Cmd executed successfully!``.
    """
    errors = [line.strip() for _lineno, line in _lines(text)
              if line.strip() != 'Cmd executed successfully!']
    if not list(_lines(text)):
        errors = ['no output']
    return {'ok': not errors, 'errors': errors}
