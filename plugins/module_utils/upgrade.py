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
