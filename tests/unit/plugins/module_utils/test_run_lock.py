# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run lock: take, refuse, reclaim, break, release - against real files in tmp_path."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

from ansible_collections.ascend.serving.plugins.module_utils import run_lock as rl

ME = {'user': 'root', 'controller': 'ctl', 'pid': 100, 'pid_start': 5, 'playbook': 'deploy.yml'}
OTHER = {'user': 'ops', 'controller': 'laptop', 'pid': 200, 'pid_start': 7, 'playbook': 'upgrade.yml'}


def held(path, owner, started):
    path.write_text(json.dumps({'owner': owner, 'token': rl.token(owner), 'started': started}))


def test_free_lock_is_taken_root_only_with_owner_and_time(tmp_path):
    lock = tmp_path / 'l'
    out = rl.acquire(str(lock), ME, 3600, False, now=1000.0)
    assert out['action'] == 'take'
    data = json.loads(lock.read_text())
    assert data == {'owner': ME, 'token': 'root@ctl:100:5', 'started': 1000.0}
    assert stat.S_IMODE(os.stat(str(lock)).st_mode) == 0o600


def test_second_run_is_refused_naming_owner_age_and_flag(tmp_path):
    lock = tmp_path / 'l'
    held(lock, OTHER, 1000.0)
    out = rl.acquire(str(lock), ME, 3600, False, now=1090.0)
    assert out['action'] == 'refuse'
    assert 'ops@laptop pid 200 running upgrade.yml, taken 90 s ago' in out['message']
    assert 'ascend_serving_break_lock=true' in out['message']
    assert json.loads(lock.read_text())['owner'] == OTHER


def test_break_flag_does_not_break_a_fresh_lock(tmp_path):
    lock = tmp_path / 'l'
    held(lock, OTHER, 1000.0)
    out = rl.acquire(str(lock), ME, 3600, True, now=1100.0)
    assert out['action'] == 'refuse' and 'ascend_serving_lock_max_age=0' in out['message']
    assert json.loads(lock.read_text())['owner'] == OTHER


def test_stale_lock_is_broken_only_with_the_flag(tmp_path):
    lock = tmp_path / 'l'
    held(lock, OTHER, 1000.0)
    assert rl.acquire(str(lock), ME, 3600, False, now=9000.0)['action'] == 'refuse'
    out = rl.acquire(str(lock), ME, 3600, True, now=9000.0)
    assert out['action'] == 'break' and 'broke a stale lock' in out['message']
    assert json.loads(lock.read_text())['owner'] == ME


def test_own_lock_is_kept_reentrant(tmp_path):
    lock = tmp_path / 'l'
    held(lock, ME, 1000.0)
    assert rl.acquire(str(lock), ME, 3600, False, now=1001.0)['action'] == 'ours'


def test_lock_of_a_gone_process_on_this_controller_is_reclaimed(tmp_path):
    lock = tmp_path / 'l'
    gone = dict(ME, pid=101)
    held(lock, gone, 1000.0)
    out = rl.acquire(str(lock), ME, 3600, False, reclaim_token=rl.token(gone), now=1001.0)
    assert out['action'] == 'reclaim' and 'ended without releasing it' in out['message']
    assert json.loads(lock.read_text())['owner'] == ME
    # a token that is not the holder's reclaims nothing
    held(lock, OTHER, 1000.0)
    assert rl.acquire(str(lock), ME, 3600, False, reclaim_token=rl.token(gone), now=1001.0)['action'] == 'refuse'


def test_check_mode_never_writes(tmp_path):
    lock = tmp_path / 'l'
    assert rl.acquire(str(lock), ME, 3600, False, check_mode=True)['action'] == 'take'
    assert not lock.exists()
    held(lock, OTHER, 1000.0)
    assert rl.acquire(str(lock), ME, 3600, True, check_mode=True, now=99999.0)['action'] == 'break'
    assert json.loads(lock.read_text())['owner'] == OTHER


def test_release_removes_only_this_runs_lock(tmp_path):
    lock = tmp_path / 'l'
    held(lock, OTHER, 1000.0)
    assert rl.release(str(lock), ME) == {'released': False, 'holder': json.loads(lock.read_text())}
    assert lock.exists()
    held(lock, ME, 1000.0)
    assert rl.release(str(lock), ME, check_mode=True)['released'] and lock.exists()
    assert rl.release(str(lock), ME)['released'] and not lock.exists()
    assert rl.release(str(lock), ME) == {'released': False, 'holder': None}


def test_unreadable_lock_is_refused_and_aged_by_mtime(tmp_path):
    lock = tmp_path / 'l'
    lock.write_text('garbage')
    os.utime(str(lock), (1000.0, 1000.0))
    out = rl.acquire(str(lock), ME, 3600, False, now=1010.0)
    assert out['action'] == 'refuse' and 'an unreadable lock (10 s old)' in out['message']
    assert rl.acquire(str(lock), ME, 3600, True, now=99999.0)['action'] == 'break'


def test_owner_gone_only_for_this_controller_and_a_dead_or_reused_pid(tmp_path):
    proc = tmp_path / 'proc'
    (proc / '300').mkdir(parents=True)
    fields = ['S'] + ['0'] * 18 + ['4242'] + ['0'] * 10
    (proc / '300' / 'stat').write_text('300 (ansible-playbook) ' + ' '.join(fields) + '\n')
    assert rl.pid_start(300, str(proc)) == 4242
    alive = {'owner': dict(ME, pid=300, pid_start=4242)}
    assert not rl.owner_gone(alive, ME, str(proc))
    assert rl.owner_gone({'owner': dict(ME, pid=300, pid_start=1)}, ME, str(proc))     # pid reused
    assert rl.owner_gone({'owner': dict(ME, pid=301, pid_start=1)}, ME, str(proc))     # no such process
    assert not rl.owner_gone({'owner': dict(OTHER, pid=301)}, ME, str(proc))           # another controller


def test_pid_start_of_a_real_process():
    child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])
    try:
        start = rl.pid_start(child.pid)
        assert isinstance(start, int) and start > 0
        assert not rl.owner_gone({'owner': dict(ME, pid=child.pid, pid_start=start)}, ME)
    finally:
        child.kill()
        child.wait()
    assert rl.owner_gone({'owner': dict(ME, pid=child.pid, pid_start=start)}, ME)
