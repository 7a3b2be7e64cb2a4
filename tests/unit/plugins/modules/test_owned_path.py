# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""owned_path and ops_backup modules against real directories in tmp_path (no command runs,
except the fake Python that lists a wheel's files)."""

from __future__ import annotations

import json

from ansible_collections.ascend.serving.plugins.module_utils.owned_path import MARKER
from ansible_collections.ascend.serving.plugins.modules import ops_backup, owned_path
from ansible_collections.ascend.serving.tests.unit.plugins.modules.utils import FakeRunner, run_module


def test_unowned_directory_is_refused_and_kept(tmp_path):
    # The old undeploy (ansible.builtin.file state=absent) removed it: -e vllm_service_config_dir=<any dir>.
    victim = tmp_path / 'etc-like'
    victim.mkdir()
    (victim / 'passwd').write_text('root:x:0:0')
    args = {'path': str(victim), 'legacy': ['state.json', 'launch.sh'], 'host': 'node0', 'variable': 'vllm_service_config_dir'}
    failed, result, dummy = run_module(owned_path.main, args)
    assert failed and 'node0: vllm_service_config_dir=' in result['msg'] and MARKER in result['msg']
    assert (victim / 'passwd').read_text() == 'root:x:0:0'


def test_etc_is_refused():
    failed, result, dummy = run_module(owned_path.main, {'path': '/etc', 'host': 'node1', 'variable': 'vllm_service_config_dir'})
    assert failed and result['msg'].startswith("node1: vllm_service_config_dir='/etc' is a system directory")


def test_owned_directory_is_removed_and_check_mode_keeps_it(tmp_path):
    cfg = tmp_path / 'cfg'
    cfg.mkdir()
    (cfg / MARKER).write_text('')
    failed, result, dummy = run_module(owned_path.main, {'path': str(cfg), '_ansible_check_mode': True})
    assert not failed and result['changed'] and result['removed'] and cfg.exists()
    failed, result, dummy = run_module(owned_path.main, {'path': str(cfg), 'state': 'checked'})
    assert not failed and not result['changed'] and cfg.exists()
    failed, result, dummy = run_module(owned_path.main, {'path': str(cfg)})
    assert not failed and result['changed'] and result['owned_by'] == 'marker' and not cfg.exists()
    failed, result, dummy = run_module(owned_path.main, {'path': str(cfg)})
    assert not failed and not result['changed'] and not result['exists']


def test_weights_still_named_are_kept_with_a_message(tmp_path):
    weights = tmp_path / 'w'
    weights.mkdir()
    other = tmp_path / 'cfg-b'
    other.mkdir()
    (other / 'state.json').write_text(json.dumps({'model': str(weights)}))
    failed, result, dummy = run_module(owned_path.main, {'path': str(weights), 'rule': 'safe', 'state_dirs': [str(other)]})
    assert not failed and not result['changed'] and weights.exists()
    assert result['kept_for'] == [str(other / 'state.json')] and 'kept: still named by' in result['msg']


def test_wheel_and_sfa_snapshot_then_restore(tmp_path):
    site = tmp_path / 'site'
    (site / 'torch_npu').mkdir(parents=True)
    original = site / 'torch_npu' / '__init__.py'
    original.write_text('version = "2.7.1"  # the original\n')
    opp = tmp_path / 'opp' / 'vendors'
    (opp / 'customize' / 'op_api').mkdir(parents=True)
    (opp / 'customize' / 'op_api' / 'lib.so').write_text('original op')
    stamp = tmp_path / 'ops' / 'v0.11.0rc0-a3.json'
    stamp.parent.mkdir()
    installed = {'torch_npu': {'version': '2.7.1', 'files': [str(original)]}}

    def answer(argv):
        if argv[1] == '-c':
            return 0, json.dumps(dict((d, installed.get(d)) for d in json.loads(argv[3]))), ''
        assert argv[1:5] == ['-m', 'pip', 'uninstall', '-y'] and argv[-1] == 'torch_npu', argv
        original.unlink()
        installed['torch_npu'] = None
        return 0, 'Successfully uninstalled', ''

    snap = tmp_path / 'backup' / 'original'
    args = {'dir': str(snap), 'python': '/venv/bin/python', 'dists': ['torch_npu'],
            'paths': [str(opp / 'customize'), str(opp / 'config.ini')], 'stamp': str(stamp), 'only_if_absent': True}
    failed, result, dummy = run_module(ops_backup.main, args, runner=FakeRunner(answer))
    assert not failed and result['changed'] and result['manifest']['dists'] == {'torch_npu': '2.7.1'}
    # a second snapshot keeps the first (the originals are recorded once)
    failed, result, dummy = run_module(ops_backup.main, args, runner=FakeRunner(answer))
    assert not failed and not result['changed']
    # the install replaces both
    original.write_text('version = "2.7.1.post2"  # the release\n')
    installed['torch_npu'] = {'version': '2.7.1.post2', 'files': [str(original)]}
    (opp / 'customize' / 'op_api' / 'lib.so').write_text('sfa op')
    (opp / 'customize' / 'op_api' / 'sfa.so').write_text('sfa op')
    (opp / 'config.ini').write_text('load_priority=customize\n')
    stamp.write_text('{}')
    runner = FakeRunner(answer)
    failed, result, dummy = run_module(ops_backup.main, {'dir': str(snap), 'state': 'restore'}, runner=runner)
    assert not failed and result['changed'] and result['restored'] == 2, result
    assert original.read_text() == 'version = "2.7.1"  # the original\n'
    assert (opp / 'customize' / 'op_api' / 'lib.so').read_text() == 'original op'
    assert not (opp / 'customize' / 'op_api' / 'sfa.so').exists() and not (opp / 'config.ini').exists()
    assert not stamp.exists() and not snap.exists()
    assert [c[1:4] for c in runner.calls] == [['-c', ops_backup.ops_backup.DIST_FILES_CODE, '["torch_npu"]'],
                                              ['-m', 'pip', 'uninstall']]
    failed, result, dummy = run_module(ops_backup.main, {'dir': str(snap), 'state': 'restore'})
    assert not failed and not result['changed']


def test_previous_restore_only_for_the_release_it_was_taken_for(tmp_path):
    snap = tmp_path / 'previous'
    target = tmp_path / 'f'
    target.write_text('x')
    run_module(ops_backup.main, {'dir': str(snap), 'python': 'py', 'paths': [str(target)], 'stamp': '/o/ops/A.json'})
    target.write_text('y')
    failed, result, dummy = run_module(ops_backup.main, {'dir': str(snap), 'state': 'restore', 'only_for_stamp': '/o/ops/B.json'})
    assert not failed and not result['changed'] and target.read_text() == 'y'
    failed, result, dummy = run_module(ops_backup.main, {'dir': str(snap), 'state': 'restore', 'only_for_stamp': '/o/ops/A.json'})
    assert not failed and result['changed'] and target.read_text() == 'x'
