# -*- coding: utf-8 -*-
"""The upgrade's switch, commit and rollback (module_utils/upgrade_switch.py) on a node tree in a
temporary directory: pending mark, known-good copy, rename instead of writing in place, owner and
mode kept, symlinks refused, every check before any change."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.ascend.serving.plugins.module_utils import upgrade_switch as us

UNIT = 'ascend-vllm.service'
OLD = {'instance': 'a', 'role': 'node0', 'release': 'v0.11.0rc0', 'profile': 'p-v011', 'install_method': 'custom_ops',
       'runtime': 'host', 'port': 8000, 'plan_digest': 'd011', 'endpoint': 'http://10.0.0.1:8000'}
NEW = dict(OLD, release='v0.12.0rc1', profile='p-v012', install_method='image', runtime='container', plan_digest='d012')
OLDER = dict(OLD, release='v0.10.0', profile='p-v010', plan_digest='d010')


def deployed(state):
    """state.json as deploy writes it: to_nice_json(sort_keys=true) plus a newline (the filter's
    own output is compared with this in tests/unit/plugins/filter/test_upgrade_state_format.py)."""
    return json.dumps(state, indent=4, sort_keys=True, separators=(',', ': ')) + '\n'


def write(path, content, mode=0o600):
    with open(str(path), 'w') as handle:
        handle.write(content)
    os.chmod(str(path), mode)


def read(path):
    with open(str(path)) as handle:
        return handle.read()


def mode_of(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


class Node(object):
    """A node's files: config dir (running release), unit dir, stage dir, previous dir."""

    def __init__(self, root, running=None, secret=True):
        running = running or OLD
        self.cfg = root / 'etc' / 'ascend-serving'
        self.units = root / 'etc' / 'systemd' / 'system'
        self.cfg.mkdir(parents=True)
        self.units.mkdir(parents=True)
        os.chmod(str(self.cfg), 0o700)
        self.stage = self.cfg / 'staged'
        self.prev = self.cfg / 'previous'
        self.pend = self.cfg / 'previous.pending'
        self.unit = self.units / UNIT
        write(self.cfg / 'hccl.env', 'export HCCL_IF_IP=%s\n' % running['release'])
        write(self.cfg / 'launch.sh', '#!/bin/sh\n# %s\n' % running['release'], 0o700)
        write(self.cfg / 'state.json', deployed(running))
        if secret:
            write(self.cfg / 'secret.env', 'export VLLM_API_KEY=old\n')
        write(self.unit, '[Service]\n# %s\n' % running['release'], 0o644)

    def stage_release(self, state=None, secret=False, extra=None):
        state = state or NEW
        self.stage.mkdir(mode=0o700)
        write(self.stage / 'hccl.env', 'export HCCL_IF_IP=%s\n' % state['release'])
        write(self.stage / 'launch.sh', '#!/bin/sh\n# %s\n' % state['release'], 0o700)
        write(self.stage / 'state.json', deployed(state))
        write(self.stage / UNIT, '[Service]\n# %s\n' % state['release'], 0o644)
        if secret:
            write(self.stage / 'secret.env', 'export VLLM_API_KEY=new\n')
        for name, content in (extra or {}).items():
            write(self.stage / name, content)

    def keep_previous(self, state=None):
        state = state or OLDER
        self.prev.mkdir(mode=0o700)
        for name in ('hccl.env', 'launch.sh', UNIT):
            write(self.prev / name, '# %s\n' % state['release'])
        write(self.prev / 'state.json', deployed(state))

    def state(self):
        return json.loads(read(self.cfg / 'state.json'))

    def switch(self, check=False):
        return us.switch(str(self.cfg), str(self.stage), str(self.prev), str(self.unit), check=check)

    def commit(self, check=False):
        return us.commit(str(self.cfg), str(self.prev), check=check)

    def rollback(self, rollback_from='auto', check=False):
        return us.rollback(str(self.cfg), str(self.prev), str(self.unit), rollback_from, check=check)

    def snapshot(self):
        seen = {}
        for base in (self.cfg, self.units):
            for dirpath, dirnames, filenames in os.walk(str(base)):
                for name in dirnames + filenames:
                    path = os.path.join(dirpath, name)
                    st = os.lstat(path)
                    body = read(path) if stat.S_ISREG(st.st_mode) else None
                    seen[path] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_ino, body)
        return seen


@pytest.fixture
def node(tmp_path):
    return Node(tmp_path)


