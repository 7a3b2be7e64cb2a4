# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Model weight manifests: read, scan, hash and compare (standard library only).

A *manifest* says which files a model directory must hold, with their size and, optionally,
their sha256.  Its canonical form (what :func:`normalize_manifest` returns and
:func:`build_manifest` writes as ``<model dir>/.ascend-serving-manifest.json``) is::

    {"format": "ascend-serving-weights/1",
     "files": {"config.json": {"size": 1234, "sha256": "ab12..."},      # sha256 may be null
               "model-00001-of-00002.safetensors": {"size": 5000000000, "sha256": null}}}

Accepted as input too (so a manifest can be pasted from other tools):

* ``{"files": {...}}`` whose values are ``{"size", "sha256"}`` mappings, a size (int) or a sha256
  (64 hex digits);
* the same mapping without the ``files`` wrapper (e.g. ``tests/sim/artifacts/make_model.py``'s
  ``manifest.json``: ``{relative path: sha256}``);
* a list of ``{"path" (or "name"), "size", "sha256"}`` entries.

:func:`scan` and :func:`hash_files` touch the file system; :func:`normalize_manifest`,
:func:`compare`, :func:`presence_problems`, :func:`build_manifest` and :func:`summary` are pure.
Errors in a manifest raise :class:`ManifestError` naming the offending entry.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import posixpath
import re

__all__ = [
    'DEFAULT_IGNORE',
    'FORMAT',
    'MANIFEST_NAME',
    'ManifestError',
    'build_manifest',
    'compare',
    'hash_file',
    'hash_files',
    'ignored',
    'is_hub_id',
    'normalize_manifest',
    'presence_problems',
    'revision_problem',
    'scan',
    'summary',
]

FORMAT = 'ascend-serving-weights/1'
MANIFEST_NAME = '.ascend-serving-manifest.json'
# Not model files: our manifest, ModelScope / Hugging Face download bookkeeping, VCS metadata.
DEFAULT_IGNORE = (
    MANIFEST_NAME,
    '.msc',
    '.mv',
    '.mdl',
    '._____temp/*',
    '.cache/*',
    '.git/*',
    '.gitattributes',
    '.huggingface/*',
)
# What vLLM needs to load a model when no manifest says more.
WEIGHT_PATTERNS = ('*.safetensors', '*.bin', '*.pt', '*.pth', '*.gguf')

_SHA256_RE = re.compile(r'^[0-9a-fA-F]{64}$')
_HUB_ID_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$')
_CHUNK = 4 * 1024 * 1024
_LIST_LIMIT = 10


class ManifestError(ValueError):
    """A manifest is malformed; the message names the entry and what is wrong with it."""


def is_hub_id(model):
    """True for ``owner/name`` (a ModelScope / Hugging Face id), False for a directory path."""
    return isinstance(model, str) and not model.startswith(('/', '.', '~')) and bool(_HUB_ID_RE.match(model))


def _check_rel(path):
    if not isinstance(path, str) or not path:
        raise ManifestError('file name %r must be a non-empty string' % (path,))
    norm = posixpath.normpath(path.replace('\\', '/'))
    if norm.startswith('/') or norm == '..' or norm.startswith('../') or norm == '.':
        raise ManifestError('file name %r must be a path relative to the model directory, inside it' % path)
    return norm


def _entry(path, value):
    size = None
    digest = None
    if isinstance(value, bool):
        raise ManifestError('%s: %r is neither a size, a sha256 nor a {size, sha256} mapping' % (path, value))
    if isinstance(value, int):
        size = value
    elif isinstance(value, str):
        digest = value
    elif isinstance(value, dict):
        unknown = sorted(set(value) - {'size', 'sha256', 'path', 'name'})
        if unknown:
            raise ManifestError('%s: unknown key(s) %s (expected size, sha256)' % (path, ', '.join(map(str, unknown))))
        size = value.get('size')
        digest = value.get('sha256')
    elif value is not None:
        raise ManifestError('%s: %r is neither a size, a sha256 nor a {size, sha256} mapping' % (path, value))
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise ManifestError('%s: size %r must be a non-negative integer (bytes)' % (path, size))
    if digest is not None:
        if not isinstance(digest, str) or not _SHA256_RE.match(digest):
            raise ManifestError('%s: sha256 %r must be 64 hexadecimal digits' % (path, digest))
        digest = digest.lower()
    if size is None and digest is None:
        raise ManifestError('%s: give its size, its sha256 or both' % path)
    return {'size': size, 'sha256': digest}


