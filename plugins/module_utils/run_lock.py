# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One run of deploy/upgrade/rollback/undeploy at a time per node: the lock file's logic.

Pure logic (standard library only), used by the ``run_lock`` module (on the node), its action
plugin (on the controller: who am I, is the holder's process still running) and the unit tests.

The lock file (default ``/run/ascend-serving.lock``, gone after a reboot) is JSON::

    {"owner": {"user": "root", "controller": "ctl", "pid": 4242, "pid_start": 9876, "playbook": "deploy.yml"},
     "token": "root@ctl:4242:9876", "started": 1733300000.0}

``started`` is the node's clock when the lock was taken, so its age never depends on the
controller's clock. Rules (``decide``):

- no lock: take it (created with O_EXCL: of two runs racing, one wins);
- the lock is this run's own (same token: a playbook importing another locked one): keep it;
- its owner ran on this same controller and that process is gone (``owner_gone``, known only on the
  controller): the run ended without releasing it - Ansible runs no later play after a failure - so
  it is reclaimed, with a warning;
- ``break_lock`` and the lock is older than ``max_age`` seconds: broken, with a warning;
- else refused, naming the owner, its age and how to break it.
"""

from __future__ import annotations

import errno
import json
import os
import time

DEFAULT_PATH = '/run/ascend-serving.lock'
BREAK_FLAG = 'ascend_serving_break_lock'
MAX_AGE_VAR = 'ascend_serving_lock_max_age'


def token(owner):
    return '%s@%s:%s:%s' % (owner.get('user'), owner.get('controller'), owner.get('pid'), owner.get('pid_start'))


def pid_start(pid, proc='/proc'):
    """The start time (clock ticks since boot) of process ``pid``, or None (no such process / no /proc)."""
    try:
        with open(os.path.join(proc, str(int(pid)), 'stat'), encoding='utf-8', errors='replace') as handle:
            data = handle.read()
    except (OSError, ValueError, TypeError):
        return None
    fields = data.rsplit(')', 1)[-1].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def owner_gone(holder, me, proc='/proc'):
    """True when the lock's owner ran on this controller and its process no longer runs."""
    owner = (holder or {}).get('owner') or {}
    if not owner or owner.get('controller') != me.get('controller'):
        return False
    pid = owner.get('pid')
    if not isinstance(pid, int) or pid <= 0:
        return False
    now_start = pid_start(pid, proc)
    if now_start is None:
        return True
    recorded = owner.get('pid_start')
    return recorded is not None and recorded != now_start


def parse(text, mtime):
    """The lock file's content as a dict (unreadable content: an unknown owner, aged by the file's mtime)."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get('owner'), dict):
        return {'owner': {}, 'token': None, 'started': mtime, 'unreadable': True}
    if not isinstance(data.get('started'), (int, float)):
        data['started'] = mtime
    return data


def describe(holder, now):
    owner = holder.get('owner') or {}
    age = max(0, int(now - holder.get('started', now)))
    if not owner:
        return 'an unreadable lock (%d s old)' % age
    return '%s@%s pid %s running %s, taken %d s ago' % (owner.get('user', '?'), owner.get('controller', '?'),
                                                        owner.get('pid', '?'), owner.get('playbook', '?'), age)


def decide(holder, me, now, max_age, break_lock, gone=False):
    """('take' | 'ours' | 'reclaim' | 'break' | 'refuse', message) for the lock ``holder`` (None: no lock)."""
    if holder is None:
        return 'take', ''
    if holder.get('token') and holder.get('token') == token(me):
        return 'ours', ''
    what = describe(holder, now)
    if gone:
        return 'reclaim', ('reclaimed the lock of a run that ended without releasing it (%s; that process is gone '
                           'from this controller)' % what)
    age = now - holder.get('started', now)
    if break_lock and age >= max_age:
        return 'break', 'broke a stale lock (%s, older than %d s) as %s=true asked' % (what, max_age, BREAK_FLAG)
    if break_lock:
        hint = ('%s=true breaks a lock only once it is older than %s (%d s): wait, or if you are sure that run is '
                'gone, also pass -e %s=0' % (BREAK_FLAG, MAX_AGE_VAR, max_age, MAX_AGE_VAR))
    else:
        hint = ('wait for it to finish; if that run is gone (its controller crashed or lost the connection), run again '
                'with -e %s=true once the lock is older than %s (%d s)' % (BREAK_FLAG, MAX_AGE_VAR, max_age))
    return 'refuse', 'another run holds the lock: %s. Two runs on the same nodes at once are refused: %s.' % (what, hint)


def read(path):
    """The current holder of the lock at ``path``, or None."""
    try:
        with open(path, encoding='utf-8', errors='replace') as handle:
            text = handle.read()
        mtime = os.stat(path).st_mtime
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    return parse(text, mtime)


def content(me, now):
    return json.dumps({'owner': me, 'token': token(me), 'started': now}, sort_keys=True) + '\n'


def create(path, me, now):
    """Create the lock; False when another run created it first."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            return False
        raise
    with os.fdopen(fd, 'w', encoding='utf-8') as handle:
        handle.write(content(me, now))
    return True


def replace(path, me, now):
    """Overwrite a stale or reclaimed lock atomically (temporary file + rename)."""
    tmp = '%s.%d.tmp' % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w', encoding='utf-8') as handle:
        handle.write(content(me, now))
    os.rename(tmp, path)


def acquire(path, me, max_age, break_lock, reclaim_token=None, check_mode=False, now=None):
    """Take the lock. Returns {'action', 'message', 'holder'}; action 'refuse' means not taken."""
    now = time.time() if now is None else now
    for _attempt in range(2):
        holder = read(path)
        gone = bool(reclaim_token) and holder is not None and holder.get('token') == reclaim_token
        action, message = decide(holder, me, now, max_age, break_lock, gone)
        if action == 'refuse' or action == 'ours' or check_mode:
            return {'action': action, 'message': message, 'holder': holder}
        if action == 'take':
            if create(path, me, now):
                return {'action': action, 'message': message, 'holder': None}
            continue  # another run was faster: decide again against it
        replace(path, me, now)
        return {'action': action, 'message': message, 'holder': holder}
    return {'action': 'refuse', 'message': 'another run took the lock at the same moment', 'holder': read(path)}


def release(path, me, check_mode=False):
    """Remove the lock when it is this run's. Returns {'released', 'holder'}."""
    holder = read(path)
    if holder is None or holder.get('token') != token(me):
        return {'released': False, 'holder': holder}
    if not check_mode:
        try:
            os.unlink(path)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise
    return {'released': True, 'holder': holder}