def test_switch_marks_state_pending_and_sets_the_running_files_aside(node):
    node.keep_previous()
    node.stage_release(extra={'.ascend-serving-owned': 'ascend.serving\n'})
    res = node.switch()
    state = node.state()
    # The new state is in place but says "switched, not proven", and what it replaced.
    assert state['pending'] is True and state['release'] == 'v0.12.0rc1'
    assert state['replaces'] == {'release': 'v0.11.0rc0', 'profile': 'p-v011', 'install_method': 'custom_ops',
                                 'runtime': 'host'}
    assert res['resumed'] is False and res['replaces']['release'] == 'v0.11.0rc0'
    # Every staged file is in place, including one the switch does not know by name.
    assert read(node.cfg / 'launch.sh') == '#!/bin/sh\n# v0.12.0rc1\n'
    assert read(node.cfg / 'hccl.env') == 'export HCCL_IF_IP=v0.12.0rc1\n'
    assert read(node.unit) == '[Service]\n# v0.12.0rc1\n'
    assert read(node.cfg / '.ascend-serving-owned') == 'ascend.serving\n'
    # The new release has no key: the old one is gone from the config dir, kept aside.
    assert not (node.cfg / 'secret.env').exists()
    assert sorted(os.listdir(str(node.pend))) == sorted(['hccl.env', 'launch.sh', 'secret.env', 'state.json', UNIT])
    assert read(node.pend / 'secret.env') == 'export VLLM_API_KEY=old\n'
    assert read(node.pend / UNIT) == '[Service]\n# v0.11.0rc0\n'
    assert json.loads(read(node.pend / 'state.json'))['release'] == 'v0.11.0rc0'
    assert mode_of(node.pend) == 0o700
    # previous/ (the release before) is untouched until the commit; the stage is gone.
    assert json.loads(read(node.prev / 'state.json'))['release'] == 'v0.10.0'
    assert not node.stage.exists()
    assert not [name for name in os.listdir(str(node.cfg)) if 'upgrade-tmp' in name]


def test_switch_renames_a_new_file_into_place_instead_of_writing_over_the_live_one(node):
    node.stage_release()
    live = os.open(str(node.cfg / 'launch.sh'), os.O_RDONLY)
    inode = os.stat(str(node.cfg / 'launch.sh')).st_ino
    try:
        node.switch()
        # A reader of the old file (the running unit's shell) still sees the old script whole.
        assert os.pread(live, 4096, 0) == b'#!/bin/sh\n# v0.11.0rc0\n'
    finally:
        os.close(live)
    assert os.stat(str(node.cfg / 'launch.sh')).st_ino != inode


def test_switch_keeps_owner_and_mode_of_each_file(node):
    node.stage_release(secret=True)
    os.chmod(str(node.stage / 'hccl.env'), 0o640)
    os.chmod(str(node.cfg / 'launch.sh'), 0o750)
    node.switch()
    assert mode_of(node.cfg / 'hccl.env') == 0o640
    assert mode_of(node.cfg / 'launch.sh') == 0o700
    assert mode_of(node.cfg / 'secret.env') == 0o600
    assert mode_of(node.cfg / 'state.json') == 0o600
    assert mode_of(node.unit) == 0o644
    assert mode_of(node.pend / 'launch.sh') == 0o750
    uid, gid = os.getuid(), os.getgid()
    assert all((os.stat(str(p)).st_uid, os.stat(str(p)).st_gid) == (uid, gid)
               for p in (node.cfg / 'hccl.env', node.unit, node.pend / 'state.json'))


@pytest.mark.parametrize('where', ['live launch.sh', 'staged hccl.env', 'unit', 'previous.pending', 'stage dir'])
def test_switch_refuses_symlinks_and_changes_nothing(node, tmp_path, where):
    node.stage_release()
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    write(elsewhere / 'target', 'x\n')
    if where == 'live launch.sh':
        os.unlink(str(node.cfg / 'launch.sh'))
        os.symlink(str(elsewhere / 'target'), str(node.cfg / 'launch.sh'))
    elif where == 'staged hccl.env':
        os.unlink(str(node.stage / 'hccl.env'))
        os.symlink(str(elsewhere / 'target'), str(node.stage / 'hccl.env'))
    elif where == 'unit':
        os.unlink(str(node.unit))
        os.symlink(str(elsewhere / 'target'), str(node.unit))
    elif where == 'previous.pending':
        os.symlink(str(elsewhere), str(node.pend))
    else:
        os.rename(str(node.stage), str(elsewhere / 'staged'))
        os.symlink(str(elsewhere / 'staged'), str(node.stage))
    before = node.snapshot()
    with pytest.raises(us.SwitchError, match='symlink'):
        node.switch()
    assert node.snapshot() == before
    assert read(elsewhere / 'target') == 'x\n'