def normalize_manifest(data):
    """The canonical ``{"format", "files": {rel: {"size", "sha256"}}}`` of any accepted shape."""
    if isinstance(data, dict) and 'files' in data:
        extra = sorted(set(data) - {'files', 'format', 'model', 'revision', 'created_by'})
        if extra:
            raise ManifestError('unknown top-level key(s) %s (expected files, format, model, revision)'
                                % ', '.join(map(str, extra)))
        fmt = data.get('format')
        if fmt not in (None, FORMAT):
            raise ManifestError('format %r is not %s' % (fmt, FORMAT))
        files = data['files']
    else:
        files = data
    result = {}
    if isinstance(files, dict):
        items = list(files.items())
    elif isinstance(files, list):
        items = []
        for index, item in enumerate(files):
            if not isinstance(item, dict):
                raise ManifestError('entry %d: %r must be a mapping with path, size and/or sha256' % (index, item))
            path = item.get('path', item.get('name'))
            if path is None:
                raise ManifestError('entry %d: no path (or name)' % index)
            items.append((path, dict((k, v) for k, v in item.items() if k not in ('path', 'name'))))
    else:
        raise ManifestError('a manifest is a mapping {file: {size, sha256}} or a list of {path, size, sha256}, '
                            'not %s' % type(files).__name__)
    for path, value in items:
        rel = _check_rel(path)
        if rel in result:
            raise ManifestError('%s is listed twice' % rel)
        result[rel] = _entry(rel, value)
    if not result:
        raise ManifestError('the manifest lists no files')
    out = {'format': FORMAT, 'files': dict(sorted(result.items()))}
    if isinstance(data, dict) and data.get('model'):
        out['model'] = str(data['model'])
    if isinstance(data, dict) and data.get('revision'):
        out['revision'] = str(data['revision'])
    return out


def revision_problem(manifest, revision):
    """A sentence when ``manifest`` records the files as of another hub revision than ``revision``, else None.

    A manifest that records no revision (written before a pin, or given by the operator) says
    nothing about it; only a recorded, different one makes the files stale.
    """
    recorded = (manifest or {}).get('revision')
    if not revision or not recorded or str(recorded) == str(revision):
        return None
    return ('the manifest records revision %s%s but the pin is %s: the files are of another revision'
            % (recorded, ' of %s' % manifest['model'] if manifest.get('model') else '', revision))


def ignored(rel, patterns):
    """True when ``rel`` matches one of the glob ``patterns`` (``dir/*`` covers everything below dir)."""
    for pattern in patterns or ():
        if fnmatch.fnmatchcase(rel, pattern):
            return True
        if pattern.endswith('/*') and (rel + '/').startswith(pattern[:-1]):
            return True
    return False


def scan(root, ignore=DEFAULT_IGNORE):
    """``{rel: size}`` of the regular files under ``root`` (symlinks followed), minus ``ignore``.

    Broken symlinks are listed with size ``None``.  Raises OSError when ``root`` cannot be read.
    """
    found = {}
    root = os.path.abspath(root)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = '' if rel_dir == '.' else rel_dir.replace(os.sep, '/')
        dirnames[:] = sorted(d for d in dirnames if not ignored(posixpath.join(rel_dir, d) + '/', ignore))
        for name in sorted(filenames):
            rel = posixpath.join(rel_dir, name) if rel_dir else name
            if ignored(rel, ignore):
                continue
            try:
                found[rel] = os.stat(os.path.join(dirpath, name)).st_size
            except FileNotFoundError:
                found[rel] = None
    return found


