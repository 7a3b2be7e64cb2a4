# -*- coding: utf-8 -*-
"""ops_probe: what the Python running it reports about itself, distributions, paths, files and
the install stamp, read from real files (the same JSON fields the role's decisions read)."""

from __future__ import annotations

import hashlib
import json
import os
import sys

import pytest

from ansible_collections.ascend.serving.plugins.modules import ops_probe
from ansible_collections.ascend.serving.tests.unit.plugins.modules.utils import run_module


def probe(**args):
    return run_module(ops_probe.main, args)


def test_reports_the_interpreter_and_what_it_has(tmp_path):
    lib = tmp_path / 'lib.so'
    lib.write_bytes(b'operator library')
    os.chmod(str(lib), 0o640)
    stamp = tmp_path / 'stamp.json'
    stamp.write_text(json.dumps({'python': sys.executable, 'steps': {'sfa': {'sha256': 'a' * 64}}}))
    failed, result, dummy = probe(dists=['pytest', 'no-such-dist-ascend'], exists=[str(tmp_path), str(tmp_path / 'gone')],
                                  sha256=[str(lib), str(tmp_path / 'gone.so'), str(tmp_path)], stamp=str(stamp))
    assert not failed, result
    assert result['changed'] is False
    assert result['python'] == sys.executable
    assert result['version'] == '%d.%d' % sys.version_info[:2]
    assert result['venv'] is (sys.prefix != sys.base_prefix)
    assert isinstance(result['externally_managed'], bool)
    assert result['pip'] is True  # the unit tests run in a venv with pip
    assert result['dists'] == {'pytest': pytest.__version__, 'no-such-dist-ascend': None}
    assert result['exists'] == {str(tmp_path): True, str(tmp_path / 'gone'): False}
    assert result['sha256'] == {str(lib): hashlib.sha256(b'operator library').hexdigest(),
                                str(tmp_path / 'gone.so'): None, str(tmp_path): None}
    assert result['stat'] == {str(lib): {'mode': '0640', 'uid': os.getuid(), 'gid': os.getgid()}}
    assert result['stamp'] == {'python': sys.executable, 'steps': {'sfa': {'sha256': 'a' * 64}}}


@pytest.mark.parametrize('content', [None, '{', '[1, 2]', '"text"'])
def test_no_usable_stamp_is_nothing_recorded(tmp_path, content):
    stamp = tmp_path / 'ops' / 'v0.11.0rc0-a3.json'
    if content is not None:
        stamp.parent.mkdir()
        stamp.write_text(content)
    failed, result, dummy = probe(stamp=str(stamp))
    assert not failed, result
    assert result['stamp'] == {}
    assert (result['dists'], result['exists'], result['sha256'], result['stat']) == ({}, {}, {}, {})


def test_externally_managed_marker(tmp_path, monkeypatch):
    (tmp_path / 'EXTERNALLY-MANAGED').write_text('[externally-managed]\n')
    monkeypatch.setattr(ops_probe.sysconfig, 'get_path', lambda name: str(tmp_path) if name == 'stdlib' else '')
    failed, result, dummy = probe(stamp=str(tmp_path / 'none.json'))
    assert (failed, result['externally_managed']) == (False, True)


def test_an_unreadable_file_fails_naming_it(tmp_path, monkeypatch):
    lib = tmp_path / 'lib.so'
    lib.write_bytes(b'x')

    def refuse(path):
        raise PermissionError(13, 'Permission denied', path)
    monkeypatch.setattr(ops_probe, 'file_sha256', refuse)
    failed, result, dummy = probe(sha256=[str(lib)], stamp=str(tmp_path / 's.json'))
    assert failed
    assert result['msg'] == 'cannot read %s: [Errno 13] Permission denied: %r' % (lib, str(lib))
