# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The upgrade's file switch, commit and rollback on one node (files only, no Ansible: unit-testable).

Layout: the config dir (``/etc/ascend-serving``) holds what the unit runs - ``hccl.env``,
``launch.sh``, ``state.json``, ``secret.env`` when there is a key, and whatever else the staging
writes; the unit file lives in its own directory (``/etc/systemd/system``). An upgrade renders the
new release's files into the stage dir (``<config>/staged``, the unit file included), then:

* ``switch`` - the files running now are copied aside into ``<previous>.pending`` (a new directory,
  renamed into place complete), then every staged file is put in place; ``state.json`` first, and
  carrying the pending mark (``"pending": true`` and ``"replaces"``: release, profile, install
  method and runtime of the known-good release it replaced). A state.json with the mark means
  "switched, not yet proven": the next upgrade treats it as a difference.
* ``commit`` (the new release answered /health and the functional check) - ``<previous>.pending``
  becomes ``<previous>``, then state.json is rewritten without the mark.
* ``rollback`` - the files of ``<previous>.pending`` (an unfinished switch) or of ``<previous>`` go
  back in place.

``<previous>.pending`` always holds the last known-good copy: a switch never overwrites or deletes
it. A switch with ``<previous>.pending`` present is only allowed to resume the very upgrade that
created it (state.json pending, same target); anything else is refused.

Every file is put in place through a temporary file in the destination's directory and
``os.rename`` (never written over in place), with the owner and mode of its source; symlinks are
refused wherever a file or directory is read or replaced.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import tempfile

from ansible_collections.ascend.serving.plugins.module_utils.service import state_diff

STATE = 'state.json'
# The files a release must stage (besides the unit file).
REQUIRED = ('hccl.env', 'launch.sh', STATE)
# Files of the config dir that belong to the running release but may be absent from the next
# one: removed when the stage has none (the API key of a release deployed without one).
OPTIONAL = ('secret.env',)
PENDING_KEYS = ('pending', 'replaces')
SUMMARY_KEYS = ('release', 'profile', 'install_method', 'runtime')
UNFINISHED_HELP = ('run playbooks/rollback.yml (back to what ran before it) or finish it with playbooks/deploy.yml '
                   '(or upgrade.yml) using the inventory it was started with, then re-run')


class SwitchError(Exception):
    """The switch, commit or rollback cannot run as asked; nothing was changed when raised by a check."""


def pending_dir(previous):
    """Where the files running before an unfinished switch are kept."""
    return os.path.normpath(previous) + '.pending'


def _lstat(path):
    try:
        return os.lstat(path)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise


def _check_dir(path, what, must_exist=False):
    """The lstat of directory ``path`` (None when absent); refuses symlinks and non-directories."""
    st = _lstat(path)
    if st is None:
        if must_exist:
            raise SwitchError('%s %s does not exist' % (what, path))
        return None
    if stat.S_ISLNK(st.st_mode):
        raise SwitchError('%s %s is a symlink: refusing to follow it (replace it by a real directory)' % (what, path))
    if not stat.S_ISDIR(st.st_mode):
        raise SwitchError('%s %s is not a directory: move it away and re-run' % (what, path))
    return st


def _check_file(path, what, must_exist=False):
    """The lstat of regular file ``path`` (None when absent); refuses symlinks and anything else."""
    st = _lstat(path)
    if st is None:
        if must_exist:
            raise SwitchError('%s %s does not exist' % (what, path))
        return None
    if stat.S_ISLNK(st.st_mode):
        raise SwitchError('%s %s is a symlink: refusing to follow or replace it (put a regular file there)'
                          % (what, path))
    if not stat.S_ISREG(st.st_mode):
        raise SwitchError('%s %s is not a regular file: move it away and re-run' % (what, path))
    return st


def _read_bytes(path):
    fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0))
    with os.fdopen(fd, 'rb') as handle:
        return handle.read()


def read_state(path):
    """The state record at ``path`` (None when absent); a symlink, non-JSON or non-mapping fails."""
    if _check_file(path, 'state file') is None:
        return None
    try:
        data = json.loads(_read_bytes(path).decode('utf-8'))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SwitchError('%s is not a JSON state record (%s): re-run playbooks/deploy.yml to rewrite it'
                          % (path, exc))
    if not isinstance(data, dict):
        raise SwitchError('%s is not a JSON object: re-run playbooks/deploy.yml' % path)
    return data


