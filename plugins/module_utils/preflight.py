# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight host checks: what one node reported -> every problem, each with its fix (pure)."""

from __future__ import annotations

import re

from ansible_collections.ascend.serving.plugins.module_utils.comm_report import port_states
from ansible_collections.ascend.serving.plugins.module_utils.npu_smi import ParseError, parse_info
from ansible_collections.ascend.serving.plugins.module_utils.versions import VersionError, at_least, parse_key_values


def _get(data, *path):
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _df_available_kb(text):
    """Available 1K-blocks from ``df -Pk PATH`` output (second line, fourth column)."""
    lines = [line for line in (text or '').splitlines() if line.strip()]
    if len(lines) < 2:
        return None
    fields = lines[-1].split()
    try:
        return int(fields[3])
    except (IndexError, ValueError):
        return None


def npu_from_probe(probe):
    """``(npu_info, error)`` from what the host probe saw of ``npu-smi info``.

    ``probe``: ``{'path': found binary or None, 'searched': [...], 'rc': int, 'stdout': str,
    'stderr': str}`` (the preflight role runs ``npu-smi info`` in its one round trip per host and
    parses here, on the controller, with the parser of the npu_info module).
    """
    probe = probe or {}
    if not probe.get('path'):
        return {}, ('npu-smi was not found on %s: install the Ascend NPU driver'
                    % ', '.join(probe.get('searched') or ['PATH']))
    if probe.get('rc') != 0:
        return {}, ('%s info exited with %s: %s: check the NPU driver (`npu-smi info`)'
                    % (probe['path'], probe.get('rc'), (probe.get('stderr') or probe.get('stdout') or '').strip()))
    try:
        return parse_info(probe.get('stdout') or ''), None
    except ParseError as exc:
        return {}, 'cannot parse the output of %s info: %s' % (probe['path'], exc)


def problems(observed, profile, host, required_arch='aarch64', max_hbm_used_pct=10, min_free_disk_gb=0):
    """Every problem of one host, as sentences naming the host, the item and the fix.

    ``observed``: ``arch`` (uname -m), ``npu`` (npu_info result) or ``npu_smi`` (what the host probe
    saw of ``npu-smi info``, see npu_from_probe), ``versions`` ([driver version.info
    text, CANN ascend_toolkit_install.info text], '' when missing), ``ss`` (node0: the ``ss -Hltnp``
    output listing both the DP RPC and API ports, or one output per port), ``weights`` (stat of the weights dir or None), ``df`` (df -Pk output),
    ``role``, ``serving`` (the collection's vLLM unit is already active on the host: its HBM use
    is expected, so the free-HBM check is skipped).
    """
    out = []
    hw = _get(profile, 'hardware', 'name')
    arch = (observed.get('arch') or '').strip()
    if required_arch and arch != required_arch:
        out.append('%s: architecture is %s but vllm-ascend\'s operators and wheels are %s-only: use %s nodes '
                   '(preflight_required_architecture)' % (host, arch or 'unknown', required_arch, required_arch))

    npu = observed.get('npu') or {}
    npu_error = None
    if 'npu_smi' in observed:
        npu, npu_error = npu_from_probe(observed['npu_smi'])
    if npu_error:
        out.append('%s: %s' % (host, npu_error))
    else:
        want_chips = _get(profile, 'hardware', 'npus_per_node')
        if npu.get('product') != hw:
            out.append('%s: npu-smi reports an %s node but profile %s is for %s: choose a profile for %s hardware '
                       '(vllm_profile)' % (host, npu.get('product') or 'unknown', _get(profile, 'profile', 'name'), hw,
                                           npu.get('product')))
        if want_chips and npu.get('chip_count') != want_chips:
            out.append('%s: %s NPU chips found, the %s profile needs %s: check `npu-smi info` and the driver'
                       % (host, npu.get('chip_count'), hw, want_chips))
        for chip in npu.get('chips') or []:
            ident = 'NPU %s chip %s' % (chip.get('npu_id'), chip.get('chip_id'))
            if chip.get('health') != 'OK':
                out.append('%s: %s Health is %s: `npu-smi info -t health -i %s -c %s`, then service the chip'
                           % (host, ident, chip.get('health'), chip.get('npu_id'), chip.get('chip_id')))
            used, total = chip.get('hbm_used_mb'), chip.get('hbm_total_mb')
            if observed.get('serving'):
                continue
            if isinstance(used, int) and isinstance(total, int) and total > 0 and used * 100 > max_hbm_used_pct * total:
                out.append('%s: %s already uses %d of %d MB HBM (more than %d%%): stop the processes `npu-smi info` '
                           'lists on it (or raise preflight_max_hbm_used_pct)' % (host, ident, used, total, max_hbm_used_pct))

    versions = list(observed.get('versions') or []) + ['', '']
    driver = parse_key_values(versions[0]).get('Version')
    if not driver:
        out.append('%s: no NPU driver found (/usr/local/Ascend/driver/version.info): install the Ascend driver '
                   'and firmware first' % host)
    method = _get(profile, 'release', 'install_method')
    need_cann = _get(profile, 'release', 'cann_version')
    if method == 'custom_ops' and need_cann:
        cann = parse_key_values(versions[1]).get('version')
        if not cann:
            out.append('%s: no CANN toolkit found (ascend-toolkit/latest/<arch>-linux/ascend_toolkit_install.info): '
                       'the custom-ops install needs CANN %s' % (host, need_cann))
        else:
            try:
                if not at_least(cann, need_cann):
                    out.append('%s: CANN %s is older than the %s release needs (%s): upgrade the CANN toolkit'
                               % (host, cann, _get(profile, 'release', 'name'), need_cann))
            except VersionError as exc:
                out.append('%s: cannot read the CANN version: %s' % (host, exc))

    if observed.get('role') == 'node0':
        ports = [{'name': 'dp_rpc', 'port': _get(profile, 'parallel', 'data_parallel_rpc_port')},
                 {'name': 'api', 'port': _get(profile, 'serve', 'port')}]
        ss = observed.get('ss') or ''
        for port in port_states(ss if isinstance(ss, str) else list(ss), ports):
            if not port['free']:
                out.append('%s: port %s (%s) is taken by %s: stop it or change the port in the profile'
                           % (host, port['port'], port['name'], port['owner']))

    path = _get(profile, 'model', 'path') or ''
    weights = observed.get('weights')
    if re.match(r'^/', path) and _get(profile, 'model', 'source') == 'local':
        if not weights or not weights.get('exists') or not weights.get('isdir'):
            out.append('%s: weights directory %s does not exist: put the weights there (a directory shared by '
                       'all nodes or a copy on each), or point vllm_model_path at them' % (host, path))
    if min_free_disk_gb:
        avail = _df_available_kb(observed.get('df'))
        if avail is not None and avail < min_free_disk_gb * 1024 * 1024:
            out.append('%s: %.1f GB free for the weights, %d GB needed: free space or move the weights directory'
                       % (host, avail / 1048576.0, min_free_disk_gb))
    return out
