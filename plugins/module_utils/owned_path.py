# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which directories the collection may delete (undeploy, purge, upgrade), and why not.

Pure logic (standard library only), used by the ``owned_path`` module and its unit tests.

Two rules:

- ``marker``: a directory the collection created - the service config dir, the ascend_ops root.
  It must be an absolute, normalised path, not a symlink, not ``/`` nor a system directory
  (``SYSTEM_DIRS``, also after resolving symlinks of its parents), and hold the marker file
  ``MARKER`` (written by whoever creates the directory). A directory deployed before markers
  existed counts as owned when every one of its ``legacy`` globs matches (the service config dir:
  ``state.json`` and ``launch.sh``; the ascend_ops root: ``ops/*.json``, its install stamps).
- ``safe``: a path the collection did not create but was told to manage (the weights directory,
  the MLAPO install path): the same path checks without the marker; and for weights, a path
  that some other ``state.json`` (another instance, another config dir) still names as its model
  is kept, not removed.
"""

from __future__ import annotations

import glob
import json
import os
import shutil

# The file that marks a directory as created by the collection. Writers: vllm_service / hccl_env
# (the service config dir), ascend_ops (its root).
MARKER = '.ascend-serving-owned'
MARKER_CONTENT = ('Created by the ascend.serving Ansible collection: undeploy/purge may remove this '
                  'directory. Delete this file to make the collection refuse to remove it.\n')

# Legacy ownership proofs (directories deployed before the marker existed).
LEGACY_CONFIG = ('state.json', 'launch.sh')
LEGACY_OPS_ROOT = ('ops/*.json',)

# Never removed, whatever a variable says.
SYSTEM_DIRS = frozenset((
    '/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib32', '/lib64', '/libx32', '/lost+found',
    '/media', '/mnt', '/opt', '/proc', '/root', '/run', '/sbin', '/snap', '/srv', '/sys', '/tmp', '/usr',
    '/var', '/data', '/models', '/workspace', '/vllm-workspace',
    '/etc/systemd', '/etc/systemd/system', '/etc/default', '/etc/profile.d',
    '/usr/bin', '/usr/include', '/usr/lib', '/usr/lib64', '/usr/libexec', '/usr/local', '/usr/local/bin',
    '/usr/local/lib', '/usr/local/share', '/usr/sbin', '/usr/share', '/usr/src',
    '/usr/local/Ascend', '/usr/local/Ascend/ascend-toolkit', '/usr/local/Ascend/ascend-toolkit/latest',
    '/usr/local/Ascend/driver', '/usr/local/Ascend/firmware',
    '/var/cache', '/var/lib', '/var/lib/docker', '/var/lib/containers', '/var/log', '/var/opt', '/var/spool',
    '/var/tmp', '/run/user', '/root/.cache',
))


class GuardError(Exception):
    """The path must not be removed; the message says why and what to do."""


def _where(host, variable, path):
    who = '%s: ' % host if host else ''
    what = '%s=%r' % (variable, path) if variable else repr(path)
    return who + what


def check_path(path, host='', variable=''):
    """Raise GuardError unless ``path`` is absolute, normalised and not a system directory."""
    where = _where(host, variable, path)
    if not isinstance(path, str) or not path:
        raise GuardError('%s: empty path: refusing to remove anything' % where)
    if not path.startswith('/'):
        raise GuardError('%s is not an absolute path: refusing to remove it (set the variable to an absolute path)' % where)
    if any(ord(c) < 32 or c == '\x7f' for c in path):
        raise GuardError('%s contains control characters: refusing to remove it' % where)
    stripped = path.rstrip('/') or '/'
    if path.startswith('//') or os.path.normpath(stripped) != stripped:
        raise GuardError('%s is not normalised (use %r): refusing to remove it' % (where, os.path.normpath(stripped)))
    if stripped in SYSTEM_DIRS:
        raise GuardError('%s is a system directory: refusing to remove it. Point the variable at a directory of its own '
                         '(the default is safe)' % where)
    resolved = os.path.realpath(stripped)
    if resolved in SYSTEM_DIRS:
        raise GuardError('%s resolves to the system directory %s (a symlink among its parents): refusing to remove it'
                         % (where, resolved))
    if os.path.islink(stripped):
        raise GuardError('%s is a symlink (to %s): refusing to remove it or what it points to; remove the link by hand '
                         'if it is yours' % (where, os.readlink(stripped)))
    return stripped


def ownership(path, legacy=()):
    """How ``path`` (an existing directory) is proven collection-owned: 'marker', 'legacy' or None."""
    marker = os.path.join(path, MARKER)
    if os.path.isfile(marker) and not os.path.islink(marker):
        return 'marker'
    if legacy and all(glob.glob(os.path.join(glob.escape(path), pattern)) for pattern in legacy):
        return 'legacy'
    return None


def check_owned(path, legacy=(), host='', variable=''):
    """For the marker rule: the normalised path when it may be removed, None when it does not exist.

    Raises GuardError naming host, variable and path otherwise.
    """
    path = check_path(path, host, variable)
    if not os.path.lexists(path):
        return None
    where = _where(host, variable, path)
    if not os.path.isdir(path):
        raise GuardError('%s is not a directory: refusing to remove it' % where)
    if ownership(path, legacy) is None:
        proof = (' nor the files of a deployment made before markers existed (%s)' % ', '.join(legacy)) if legacy else ''
        raise GuardError(('%s holds no %s marker%s, so it was not created by the ascend.serving collection: refusing to '
                          'remove it. If the variable is wrong, fix it; if this directory really is the collection\'s, '
                          'create the marker (touch %s) and run again.')
                         % (where, MARKER, proof, os.path.join(path, MARKER)))
    return path


def _models(state_file):
    """The weights paths a state.json names (its model; unreadable = names nothing)."""
    try:
        with open(state_file, encoding='utf-8') as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict):
        return []
    out = []
    for key in ('model', 'model_path', 'weights'):
        value = data.get(key)
        if isinstance(value, str) and value.startswith('/'):
            out.append(os.path.normpath(value))
    return out


def state_files(state_dirs, ignore_dirs=(), depth=3):
    """Every state.json at most ``depth`` levels below the directories (globs allowed) in ``state_dirs``,
    except those under one of ``ignore_dirs``."""
    ignore = [os.path.normpath(d) for d in ignore_dirs if d]
    found = set()
    for pattern in state_dirs:
        if not pattern:
            continue
        for root in glob.glob(pattern):
            if not os.path.isdir(root):
                continue
            root = os.path.normpath(root)
            for level in range(depth):
                for path in glob.glob(os.path.join(glob.escape(root), *(['*'] * level + ['state.json']))):
                    path = os.path.normpath(path)
                    if any(path == d or path.startswith(d + '/') for d in ignore):
                        continue
                    found.add(path)
    return sorted(found)


def _related(first, second):
    return first == second or first.startswith(second.rstrip('/') + '/') or second.startswith(first.rstrip('/') + '/')


def weights_users(path, state_dirs, ignore_dirs=()):
    """The state.json files (outside ``ignore_dirs``) whose model is ``path``, inside it or contains it."""
    return [f for f in state_files(state_dirs, ignore_dirs) if any(_related(path, m) for m in _models(f))]


def decide(path, rule='marker', legacy=(), state_dirs=(), ignore_dirs=(), host='', variable=''):
    """What removing ``path`` would do: {'path', 'exists', 'remove', 'owned_by', 'kept_for'}.

    Raises GuardError (before anything changes) when the path must not be removed.
    """
    if rule == 'marker':
        owned = check_owned(path, legacy, host, variable)
        if owned is None:
            return {'path': check_path(path, host, variable), 'exists': False, 'remove': False, 'owned_by': None,
                    'kept_for': []}
        return {'path': owned, 'exists': True, 'remove': True, 'owned_by': ownership(owned, legacy), 'kept_for': []}
    if rule != 'safe':
        raise GuardError('unknown rule %r' % rule)
    path = check_path(path, host, variable)
    if not os.path.lexists(path):
        return {'path': path, 'exists': False, 'remove': False, 'owned_by': None, 'kept_for': []}
    users = weights_users(path, state_dirs, ignore_dirs)
    return {'path': path, 'exists': True, 'remove': not users, 'owned_by': None, 'kept_for': users}


def remove(path):
    """Remove a directory tree (or a file) checked by ``decide``."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)