def test_switch_with_an_incomplete_stage_changes_nothing(node):
    node.stage_release()
    os.unlink(str(node.stage / UNIT))
    before = node.snapshot()
    with pytest.raises(us.SwitchError, match='lacks ascend-vllm.service'):
        node.switch()
    assert node.snapshot() == before


def test_check_mode_reports_the_switch_and_changes_nothing(node):
    node.stage_release()
    before = node.snapshot()
    res = node.switch(check=True)
    assert node.snapshot() == before
    assert res['changed'] is True and res['state']['pending'] is True
    assert str(node.cfg / 'secret.env') in res['removed'] and str(node.cfg / 'secret.env') in res['set_aside']
    assert res['installed'][0] == str(node.cfg / 'state.json')


def test_a_new_upgrade_is_refused_while_an_unfinished_one_kept_the_known_good_copy(node):
    node.stage_release()
    node.switch()  # interrupted: never committed nor rolled back
    known_good = dict((name, read(node.pend / name)) for name in os.listdir(str(node.pend)))
    node.stage_release(state=dict(NEW, release='v0.13.0', plan_digest='d013'))
    before = node.snapshot()
    with pytest.raises(us.SwitchError) as err:
        node.switch()
    assert 'rollback.yml' in str(err.value) and 'deploy.yml' in str(err.value) and 'release' in str(err.value)
    assert node.snapshot() == before
    assert dict((name, read(node.pend / name)) for name in os.listdir(str(node.pend))) == known_good


def test_a_leftover_previous_pending_without_a_pending_state_is_refused(node):
    node.stage_release()
    node.pend.mkdir()
    write(node.pend / 'state.json', deployed(OLDER))
    before = node.snapshot()
    with pytest.raises(us.SwitchError, match='never overwritten'):
        node.switch()
    assert node.snapshot() == before


def test_resuming_the_same_upgrade_keeps_the_known_good_copy(node):
    node.stage_release()
    node.switch()
    known_good = node.snapshot()
    known_good = dict((p, v) for p, v in known_good.items() if p.startswith(str(node.pend)))
    node.stage_release()
    res = node.switch()
    assert dict((p, v) for p, v in node.snapshot().items() if p.startswith(str(node.pend))) == known_good
    assert res['resumed'] is True and res['set_aside'] == []
    state = node.state()
    assert state['pending'] is True and state['replaces']['release'] == 'v0.11.0rc0'


def test_commit_keeps_the_replaced_release_and_drops_the_mark_byte_for_byte(node):
    node.keep_previous()
    node.stage_release()
    node.switch()
    res = node.commit()
    assert res['changed'] is True
    # state.json is exactly what deploy.yml writes for this release: a later deploy changes nothing.
    assert read(node.cfg / 'state.json') == deployed(NEW)
    assert mode_of(node.cfg / 'state.json') == 0o600
    assert json.loads(read(node.prev / 'state.json'))['release'] == 'v0.11.0rc0'
    assert read(node.prev / 'secret.env') == 'export VLLM_API_KEY=old\n'
    assert not node.pend.exists()
    assert sorted(name for name in os.listdir(str(node.cfg))) == sorted(
        ['hccl.env', 'launch.sh', 'state.json', 'previous'])
    again = node.commit()
    assert again['changed'] is False


def test_commit_in_check_mode_changes_nothing(node):
    node.stage_release()
    node.switch()
    before = node.snapshot()
    assert node.commit(check=True)['changed'] is True
    assert node.snapshot() == before


def test_rollback_of_a_failed_switch_restores_what_ran_before_and_keeps_previous(node):
    node.keep_previous()
    node.stage_release()
    node.switch()
    res = node.rollback('unfinished')
    assert res['source'] == str(node.pend)
    assert read(node.cfg / 'state.json') == deployed(OLD)
    assert read(node.cfg / 'launch.sh') == '#!/bin/sh\n# v0.11.0rc0\n'
    assert read(node.cfg / 'secret.env') == 'export VLLM_API_KEY=old\n'
    assert read(node.unit) == '[Service]\n# v0.11.0rc0\n'
    assert mode_of(node.cfg / 'launch.sh') == 0o700
    assert not node.pend.exists()
    assert json.loads(read(node.prev / 'state.json'))['release'] == 'v0.10.0'


