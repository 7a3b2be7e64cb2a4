# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Upgrade planning: per-node state differences -> per-instance changes and batches (pure)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name


class UpgradeError(ValueError):
    """The upgrade cannot be planned as asked."""


def plan(nodes, only=None, batch_size=1):
    """``nodes``: {host: {'instance', 'role', 'diff': [lines]}} (every node of the play).

    Returns ``{'instances': {name: {'hosts', 'node0', 'changes', 'upgrade'}}, 'batches': [[name, ...]]}``:
    an instance is upgraded when any of its nodes differs (a data-parallel group restarts as a
    whole) and it is in ``only`` (empty = all); ``batches`` holds those instances, ``batch_size`` at a
    time, in the order of their node0 hosts.
    """
    try:
        batch_size = int(batch_size)
    except (TypeError, ValueError):
        raise UpgradeError('upgrade_batch_size must be a whole number of instances, got %r' % (batch_size,))
    if batch_size < 1:
        raise UpgradeError('upgrade_batch_size must be at least 1, got %d' % batch_size)
    instances = {}
    for host in sorted(nodes):
        node = nodes[host]
        inst = instances.setdefault(node['instance'], {'hosts': [], 'node0': None, 'changes': [], 'upgrade': False})
        inst['hosts'].append(host)
        if node.get('role') == 'node0':
            inst['node0'] = host
        for line in node.get('diff') or []:
            inst['changes'].append('%s: %s' % (host, line))
    only = list(only or [])
    unknown = sorted(set(only) - set(instances))
    if unknown:
        raise UpgradeError('upgrade_instances names %s, not an instance of this inventory (instances: %s): '
                           'fix upgrade_instances or the hosts\' vllm_instance'
                           % (', '.join(unknown), ', '.join(sorted(instances))))
    todo = []
    for name in sorted(instances, key=lambda n: (instances[n]['node0'] or '', n)):
        inst = instances[name]
        inst['upgrade'] = bool(inst['changes']) and (not only or name in only)
        if inst['upgrade']:
            todo.append(name)
    batches = [todo[i:i + batch_size] for i in range(0, len(todo), batch_size)]
    return {'instances': instances, 'batches': batches}


def summary(instance_name, instance):
    """Lines telling the operator what happens to one instance."""
    if not instance['changes']:
        return ['instance %s (%s): up to date, nothing to do' % (instance_name, ', '.join(instance['hosts']))]
    head = 'instance %s (%s): %s' % (instance_name, ', '.join(instance['hosts']),
                                     'upgrade' if instance['upgrade'] else 'differs, not selected by upgrade_instances')
    return [head] + ['  ' + line for line in instance['changes']]


def node_check(host, inspected, state_diff):
    """What an upgrade must know about one node beyond the recorded-vs-desired ``state_diff``.

    ``inspected``: the ``upgrade_switch`` module's ``inspect`` result (state, pending, replaces,
    pending_dir, pending_dir_exists, pending_dir_state, unit). Returns

    * ``diff`` - more difference lines: a pending switch (switched, never proven healthy) and a
      unit that is not active are differences, so such an instance is upgraded (repaired) and
      never reported up to date;
    * ``finish_commit`` - ``<previous>.pending`` is left but state.json was rewritten without the
      mark (deploy.yml finished the upgrade, or a commit stopped half-way) and the unit is active:
      the kept files only need to become ``<previous>``;
    * ``blocked`` - why a new upgrade of this node's instance is refused ('' = not refused):
      ``<previous>.pending`` holds the last known-good release of an unfinished upgrade, and this
      run is not resuming that same upgrade.
    """
    inspected = inspected or {}
    state = inspected.get('state') or {}
    unit = inspected.get('unit') or {}
    pending = inspected.get('pending') is True
    lines = []
    if pending:
        replaced = inspected.get('replaces') or {}
        lines.append('pending: switched to %s (%s) but never proven healthy (interrupted upgrade%s) -> finish it'
                     % (state.get('release'), state.get('profile'),
                        ('; replaced %s' % replaced.get('release')) if replaced.get('release') else ''))
    active = unit.get('active_state') == 'active'
    if not active:
        lines.append('unit: %s/%s -> active (not serving; restart it)'
                     % (unit.get('active_state', 'unknown'), unit.get('sub_state', 'unknown')))
    kept = inspected.get('pending_dir_exists') is True
    finish_commit = kept and not pending and active
    blocked = ''
    if kept and not finish_commit and not (pending and not state_diff):
        before = (inspected.get('pending_dir_state') or {}).get('release') or 'the release before it'
        if pending:
            why = ('state.json says the switch to %s (%s) is still pending, and this run wants something else (%s)'
                   % (state.get('release'), state.get('profile'), '; '.join(state_diff)))
        else:
            why = 'state.json is not pending but the unit is %s' % unit.get('active_state', 'unknown')
        blocked = ('%s: %s holds %s, the last known-good release of an upgrade that did not finish; %s. '
                   'Refusing a new upgrade (it is never overwritten): run playbooks/rollback.yml to go back to %s, '
                   'or finish the unfinished upgrade with playbooks/deploy.yml using the inventory it was started '
                   'with, then re-run upgrade.yml'
                   % (host, inspected.get('pending_dir'), before, why, before))
    return {'diff': lines, 'finish_commit': finish_commit, 'blocked': blocked}