def is_pending(state):
    """A state record put in place by a switch whose release was not proven healthy yet."""
    return isinstance(state, dict) and state.get('pending') is True


def summary(state):
    """What a state record says runs (release, profile, install method, runtime), or None."""
    if not isinstance(state, dict):
        return None
    return dict((key, state.get(key)) for key in SUMMARY_KEYS)


def strip_mark(state):
    """``state`` without the pending mark."""
    return dict((key, value) for key, value in state.items() if key not in PENDING_KEYS)


def mark(state, replaces):
    """``state`` with the pending mark: switched, replacing ``replaces`` (a summary or None)."""
    marked = strip_mark(state)
    marked['pending'] = True
    marked['replaces'] = replaces
    return marked


def target_diff(current, staged):
    """How a staged state record differs from the one in place (the same comparison as
    upgrade.yml's difference, module_utils/service.state_diff): empty = the same target."""
    return state_diff(strip_mark(current or {}) or None, staged or {})


def state_bytes(state):
    """A state record as deploy writes it (``to_nice_json(sort_keys=true)`` plus a newline), so a
    committed state.json is byte for byte what deploy.yml would write."""
    return (json.dumps(state, indent=4, sort_keys=True, separators=(',', ': ')) + '\n').encode('utf-8')


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def put_file(dest, content, uid, gid, mode):
    """Write ``content`` to a temporary file beside ``dest`` with owner ``uid:gid`` and ``mode``,
    then rename it over ``dest`` (readers see the old or the new file, never a partial one)."""
    _check_file(dest, 'destination')
    directory = os.path.dirname(dest)
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(dest), suffix='.upgrade-tmp', dir=directory)
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(content)
            handle.flush()
            os.fchown(handle.fileno(), uid, gid)
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.rename(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def _put_copy(src, dest):
    st = _check_file(src, 'source', must_exist=True)
    put_file(dest, _read_bytes(src), st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))


