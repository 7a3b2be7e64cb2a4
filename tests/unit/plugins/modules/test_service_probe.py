# -*- coding: utf-8 -*-
"""service_probe: the state record, the run digest and the unit's state, read from real files,
with systemctl answered by a fake runner."""

from __future__ import annotations

import json

import pytest

from ansible_collections.ascend.serving.plugins.modules import service_probe
from ansible_collections.ascend.serving.tests.unit.plugins.modules.utils import FakeRunner, run_module


def systemctl(active, sub):
    def answer(argv):
        assert argv == ['/bin/systemctl', 'show', '-p', 'ActiveState', '-p', 'SubState', 'ascend-vllm.service'], argv
        return 0, 'ActiveState=%s\nSubState=%s\n' % (active, sub), ''
    return FakeRunner(answer)


@pytest.fixture
def digest_dir(tmp_path, monkeypatch):
    run = tmp_path / 'run'
    run.mkdir()
    monkeypatch.setattr(service_probe, 'run_digest_path', lambda unit: str(run / (unit + '.digest')))
    return run


def probe(config_dir, runner):
    return run_module(service_probe.main, {'config_dir': str(config_dir)}, runner=runner,
                      bin_paths={'systemctl': '/bin/systemctl'})


def test_reads_the_record_the_running_digest_and_the_unit(tmp_path, digest_dir):
    cfg = tmp_path / 'cfg'
    cfg.mkdir()
    (cfg / 'state.json').write_text(json.dumps({'auth': True, 'run_digest': 'a' * 64}))
    (digest_dir / 'ascend-vllm.service.digest').write_text('b' * 64 + '\n')
    failed, result, dummy = probe(cfg, systemctl('activating', 'start'))
    assert not failed, result
    assert result['state'] == {'auth': True, 'run_digest': 'a' * 64}
    assert result['state_error'] == ''
    assert result['running_digest'] == 'b' * 64
    assert (result['active_state'], result['sub_state'], result['serving']) == ('activating', 'start', True)
    assert result['changed'] is False


def test_nothing_deployed_and_never_started(tmp_path, digest_dir):
    failed, result, dummy = probe(tmp_path, systemctl('inactive', 'dead'))
    assert not failed, result
    assert (result['state'], result['running_digest'], result['serving']) == (None, None, False)


@pytest.mark.parametrize('text, error', [('{', 'Expecting'), ('[1]', 'not a JSON object')])
def test_a_damaged_record_is_reported_not_parsed(tmp_path, digest_dir, text, error):
    (tmp_path / 'state.json').write_text(text)
    (digest_dir / 'ascend-vllm.service.digest').write_text('not a digest\n')
    failed, result, dummy = probe(tmp_path, systemctl('failed', 'failed'))
    assert not failed, result
    assert result['state'] is None and error in result['state_error']
    assert result['running_digest'] is None


@pytest.mark.parametrize('config_dir', ['/etc/ascend serving', 'relative/dir', '/etc/../etc/x', '/etc/a%n', '/'])
def test_a_config_dir_that_cannot_go_into_a_unit_is_refused(config_dir):
    failed, result, runner = probe(config_dir, FakeRunner(lambda argv: (1, '', 'must not run')))
    assert failed
    assert result['msg'].startswith('config_dir (vllm_service_config_dir / ascend_serving_config_dir) %r must be an '
                                    'absolute path' % config_dir), result['msg']
    assert result['msg'].endswith('Nothing was changed.')
    assert runner.calls == []