def refusals(checks, rollout):
    """The ``blocked`` messages of the nodes (``{host: {'instance', 'blocked'}}``) of instances the
    rollout would upgrade."""
    selected = set(name for batch in rollout.get('batches') or [] for name in batch)
    return [checks[host]['blocked'] for host in sorted(checks)
            if checks[host].get('blocked') and checks[host].get('instance') in selected]


def _systemctl_show(text):
    out = {}
    for line in (text or '').splitlines():
        key, sep, value = line.partition('=')
        if sep:
            out[key.strip()] = value.strip()
    return out


def status_record(raw, host):
    """One node's status from what status.yml read: ``unit`` (``systemctl show`` output), ``uptime``
    (/proc/uptime), ``state`` (state.json, {} when absent), ``models`` (node0's /v1/models JSON or
    None), ``http_status``."""
    unit = _systemctl_show(raw.get('unit'))
    state = raw.get('state') or {}
    active = unit.get('ActiveState') == 'active'
    uptime = None
    try:
        since_boot = float((raw.get('uptime') or '').split()[0])
        entered = int(unit.get('ActiveEnterTimestampMonotonic') or 0) / 1e6
        if active and entered > 0:
            uptime = int(since_boot - entered)
    except (IndexError, ValueError):
        pass
    health = None
    models = []
    if state.get('role') == 'node0':
        if not state.get('endpoint'):
            health = 'unknown (state.json names no endpoint: re-run deploy.yml)'
        elif raw.get('http_status') == 200 and isinstance(raw.get('models'), dict):
            health = 'ok'
            models = [m.get('id') for m in raw['models'].get('data') or [] if isinstance(m, dict)]
        else:
            health = 'down (%s)' % (('HTTP %s' % raw['http_status']) if raw.get('http_status') else 'no answer')
    return {
        'host': host,
        'deployed': bool(state),
        'instance': state.get('instance'),
        'role': state.get('role'),
        'dp_ranks': state.get('dp_ranks'),
        'release': state.get('release'),
        'pending': state.get('pending') is True,
        'profile': state.get('profile'),
        'served_model_name': state.get('served_model_name'),
        'endpoint': state.get('endpoint'),
        'unit': '%s/%s' % (unit.get('ActiveState', 'unknown'), unit.get('SubState', 'unknown')),
        'pid': int(unit['MainPID']) if (unit.get('MainPID') or '').isdigit() else None,
        'uptime_s': uptime,
        'health': health,
        'served_models': models,
    }


def status_lines(records):
    """A table per instance (node0 first), from {host: status_record}."""
    by_instance = {}
    for host in sorted(records):
        rec = records[host]
        by_instance.setdefault(rec.get('instance') or '(not deployed)', []).append(rec)
    lines = []
    for name in sorted(by_instance):
        recs = sorted(by_instance[name], key=lambda r: (r.get('role') != 'node0', r['host']))
        head = [r for r in recs if r.get('role') == 'node0']
        lines.append('instance %s: %s' % (name, ('%s at %s, health %s, serving %s' % (
            head[0]['host'], head[0].get('endpoint'), head[0].get('health'), ', '.join(head[0]['served_models']) or '-'))
            if head else 'no node0 recorded'))
        for rec in recs:
            lines.append('  %-12s %-8s ranks %-6s %-11s %-22s up %s' % (
                rec['host'], rec.get('role') or '-', ','.join(str(r) for r in rec.get('dp_ranks') or []) or '-',
                (rec.get('release') or '-') + (' (pending: not proven healthy)' if rec.get('pending') else ''), rec['unit'],
                ('%ds' % rec['uptime_s']) if rec.get('uptime_s') is not None else '-'))
    return lines
