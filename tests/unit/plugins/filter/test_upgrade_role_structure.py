# -*- coding: utf-8 -*-
"""roles/upgrade/tasks/instance.yml: the stop and the switch run inside the rescued block (a failure
there rolls the instance back, it never leaves a node half-switched), the rollback after a failure
restores only what the switch replaced, and the commit comes after the health check only."""

from __future__ import annotations

import os

import yaml

from ansible_collections.ascend.serving.plugins.module_utils import upgrade_switch

COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(upgrade_switch.__file__))))
TASKS = os.path.join(COLLECTION, 'roles', 'upgrade', 'tasks')


def load(name):
    with open(os.path.join(TASKS, name)) as handle:
        return yaml.safe_load(handle)


def walk(tasks):
    for task in tasks or []:
        yield task
        for key in ('block', 'rescue', 'always'):
            yield from walk(task.get(key))


def is_stop(task):
    return (task.get('ansible.builtin.systemd_service') or {}).get('state') == 'stopped'


def switch_action(task):
    return (task.get('ascend.serving.upgrade_switch') or {}).get('action')


def test_stop_and_switch_are_inside_the_rescued_block():
    outer = load('instance.yml')[0]['block']
    rescued = [task for task in outer if task.get('rescue')]
    assert len(rescued) == 1
    inside = list(walk(rescued[0]['block']))
    assert any(is_stop(task) for task in inside)
    assert [switch_action(task) for task in inside if switch_action(task)] == ['switch']
    # Nowhere else in the batch: no stop or switch outside the rescue's reach.
    outside = [task for task in walk(outer) if task not in inside]
    assert not [task['name'] for task in outside if is_stop(task) or switch_action(task) == 'switch']
    names = [task.get('name') for task in inside]
    assert names.index(next(t['name'] for t in inside if is_stop(t))) < \
        names.index(next(t['name'] for t in inside if switch_action(t) == 'switch'))


def test_failure_rolls_back_only_what_was_switched_and_commit_follows_success():
    outer = load('instance.yml')[0]['block']
    rollback = [task for task in outer if task.get('ansible.builtin.include_tasks') == 'rollback.yml']
    assert len(rollback) == 1 and rollback[0]['vars'] == {'__upgrade_rollback_from': 'unfinished'}
    commit = [task for task in outer if switch_action(task) == 'commit']
    assert len(commit) == 1 and commit[0]['when'] == '__upgrade_instance_failure | length == 0'
    assert outer.index(commit[0]) > outer.index(rollback[0])
    restore = [task for task in walk(load('rollback.yml')) if switch_action(task) == 'rollback']
    assert restore[0]['ascend.serving.upgrade_switch']['rollback_from'] == "{{ __upgrade_rollback_from | default('auto') }}"


def test_no_shell_scripts_switch_files():
    for name in ('instance.yml', 'rollback.yml', 'main.yml'):
        for task in walk(load(name)):
            argv = (task.get('ansible.builtin.command') or {}).get('argv') or []
            assert argv[:2] != ['sh', '-c'], (name, task.get('name'))
