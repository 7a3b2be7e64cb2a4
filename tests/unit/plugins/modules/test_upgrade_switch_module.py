# -*- coding: utf-8 -*-
"""upgrade_switch (the module) against real files in a temporary directory, systemctl answered by a
fake runner: argument validation, check mode, errors as fail_json, inspect's unit state."""

from __future__ import annotations

import json
import os

from ansible_collections.ascend.serving.plugins.modules import upgrade_switch
from ansible_collections.ascend.serving.tests.unit.plugins.modules.utils import FakeRunner, run_module

STATE = {'instance': 'a', 'role': 'node0', 'release': 'v0.11.0rc0', 'profile': 'p', 'install_method': 'custom_ops',
         'runtime': 'host'}
SHOW = 'ActiveState=failed\nSubState=failed\nLoadState=loaded\n'


def write(path, content, mode=0o600):
    with open(str(path), 'w') as handle:
        handle.write(content)
    os.chmod(str(path), mode)


def tree(tmp_path):
    cfg = tmp_path / 'cfg'
    units = tmp_path / 'units'
    cfg.mkdir()
    units.mkdir()
    for name in ('hccl.env', 'launch.sh'):
        write(cfg / name, 'old %s\n' % name)
    write(cfg / 'state.json', json.dumps(STATE))
    write(units / 'ascend-vllm.service', 'old unit\n', 0o644)
    stage = cfg / 'staged'
    stage.mkdir()
    for name in ('hccl.env', 'launch.sh', 'ascend-vllm.service'):
        write(stage / name, 'new %s\n' % name)
    write(stage / 'state.json', json.dumps(dict(STATE, release='v0.12.0rc1')))
    return {'config_dir': str(cfg), 'stage_dir': str(stage), 'previous_dir': str(cfg / 'previous'),
            'unit_path': str(units / 'ascend-vllm.service')}


def listing(root):
    return sorted(os.path.join(d, n) for d, dirs, files in os.walk(str(root)) for n in dirs + files)


def test_inspect_reads_state_and_unit_and_changes_nothing(tmp_path):
    paths = tree(tmp_path)
    runner = FakeRunner(lambda argv: (0, SHOW, ''))
    failed, res, dummy = run_module(upgrade_switch.main, dict(paths, action='inspect', stage_dir=None),
                                    runner=runner, bin_paths={'systemctl': '/bin/systemctl'})
    assert not failed and res['changed'] is False
    assert res['state']['release'] == 'v0.11.0rc0' and res['pending'] is False
    assert res['unit'] == {'active_state': 'failed', 'sub_state': 'failed', 'load_state': 'loaded'}
    assert runner.calls == [['/bin/systemctl', 'show', '-p', 'ActiveState', '-p', 'SubState', '-p', 'LoadState',
                             '--', 'ascend-vllm.service']]


def test_inspect_fails_clearly_when_systemctl_fails(tmp_path):
    paths = tree(tmp_path)
    runner = FakeRunner(lambda argv: (1, '', 'Failed to connect to bus'))
    failed, res, dummy = run_module(upgrade_switch.main, dict(paths, action='inspect'), runner=runner,
                                    bin_paths={'systemctl': '/bin/systemctl'})
    assert failed and 'systemctl show ascend-vllm.service failed (rc 1): Failed to connect to bus' in res['msg']


def test_switch_in_check_mode_changes_nothing(tmp_path):
    paths = tree(tmp_path)
    before = listing(tmp_path)
    failed, res, dummy = run_module(upgrade_switch.main, dict(paths, action='switch', _ansible_check_mode=True))
    assert not failed and res['changed'] is True and res['state']['pending'] is True
    assert listing(tmp_path) == before


def test_switch_then_commit(tmp_path):
    paths = tree(tmp_path)
    failed, res, dummy = run_module(upgrade_switch.main, dict(paths, action='switch'))
    assert not failed and res['changed'] is True
    assert sorted(os.path.basename(p) for p in res['set_aside']) == [
        'ascend-vllm.service', 'hccl.env', 'launch.sh', 'state.json']
    commit = dict((k, paths[k]) for k in ('config_dir', 'previous_dir'))
    failed, res, dummy = run_module(upgrade_switch.main, dict(commit, action='commit'))
    assert not failed and res['changed'] is True and 'pending' not in res['state']
    failed, res, dummy = run_module(upgrade_switch.main, dict(commit, action='commit'))
    assert not failed and res['changed'] is False


def test_missing_arguments_are_refused_before_anything(tmp_path):
    paths = tree(tmp_path)
    before = listing(tmp_path)
    failed, res, dummy = run_module(upgrade_switch.main, {'action': 'switch', 'config_dir': paths['config_dir']})
    assert failed and 'stage_dir' in res['msg'] and 'unit_path' in res['msg']
    assert listing(tmp_path) == before


def test_a_refused_switch_is_a_failure_naming_the_fix(tmp_path):
    paths = tree(tmp_path)
    os.mkdir(paths['previous_dir'] + '.pending')
    failed, res, dummy = run_module(upgrade_switch.main, dict(paths, action='switch'))
    assert failed and res['msg'].startswith('switch: ') and 'playbooks/rollback.yml' in res['msg']