def test_rollback_after_a_failure_before_the_switch_restores_nothing(node):
    # The stop failed: nothing was switched; previous/ holds an older release that must not come back.
    node.keep_previous()
    before = node.snapshot()
    res = node.rollback('unfinished')
    assert node.snapshot() == before
    assert res['changed'] is False and res['source'] is None
    assert res['state']['release'] == 'v0.11.0rc0'


def test_rollback_by_hand_after_a_finished_upgrade_uses_previous(node):
    node.stage_release(secret=True)
    node.switch()
    node.commit()
    res = node.rollback()
    assert res['source'] == str(node.prev)
    assert read(node.cfg / 'state.json') == deployed(OLD)
    assert read(node.cfg / 'secret.env') == 'export VLLM_API_KEY=old\n'
    assert node.prev.is_dir()


def test_rollback_without_a_kept_release_fails_clearly(node):
    before = node.snapshot()
    with pytest.raises(us.SwitchError, match='no previous release to roll back to'):
        node.rollback()
    assert node.snapshot() == before


def test_an_interrupted_switch_is_pending_and_rolls_back_whole(node, monkeypatch):
    node.stage_release()
    calls = []
    real = us._put_copy

    def dies_after_state(src, dest):
        calls.append(dest)
        raise OSError(28, 'No space left on device', dest)

    monkeypatch.setattr(us, '_put_copy', dies_after_state)
    with pytest.raises(OSError):
        node.switch()
    monkeypatch.setattr(us, '_put_copy', real)
    assert calls  # it died after state.json, before the other files
    assert node.state()['pending'] is True
    assert read(node.cfg / 'launch.sh') == '#!/bin/sh\n# v0.11.0rc0\n'
    assert not [name for name in os.listdir(str(node.cfg)) if 'upgrade-tmp' in name]
    node.rollback('unfinished')
    assert read(node.cfg / 'state.json') == deployed(OLD)
    assert not node.pend.exists()


def test_inspect_reports_the_pending_switch_and_the_kept_copies(node):
    node.keep_previous()
    clean = us.inspect(str(node.cfg), str(node.prev))
    assert clean['pending'] is False and clean['pending_dir_exists'] is False
    assert clean['previous_state']['release'] == 'v0.10.0' and clean['state'] == OLD
    node.stage_release()
    node.switch()
    res = us.inspect(str(node.cfg), str(node.prev))
    assert res['pending'] is True and res['pending_dir_exists'] is True
    assert res['pending_dir_state']['release'] == 'v0.11.0rc0' and res['replaces']['release'] == 'v0.11.0rc0'


def test_inspect_of_a_corrupt_state_names_the_file_and_the_fix(node):
    write(node.cfg / 'state.json', '{"release": ')
    with pytest.raises(us.SwitchError, match='state.json is not a JSON state record.*deploy.yml'):
        us.inspect(str(node.cfg), str(node.prev))


def test_discard_removes_a_stale_stage_and_refuses_anything_but_files(node):
    node.stage_release()
    res = us.discard_stage(str(node.stage))
    assert res['changed'] is True and not node.stage.exists()
    assert us.discard_stage(str(node.stage))['changed'] is False
    node.stage_release()
    (node.stage / 'sub').mkdir()
    with pytest.raises(us.SwitchError, match='not a regular file'):
        us.discard_stage(str(node.stage))
    assert (node.stage / 'launch.sh').exists()


@pytest.mark.parametrize('args', [('relative/cfg', '/s', '/p', '/u'), ('/', '/s', '/p', '/u'),
                                  ('/c', '/c', '/p', '/u')])
def test_bad_paths_are_refused(args):
    with pytest.raises(us.SwitchError):
        us.switch(*args)


def test_parse_unit_show():
    assert us.parse_unit_show('ActiveState=failed\nSubState=failed\nLoadState=loaded\n') == {
        'active_state': 'failed', 'sub_state': 'failed', 'load_state': 'loaded'}
    assert us.parse_unit_show('')['active_state'] == 'unknown'


def test_commit_never_removes_a_directory_it_did_not_make(node):
    # upgrade_previous_dir pointed at a real tree (a mistyped variable): refused, nothing removed.
    node.stage_release()
    node.switch()
    (node.prev / 'lib').mkdir(parents=True)
    write(node.prev / 'lib' / 'keep.so', 'x\n')
    before = node.snapshot()
    with pytest.raises(us.SwitchError, match='not a directory this upgrade made'):
        node.commit()
    assert node.snapshot() == before
