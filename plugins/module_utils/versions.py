# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ascend version files and version ordering (pure Python, stdlib only).

* ``parse_key_values``: ``/usr/local/Ascend/driver/version.info`` (``Version=24.1.rc2.2``) and
  CANN's ``ascend_toolkit_install.info`` (``version=8.2.RC1``), ``key=value`` per line.
* ``version_key``: an orderable key for Ascend versions such as ``8.2.RC1``, ``8.1.RC1.alpha001``,
  ``8.1.T18``, ``8.0.0``, ``24.1.rc3.7``, ``25.0.rc1.b010``. A release candidate sorts before the
  final release of the same number (8.2.RC1 < 8.2.RC2 < 8.2.0), alpha/beta/T builds before their RC.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r'(\d+|[A-Za-z]+)')
# Rank of a textual tag within one version component: earlier tags are older.
_TAG_RANK = {'alpha': 0, 'beta': 1, 't': 2, 'b': 3, 'rc': 4, 'spc': 6}
_FINAL = 5
_WIDTH = 8


class VersionError(ValueError):
    """Not an Ascend version string."""


def parse_key_values(text):
    """``key=value`` lines to a dict (comments and blank lines skipped; first ``=`` splits)."""
    out = {}
    for line in (text or '').splitlines():
        line = line.strip()
        if not line or line.startswith('#') or '=' not in line:
            continue
        key, value = line.split('=', 1)
        out[key.strip()] = value.strip()
    return out


def version_key(version):
    """Orderable key of an Ascend version string; raises VersionError for anything else."""
    text = str(version or '').strip()
    if not re.match(r'^\d+(\.[0-9A-Za-z]+)*$', text):
        raise VersionError('not a version: %r' % (version,))
    key = []
    for part in text.split('.'):
        tokens = _TOKEN.findall(part)
        if tokens and tokens[0].isdigit() and len(tokens) == 1:
            key.append((_FINAL, int(tokens[0]), 0))
            continue
        tag = tokens[0].lower() if tokens and not tokens[0].isdigit() else ''
        num = int(tokens[1]) if len(tokens) > 1 and tokens[1].isdigit() else 0
        if tag not in _TAG_RANK:
            raise VersionError('unknown version tag %r in %r' % (tag, version))
        key.append((_TAG_RANK[tag], num, 0))
    if len(key) > _WIDTH:
        raise VersionError('too many components in %r' % (version,))
    # Missing components are final zeros: 8.2 == 8.2.0, and 8.2.RC2 < 8.2(.0).
    return tuple(key + [(_FINAL, 0, 0)] * (_WIDTH - len(key)))


def at_least(have, need):
    """True when version ``have`` is ``need`` or newer."""
    return version_key(have) >= version_key(need)
