# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Snapshots of what the custom-ops install replaces (wheels, the SFA operator), and their restore.

Pure logic (standard library only), used by the ``ops_backup`` module and its unit tests.

A snapshot is a directory with ``manifest.json`` and ``files.tar``::

    {"python": "/usr/bin/python3", "stamp": "<ascend_ops_root>/ops/<release>-<hardware>.json",
     "dists": {"torch_npu": {"version": "2.7.1", "files": ["/usr/lib/python3/.../torch_npu/__init__.py", ...]},
               "custom_ops": null},                       # null: it was not installed
     "paths": {"/usr/local/Ascend/ascend-toolkit/latest/opp/vendors/customize": "dir",
               "/usr/local/Ascend/ascend-toolkit/latest/opp/vendors/config.ini": null}}  # null: absent

``files.tar`` holds every file of the recorded dists and paths under its absolute path (without
the leading ``/``). Restoring uninstalls each dist (``pip uninstall``), removes each path, then
extracts the archive's members - only those the manifest names - back in place, and removes
``stamp`` (the release whose install is undone must be installed again by the next deploy).
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile

MANIFEST = 'manifest.json'
ARCHIVE = 'files.tar'

# Run by the Python that runs vLLM: {dist: {"version", "files"} or null}.
DIST_FILES_CODE = r'''
import json, sys
from importlib import metadata
out = {}
for name in json.loads(sys.argv[1]):
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        out[name] = None
        continue
    files = []
    for f in dist.files or []:
        path = str(f.locate())
        files.append(__import__("os").path.normpath(path))
    out[name] = {"version": dist.version, "files": sorted(set(files))}
print(json.dumps(out))
'''


class BackupError(Exception):
    """A snapshot could not be taken or restored; the message names the path."""


def _walk(path):
    if os.path.isdir(path) and not os.path.islink(path):
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                yield os.path.join(root, name)
    elif os.path.lexists(path):
        yield path


def _member_name(path):
    return os.path.normpath(path).lstrip('/')


def snapshot(directory, dists, paths, python, stamp, only_if_absent=False, pip_args=()):
    """Write the snapshot; ``dists`` is what DIST_FILES_CODE printed. Returns False when kept as it was."""
    manifest_path = os.path.join(directory, MANIFEST)
    if only_if_absent and os.path.isfile(manifest_path):
        return False
    os.makedirs(directory, mode=0o700, exist_ok=True)
    kinds = {}
    for path in paths:
        path = os.path.normpath(path)
        kinds[path] = 'dir' if os.path.isdir(path) else ('file' if os.path.lexists(path) else None)
    archive_tmp = os.path.join(directory, ARCHIVE + '.tmp')
    with tarfile.open(archive_tmp, 'w') as tar:
        seen = set()
        for dist in sorted(dists):
            for path in (dists[dist] or {}).get('files', []):
                if path not in seen and os.path.lexists(path) and not os.path.isdir(path):
                    seen.add(path)
                    tar.add(path, arcname=_member_name(path), recursive=False)
        for path in sorted(kinds):
            for member in _walk(path):
                if member not in seen:
                    seen.add(member)
                    tar.add(member, arcname=_member_name(member), recursive=False)
    os.rename(archive_tmp, os.path.join(directory, ARCHIVE))
    manifest = {'python': python, 'stamp': stamp, 'dists': dists, 'paths': kinds, 'pip_args': list(pip_args)}
    tmp = manifest_path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as handle:
        json.dump(manifest, handle, sort_keys=True, indent=1)
    os.rename(tmp, manifest_path)
    return True


def load(directory):
    """The snapshot's manifest, or None when there is none."""
    try:
        with open(os.path.join(directory, MANIFEST), encoding='utf-8') as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise BackupError('%s: unreadable snapshot manifest: %s' % (directory, exc))
    if not isinstance(data, dict):
        raise BackupError('%s: the snapshot manifest is not an object' % directory)
    return data


def allowed_members(manifest):
    """Archive member names the manifest accounts for (nothing else is ever extracted)."""
    names = set()
    for info in (manifest.get('dists') or {}).values():
        for path in (info or {}).get('files', []):
            names.add(_member_name(path))
    prefixes = [_member_name(p) for p, kind in (manifest.get('paths') or {}).items() if kind]
    return names, prefixes


def remove_paths(manifest):
    """Remove what the install put at the recorded paths (before the originals go back)."""
    for path in sorted(manifest.get('paths') or {}):
        if path in ('/', '') or not path.startswith('/'):
            raise BackupError('snapshot path %r is not a safe absolute path' % path)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.unlink(path)


def extract(directory, manifest):
    """Put the recorded files back; returns how many."""
    names, prefixes = allowed_members(manifest)
    count = 0
    archive = os.path.join(directory, ARCHIVE)
    if not os.path.isfile(archive):
        return 0
    with tarfile.open(archive, 'r') as tar:
        for member in tar.getmembers():
            name = os.path.normpath(member.name)
            if name.startswith('/') or name.startswith('..') or '/../' in '/' + name + '/':
                raise BackupError('%s: member %r escapes /' % (archive, member.name))
            if name not in names and not any(name == p or name.startswith(p + '/') for p in prefixes):
                raise BackupError('%s: member %r is not in the manifest' % (archive, member.name))
            if not (member.isfile() or member.issym()):
                continue
            dest = '/' + name
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            if os.path.lexists(dest):
                os.unlink(dest)
            if member.issym():
                os.symlink(member.linkname, dest)
            else:
                with tar.extractfile(member) as src, open(dest, 'wb') as out:
                    shutil.copyfileobj(src, out)
                os.chmod(dest, member.mode & 0o7777)
            count += 1
    return count