def _new_dir_with(dest, files):
    """Create directory ``dest`` (0700) holding copies of ``files`` ({name: source path}, owner
    and mode kept): built under a temporary name beside ``dest`` and renamed into place complete."""
    parent = os.path.dirname(dest)
    tmp = tempfile.mkdtemp(prefix='.%s.' % os.path.basename(dest), suffix='.upgrade-tmp', dir=parent)
    try:
        for name in sorted(files):
            src = files[name]
            st = _check_file(src, 'file to set aside', must_exist=True)
            data = _read_bytes(src)
            fd = os.open(os.path.join(tmp, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, 'wb') as handle:
                handle.write(data)
                handle.flush()
                os.fchown(handle.fileno(), st.st_uid, st.st_gid)
                os.fchmod(handle.fileno(), stat.S_IMODE(st.st_mode))
                os.fsync(handle.fileno())
        os.chmod(tmp, 0o700)
        os.rename(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(parent)


def _check_flat(path, what):
    """A kept-release or stage directory holds regular files only: the only kind of directory this
    module ever removes (so a mistyped variable can never make it delete a real tree)."""
    _check_dir(path, what, must_exist=True)
    for name in sorted(os.listdir(path)):
        st = _lstat(os.path.join(path, name))
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise SwitchError('%s %s holds %s, which is not a regular file: it is not a directory this upgrade made - '
                              'refusing to remove it (check the upgrade_*_dir variables)' % (what, path, name))


def _remove_dir(path, what='directory to remove'):
    """Remove a flat directory (regular files only): renamed away first, so readers see it whole or gone."""
    _check_flat(path, what)
    gone = tempfile.mkdtemp(prefix='.%s.' % os.path.basename(path), suffix='.removed', dir=os.path.dirname(path))
    tree = os.path.join(gone, 'tree')
    os.rename(path, tree)
    for name in os.listdir(tree):
        os.unlink(os.path.join(tree, name))
    os.rmdir(tree)
    os.rmdir(gone)
    _fsync_dir(os.path.dirname(path))


def _remove_file(path):
    _check_file(path, 'file to remove', must_exist=True)
    os.unlink(path)
    _fsync_dir(os.path.dirname(path))


def _check_paths(**paths):
    for what, path in paths.items():
        if path is None:
            continue
        if not os.path.isabs(path):
            raise SwitchError('%s %r must be an absolute path' % (what, path))
        if os.path.normpath(path) == '/':
            raise SwitchError('%s must not be /' % what)


def staged_files(stage, unit_name):
    """The regular files the staging wrote ({name: path}); the stage holds nothing else."""
    _check_dir(stage, 'stage directory', must_exist=True)
    files = {}
    for name in sorted(os.listdir(stage)):
        path = os.path.join(stage, name)
        st = _lstat(path)
        if st is None:
            continue
        if not stat.S_ISREG(st.st_mode):
            raise SwitchError('%s is %s: the staging writes regular files only - remove it and re-run the upgrade'
                              % (path, 'a symlink' if stat.S_ISLNK(st.st_mode) else 'not a regular file'))
        files[name] = path
    missing = [name for name in REQUIRED + (unit_name,) if name not in files]
    if missing:
        raise SwitchError('%s lacks %s: the new release was not staged completely - re-run the upgrade'
                          % (stage, ', '.join(missing)))
    return files


def inspect(config_dir, previous_dir):
    """What a node records: its state record, whether it is pending, and the kept copies."""
    _check_paths(config_dir=config_dir, previous_dir=previous_dir)
    pend = pending_dir(previous_dir)
    state = read_state(os.path.join(config_dir, STATE)) if _check_dir(config_dir, 'config directory') else None
    pend_exists = _check_dir(pend, 'unfinished-upgrade directory') is not None
    prev_exists = _check_dir(previous_dir, 'previous-release directory') is not None
    pend_state = read_state(os.path.join(pend, STATE)) if pend_exists else None
    prev_state = read_state(os.path.join(previous_dir, STATE)) if prev_exists else None
    return {
        'state': state,
        'pending': is_pending(state),
        'replaces': state.get('replaces') if is_pending(state) else None,
        'pending_dir': pend,
        'pending_dir_exists': pend_exists,
        'pending_dir_state': summary(pend_state),
        'previous_exists': prev_exists,
        'previous_state': summary(prev_state),
    }


def switch(config_dir, stage_dir, previous_dir, unit_path, check=False):
    """Put the staged release in place with the pending mark; see the module docstring.

    Everything is checked before anything changes. Returns what was (or, with ``check``, would be)
    done: ``resumed``, ``set_aside`` (paths copied into the pending dir), ``installed`` (paths put
    in place), ``removed``, ``replaces``, ``state`` (the state record now in place).
    """
    _check_paths(config_dir=config_dir, stage_dir=stage_dir, previous_dir=previous_dir, unit_path=unit_path)
    config_dir, stage_dir, previous_dir = (os.path.normpath(p) for p in (config_dir, stage_dir, previous_dir))
    if len({config_dir, stage_dir, previous_dir}) < 3:
        raise SwitchError('the config, stage and previous directories must differ (%s, %s, %s)'
                          % (config_dir, stage_dir, previous_dir))
    unit_name = os.path.basename(unit_path)
    _check_dir(config_dir, 'config directory', must_exist=True)
    _check_dir(os.path.dirname(unit_path), 'unit directory', must_exist=True)
    staged = staged_files(stage_dir, unit_name)
    new_state = read_state(staged[STATE])
    pend = pending_dir(previous_dir)
    pend_exists = _check_dir(pend, 'unfinished-upgrade directory') is not None
    _check_dir(previous_dir, 'previous-release directory')
    _check_dir(os.path.dirname(pend), 'directory of %s' % pend, must_exist=True)
    current = read_state(os.path.join(config_dir, STATE))
    dests = {}
    for name, src in staged.items():
        dests[name] = unit_path if name == unit_name else os.path.join(config_dir, name)
        _check_file(dests[name], 'file to replace')
    for name in OPTIONAL:
        _check_file(os.path.join(config_dir, name), 'file to replace')

    resumed = is_pending(current)
    if pend_exists and not resumed:
        raise SwitchError('%s exists but %s is not pending: an earlier upgrade stopped half-way; that directory '
                          'holds the last known-good release and is never overwritten - %s'
                          % (pend, os.path.join(config_dir, STATE), UNFINISHED_HELP))
    if resumed and pend_exists:
        differs = target_diff(current, new_state)
        if differs:
            raise SwitchError('an unfinished upgrade to %s (%s) is pending here (%s holds what ran before it) and '
                              'this upgrade targets something else (%s) - %s'
                              % (current.get('release'), current.get('profile'), pend, '; '.join(differs),
                                 UNFINISHED_HELP))
    if resumed:
        # Resume: what runs now was never proven; the known-good copy stays where it is.
        set_aside = {}
        replaces = current.get('replaces')
    else:
        set_aside = {}
        for name in sorted(set(staged) - {unit_name} | set(OPTIONAL)):
            path = os.path.join(config_dir, name)
            if _check_file(path, 'running file') is not None:
                set_aside[name] = path
        if _check_file(unit_path, 'unit file') is not None:
            set_aside[unit_name] = unit_path
        replaces = summary(strip_mark(current)) if current else None
    marked = mark(new_state, replaces)
    removed = [os.path.join(config_dir, name) for name in OPTIONAL
               if name not in staged and _lstat(os.path.join(config_dir, name)) is not None]
    result = {
        'changed': True,
        'resumed': resumed,
        'pending_dir': pend,
        'set_aside': [set_aside[name] for name in sorted(set_aside)],
        'installed': [dests[STATE]] + sorted(dests[name] for name in staged if name != STATE),
        'removed': removed,
        'replaces': replaces,
        'state': marked,
    }
    if check:
        return result
    if set_aside:
        _new_dir_with(pend, set_aside)
    st = _check_file(staged[STATE], 'staged state', must_exist=True)
    # state.json first: from here on the node says "switched, not proven".
    put_file(dests[STATE], state_bytes(marked), st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
    for name in sorted(staged):
        if name != STATE:
            _put_copy(staged[name], dests[name])
    for path in removed:
        _remove_file(path)
    for name in sorted(staged):
        _remove_file(staged[name])
    os.rmdir(stage_dir)
    return result


def commit(config_dir, previous_dir, check=False):
    """The new release answered: ``<previous>.pending`` replaces ``<previous>``, then the pending
    mark is dropped from state.json. Nothing pending = no change."""
    _check_paths(config_dir=config_dir, previous_dir=previous_dir)
    previous_dir = os.path.normpath(previous_dir)
    pend = pending_dir(previous_dir)
    state_path = os.path.join(config_dir, STATE)
    current = read_state(state_path)
    pend_exists = _check_dir(pend, 'unfinished-upgrade directory') is not None
    prev_exists = _check_dir(previous_dir, 'previous-release directory') is not None
    result = {'changed': pend_exists or is_pending(current), 'kept': previous_dir if pend_exists else None,
              'dropped': previous_dir if pend_exists and prev_exists else None,
              'unmarked': state_path if is_pending(current) else None,
              'state': strip_mark(current) if current else None}
    if pend_exists:
        _check_flat(pend, 'unfinished-upgrade directory')
        if prev_exists:
            _check_flat(previous_dir, 'previous-release directory')
    if check or not result['changed']:
        return result
    if pend_exists:
        # Never a moment without a kept release: the old <previous> goes only once the new one is there.
        if prev_exists:
            gone = tempfile.mkdtemp(prefix='.%s.' % os.path.basename(previous_dir), suffix='.removed',
                                    dir=os.path.dirname(previous_dir))
            os.rename(previous_dir, os.path.join(gone, 'tree'))
            os.rename(pend, previous_dir)
            _remove_dir(os.path.join(gone, 'tree'), 'replaced previous-release directory')
            os.rmdir(gone)
        else:
            os.rename(pend, previous_dir)
        _fsync_dir(os.path.dirname(previous_dir))
    if is_pending(current):
        st = _check_file(state_path, 'state file', must_exist=True)
        put_file(state_path, state_bytes(strip_mark(current)), st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
    return result


ROLLBACK_FROM = ('auto', 'unfinished')


def rollback(config_dir, previous_dir, unit_path, rollback_from='auto', check=False):
    """Put a kept release back in place.

    ``auto``: ``<previous>.pending`` when an upgrade did not finish, else ``<previous>``.
    ``unfinished`` (after a failed upgrade): ``<previous>.pending``; else ``<previous>`` when
    state.json is pending (a resumed switch); else nothing - the switch never happened and the
    files in place are the ones that ran before.
    The pending directory is removed once its files are back; ``<previous>`` is kept.
    """
    if rollback_from not in ROLLBACK_FROM:
        raise SwitchError('rollback_from must be one of %s, got %r' % (', '.join(ROLLBACK_FROM), rollback_from))
    _check_paths(config_dir=config_dir, previous_dir=previous_dir, unit_path=unit_path)
    config_dir, previous_dir = os.path.normpath(config_dir), os.path.normpath(previous_dir)
    unit_name = os.path.basename(unit_path)
    _check_dir(config_dir, 'config directory', must_exist=True)
    pend = pending_dir(previous_dir)
    current = read_state(os.path.join(config_dir, STATE))
    if _check_dir(pend, 'unfinished-upgrade directory') is not None:
        src = pend
    elif rollback_from == 'auto' or is_pending(current):
        src = previous_dir
    else:
        return {'changed': False, 'source': None, 'restored': [], 'removed': [], 'state': current,
                'msg': 'nothing was switched: the files in place are the ones that ran before'}
    if _check_dir(src, 'kept release directory') is None:
        raise SwitchError('%s does not exist: no previous release to roll back to (deploy the release you want '
                          'with playbooks/deploy.yml)' % src)
    files = {}
    for name in sorted(os.listdir(src)):
        path = os.path.join(src, name)
        if _check_file(path, 'kept file') is not None:
            files[name] = path
    missing = [name for name in REQUIRED + (unit_name,) if name not in files]
    if missing:
        raise SwitchError('%s lacks %s: no complete previous release to roll back to' % (src, ', '.join(missing)))
    back = read_state(files[STATE])
    dests = dict((name, unit_path if name == unit_name else os.path.join(config_dir, name)) for name in files)
    for dest in dests.values():
        _check_file(dest, 'file to replace')
    removed = [os.path.join(config_dir, name) for name in OPTIONAL
               if name not in files and _check_file(os.path.join(config_dir, name), 'file to remove') is not None]
    if src == pend:
        _check_flat(pend, 'unfinished-upgrade directory')
    result = {'changed': True, 'source': src, 'restored': sorted(dests.values()), 'removed': removed,
              'state': strip_mark(back)}
    if check:
        return result
    if not is_pending(current) and current is not None:
        # Until every file is back, the node says "switched, not proven": an interrupted rollback is
        # a difference for the next upgrade, and a rerun of the rollback starts over.
        st = _check_file(os.path.join(config_dir, STATE), 'state file', must_exist=True)
        put_file(os.path.join(config_dir, STATE), state_bytes(mark(current, summary(back))),
                 st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
    for name in sorted(files):
        if name != STATE:
            _put_copy(files[name], dests[name])
    for path in removed:
        _remove_file(path)
    # state.json last (as kept, or without a mark a kept copy should never carry).
    if is_pending(back):
        st = _check_file(files[STATE], 'kept state', must_exist=True)
        put_file(dests[STATE], state_bytes(strip_mark(back)), st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
    else:
        _put_copy(files[STATE], dests[STATE])
    if src == pend:
        _remove_dir(pend)
    return result


def discard_stage(stage_dir, check=False):
    """Remove a stage directory left by a run that stopped before its switch (regular files only)."""
    _check_paths(stage_dir=stage_dir)
    if _check_dir(stage_dir, 'stage directory') is None:
        return {'changed': False, 'removed': []}
    files = []
    for name in sorted(os.listdir(stage_dir)):
        path = os.path.join(stage_dir, name)
        st = _lstat(path)
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise SwitchError('%s is not a regular file: the stage directory holds staged files only - '
                              'remove it by hand and re-run' % path)
        files.append(path)
    result = {'changed': True, 'removed': files + [stage_dir]}
    if not check:
        for path in files:
            os.unlink(path)
        os.rmdir(stage_dir)
    return result


def parse_unit_show(text):
    """``systemctl show -p ActiveState -p SubState -p LoadState`` output -> dict."""
    out = {}
    for line in (text or '').splitlines():
        key, sep, value = line.partition('=')
        if sep:
            out[key.strip()] = value.strip()
    return {'active_state': out.get('ActiveState', 'unknown'), 'sub_state': out.get('SubState', 'unknown'),
            'load_state': out.get('LoadState', 'unknown')}
