# -*- coding: utf-8 -*-
"""What upgrade.yml learns about a node beyond recorded-vs-desired (module_utils/upgrade.node_check):
a pending switch and an inactive unit are differences; a new upgrade over an unfinished one is
refused; an upgrade finished by deploy.yml only needs its kept files committed."""

from __future__ import annotations

from ansible_collections.ascend.serving.plugins.module_utils.upgrade import (
    node_check, plan, refusals, status_lines, status_record, summary)

ACTIVE = {'active_state': 'active', 'sub_state': 'running', 'load_state': 'loaded'}
V011 = {'release': 'v0.11.0rc0', 'profile': 'p-v011', 'install_method': 'custom_ops', 'runtime': 'host'}
V012 = {'release': 'v0.12.0rc1', 'profile': 'p-v012', 'install_method': 'image', 'runtime': 'container'}


def inspected(state, pending=False, kept=False, unit=None):
    return {'state': dict(state, pending=True, replaces=V011) if pending else dict(state), 'pending': pending,
            'replaces': V011 if pending else None, 'pending_dir': '/etc/ascend-serving/previous.pending',
            'pending_dir_exists': kept, 'pending_dir_state': V011 if kept else None,
            'previous_exists': True, 'previous_state': V011, 'unit': unit or ACTIVE}


def test_a_healthy_committed_node_adds_nothing():
    assert node_check('n0', inspected(V012), []) == {'diff': [], 'finish_commit': False, 'blocked': ''}


def test_an_interrupted_upgrade_is_a_difference_and_its_instance_is_upgraded_not_up_to_date():
    # The switch wrote the desired state (no key differs), but health was never proven.
    n0 = node_check('n0', inspected(V012, pending=True, kept=True), [])
    n1 = node_check('n1', inspected(V012, pending=True, kept=True), [])
    assert n0['diff'] == ['pending: switched to v0.12.0rc1 (p-v012) but never proven healthy '
                          '(interrupted upgrade; replaced v0.11.0rc0) -> finish it']
    assert n0['blocked'] == '' and n0['finish_commit'] is False
    rollout = plan({'n0': {'instance': 'a', 'role': 'node0', 'diff': n0['diff']},
                    'n1': {'instance': 'a', 'role': 'headless', 'diff': n1['diff']}})
    assert rollout['batches'] == [['a']]
    assert 'up to date' not in ' '.join(summary('a', rollout['instances']['a']))


def test_an_inactive_unit_is_a_difference():
    stopped = node_check('n3', inspected(V011, unit={'active_state': 'inactive', 'sub_state': 'dead'}), [])
    assert stopped['diff'] == ['unit: inactive/dead -> active (not serving; restart it)']
    rollout = plan({'n2': {'instance': 'b', 'role': 'node0', 'diff': []},
                    'n3': {'instance': 'b', 'role': 'headless', 'diff': stopped['diff']}})
    assert rollout['batches'] == [['b']]


def test_a_different_upgrade_over_an_unfinished_one_is_refused():
    check = node_check('n0', inspected(V012, pending=True, kept=True), ['release: v0.12.0rc1 -> v0.13.0'])
    assert 'n0: /etc/ascend-serving/previous.pending holds v0.11.0rc0' in check['blocked']
    assert 'playbooks/rollback.yml' in check['blocked'] and 'playbooks/deploy.yml' in check['blocked']
    assert 'release: v0.12.0rc1 -> v0.13.0' in check['blocked']


def test_a_kept_copy_with_a_stopped_unit_and_no_pending_state_is_refused():
    check = node_check('n0', inspected(V012, kept=True, unit={'active_state': 'failed', 'sub_state': 'failed'}), [])
    assert 'unit is failed' in check['blocked'] and check['finish_commit'] is False


def test_an_upgrade_finished_by_deploy_only_needs_its_commit():
    check = node_check('n0', inspected(V012, kept=True), [])
    assert check == {'diff': [], 'finish_commit': True, 'blocked': ''}


def test_refusals_only_for_instances_the_rollout_upgrades():
    checks = {'n0': {'instance': 'a', 'blocked': 'n0: no'}, 'n2': {'instance': 'b', 'blocked': 'n2: no'},
              'n3': {'instance': 'b', 'blocked': ''}}
    assert refusals(checks, {'batches': [['b']]}) == ['n2: no']
    assert refusals(checks, {'batches': []}) == []


def test_status_says_when_a_node_runs_a_release_not_proven_healthy():
    raw = {'unit': 'ActiveState=active\nSubState=running\n', 'uptime': '10 0',
           'state': dict(V012, instance='a', role='headless', dp_ranks=[1], pending=True, replaces=V011)}
    rec = status_record(raw, 'n1')
    assert rec['pending'] is True
    assert 'v0.12.0rc1 (pending: not proven healthy)' in status_lines({'n1': rec})[1]
    committed = status_record(dict(raw, state=dict(V012, instance='a', role='headless')), 'n1')
    assert committed['pending'] is False and 'pending' not in status_lines({'n1': committed})[1]
