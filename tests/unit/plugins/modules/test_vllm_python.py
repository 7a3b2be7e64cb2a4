# -*- coding: utf-8 -*-
"""vllm_python: the interpreter of `vllm` on PATH from its #! line (plain path, env, env -S), and a
clear failure for no command, not a script, and an interpreter env would not find."""

from __future__ import annotations

import os

import pytest

from ansible_collections.ascend.serving.plugins.modules import vllm_python
from ansible_collections.ascend.serving.tests.unit.plugins.modules.utils import run_module


@pytest.mark.parametrize('line, expected', [
    ('#!/usr/bin/python3', ('/usr/bin/python3', False)),
    ('#! /opt/venv/bin/python3.11 -s', ('/opt/venv/bin/python3.11', False)),
    ('#!/usr/bin/env python3', ('python3', True)),
    ('#!/usr/bin/env -S python3 -u', ('python3', True)),
    ('#!/bin/env python3.11\r', ('python3.11', True)),
    ('#!/usr/bin/env', None),
    ('#!/usr/bin/env -S', None),
    ('#!', None),
    ('# -*- coding: utf-8 -*-', None),
    ('\x7fELF\x02\x01', None),
    ('', None),
])
def test_parse_shebang(line, expected):
    assert vllm_python.parse_shebang(line) == expected


def script(directory, name, text, mode=0o755):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    os.chmod(str(path), mode)
    return str(path)


def run(monkeypatch, path):
    monkeypatch.setenv('PATH', path)
    return run_module(vllm_python.main, {})


def test_plain_interpreter_path(tmp_path, monkeypatch):
    found = script(tmp_path / 'bin', 'vllm', '#!/opt/venv/bin/python3\nimport sys\n')
    failed, result, dummy = run(monkeypatch, str(tmp_path / 'bin'))
    assert not failed, result
    assert (result['python'], result['command_path'], result['shebang'], result['changed']) == (
        '/opt/venv/bin/python3', found, '/opt/venv/bin/python3', False)


@pytest.mark.parametrize('shebang', ['#!/usr/bin/env python3.11', '#!/usr/bin/env -S python3.11 -u'])
def test_env_looks_the_interpreter_up_on_path(tmp_path, monkeypatch, shebang):
    script(tmp_path / 'a', 'vllm', shebang + '\n')
    script(tmp_path / 'a', 'python3.11', 'not run', mode=0o644)  # not executable: env skips it
    python = script(tmp_path / 'b', 'python3.11', '')
    failed, result, dummy = run(monkeypatch, '%s:%s' % (tmp_path / 'a', tmp_path / 'b'))
    assert not failed, result
    assert result['python'] == python


def test_first_vllm_on_path_wins(tmp_path, monkeypatch):
    script(tmp_path / 'a', 'vllm', '#!/first/python\n')
    script(tmp_path / 'b', 'vllm', '#!/second/python\n')
    failed, result, dummy = run(monkeypatch, '%s:%s' % (tmp_path / 'a', tmp_path / 'b'))
    assert (failed, result['python']) == (False, '/first/python')


def test_no_vllm_on_path(tmp_path, monkeypatch):
    script(tmp_path / 'bin', 'vllm', '#!/usr/bin/python3\n', mode=0o644)  # not executable
    failed, result, dummy = run(monkeypatch, str(tmp_path / 'bin'))
    assert failed
    assert result['reason'] == 'no_command'
    assert result['msg'] == 'no vllm command on PATH (%s)' % (tmp_path / 'bin')
    assert 'python' not in result


@pytest.mark.parametrize('content', [b'\x7fELF\x02\x01\x01\x00', b'', b'vllm serve "$@"\n'])
def test_not_a_script(tmp_path, monkeypatch, content):
    found = script(tmp_path / 'bin', 'vllm', content)
    failed, result, dummy = run(monkeypatch, str(tmp_path / 'bin'))
    assert failed
    assert result['reason'] == 'not_a_script'
    assert result['msg'] == 'vllm on PATH is not a script with a #! line (%s)' % found
    assert result['command_path'] == found


def test_env_interpreter_not_on_path(tmp_path, monkeypatch):
    found = script(tmp_path / 'bin', 'vllm', '#!/usr/bin/env -S python3.99 -u\n')
    failed, result, dummy = run(monkeypatch, str(tmp_path / 'bin'))
    assert failed
    assert result['reason'] == 'no_interpreter'
    assert result['msg'] == ('the interpreter named by the #! line of vllm is not on PATH (%s: #!/usr/bin/env -S '
                             'python3.99 -u)' % found)


def test_another_command(tmp_path, monkeypatch):
    script(tmp_path / 'bin', 'lm_eval', '#!/srv/eval/bin/python\n')
    monkeypatch.setenv('PATH', str(tmp_path / 'bin'))
    failed, result, dummy = run_module(vllm_python.main, {'command': 'lm_eval'})
    assert (failed, result['python']) == (False, '/srv/eval/bin/python')