def hash_file(path, chunk=_CHUNK):
    """The sha256 hex digest of one file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        while True:
            block = handle.read(chunk)
            if not block:
                break
            digest.update(block)
    return digest.hexdigest()


def hash_files(root, rels, workers=1):
    """``{rel: sha256}`` of the given files under ``root`` (``workers`` threads; hashlib drops the GIL)."""
    rels = list(rels)
    if workers <= 1 or len(rels) <= 1:
        return dict((rel, hash_file(os.path.join(root, rel))) for rel in rels)
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=workers) as pool:
        digests = pool.map(lambda rel: hash_file(os.path.join(root, rel)), rels)
        return dict(zip(rels, digests))


def compare(manifest, observed, digests=None):
    """Compare a canonical manifest with what :func:`scan` (and :func:`hash_files`) found.

    ``observed``: ``{rel: size}``; ``digests``: ``{rel: sha256}`` of the files that were hashed.
    Returns ``ok`` plus the lists a report needs; extra files never make it fail.
    """
    digests = digests or {}
    files = manifest['files']
    missing, size_mismatch, sha_mismatch, unverified = [], [], [], []
    for rel, want in files.items():
        if rel not in observed or observed[rel] is None:
            missing.append(rel)
            continue
        if want['size'] is not None and observed[rel] != want['size']:
            size_mismatch.append({'path': rel, 'expected': want['size'], 'actual': observed[rel]})
            continue
        if want['sha256'] is not None:
            if rel in digests:
                if digests[rel] != want['sha256']:
                    sha_mismatch.append({'path': rel, 'expected': want['sha256'], 'actual': digests[rel]})
            else:
                unverified.append(rel)
    extra = sorted(rel for rel in observed if rel not in files)
    expected_size = sum(w['size'] for w in files.values() if w['size'] is not None)
    present_size = sum(observed[rel] or 0 for rel in files if rel in observed)
    return {
        'ok': not (missing or size_mismatch or sha_mismatch),
        'files': len(files),
        'expected_size': expected_size,
        'present_size': present_size,
        'missing': missing,
        'size_mismatch': size_mismatch,
        'sha256_mismatch': sha_mismatch,
        'sha256_checked': sorted(rel for rel in digests if rel in files and files[rel]['sha256'] is not None),
        'sha256_unverified': unverified,
        'extra': extra,
    }


def presence_problems(observed):
    """Without a manifest: what a model directory lacks for vLLM to load it (empty list = fine)."""
    problems = []
    if 'config.json' not in observed:
        problems.append('config.json is missing')
    if not any(fnmatch.fnmatchcase(posixpath.basename(rel), pattern)
               for rel in observed for pattern in WEIGHT_PATTERNS):
        problems.append('no weight file (%s)' % ', '.join(WEIGHT_PATTERNS))
    broken = sorted(rel for rel, size in observed.items() if size is None)
    if broken:
        problems.append('broken symlink(s): %s' % _names(broken))
    return problems


def build_manifest(observed, digests=None, model=None, revision=None):
    """The canonical manifest of a directory as scanned (sha256 where ``digests`` has it), with the
    hub id and revision it was downloaded from when given."""
    digests = digests or {}
    files = dict((rel, {'size': size, 'sha256': digests.get(rel)})
                 for rel, size in sorted(observed.items()) if size is not None)
    if not files:
        raise ManifestError('no files to list: the directory is empty')
    out = {'format': FORMAT, 'files': files}
    if model:
        out['model'] = str(model)
    if revision:
        out['revision'] = str(revision)
    return out


def _names(items, limit=_LIST_LIMIT):
    items = list(items)
    text = ', '.join(items[:limit])
    if len(items) > limit:
        text += ' and %d more' % (len(items) - limit)
    return text


def summary(result):
    """Human-readable problems of a :func:`compare` result, one string per kind, files named."""
    problems = []
    if result['missing']:
        problems.append('%d file(s) missing: %s' % (len(result['missing']), _names(result['missing'])))
    if result['size_mismatch']:
        problems.append('%d file(s) with the wrong size: %s' % (len(result['size_mismatch']), _names(
            '%s (%s bytes, expected %s)' % (m['path'], m['actual'], m['expected']) for m in result['size_mismatch'])))
    if result['sha256_mismatch']:
        problems.append('%d file(s) with the wrong sha256: %s' % (len(result['sha256_mismatch']), _names(
            '%s (got %s, expected %s)' % (m['path'], m['actual'], m['expected']) for m in result['sha256_mismatch'])))
    return problems
