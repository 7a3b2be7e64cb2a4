# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""weights_info against real temporary model directories (it runs no command)."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from ansible_collections.ascend.serving.plugins.module_utils.weights import FORMAT, MANIFEST_NAME
from ansible_collections.ascend.serving.plugins.modules import weights_info
from ansible_collections.ascend.serving.tests.unit.plugins.modules.utils import run_module

CONFIG = b'{"model_type": "deepseek_v32"}\n'
SHARD1 = b'\x01' * 64
SHARD2 = b'\x02' * 96


def sha(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def model(tmp_path):
    root = tmp_path / 'DeepSeek-V3.2-Exp'
    root.mkdir()
    (root / 'config.json').write_bytes(CONFIG)
    (root / 'model-00001-of-00002.safetensors').write_bytes(SHARD1)
    (root / 'model-00002-of-00002.safetensors').write_bytes(SHARD2)
    return root


MANIFEST = {
    'config.json': {'size': len(CONFIG), 'sha256': sha(CONFIG)},
    'model-00001-of-00002.safetensors': {'size': len(SHARD1), 'sha256': sha(SHARD1)},
    'model-00002-of-00002.safetensors': {'size': len(SHARD2), 'sha256': sha(SHARD2)},
}


def run(args):
    failed, result, runner = run_module(weights_info.main, args)
    assert runner.calls == []
    return failed, result


def test_manifest_option_sizes_only(model):
    failed, result = run({'path': str(model), 'manifest': MANIFEST})
    assert not failed
    assert result['changed'] is False
    info = result['weights_info']
    assert info['ok'] is True
    assert info['exists'] is True
    assert info['manifest_source'] == 'option'
    assert info['manifest_file'] is None
    assert info['files'] == 3
    assert info['expected_size'] == info['present_size'] == len(CONFIG) + 64 + 96
    assert info['sha256_checked'] == []
    assert info['sha256_unverified'] == sorted(MANIFEST)
    assert info['problems'] == []
    assert 'manifest' not in info


def test_manifest_option_as_json_string_with_sha256(model):
    failed, result = run({'path': str(model), 'manifest': json.dumps({'files': MANIFEST}), 'sha256': True})
    assert not failed
    info = result['weights_info']
    assert info['ok'] is True
    assert info['sha256_checked'] == sorted(MANIFEST)


def test_corrupted_and_missing_files_are_named(model):
    (model / 'model-00002-of-00002.safetensors').unlink()
    (model / 'model-00001-of-00002.safetensors').write_bytes(b'\x09' * 64)  # same size, other bytes
    (model / 'README.md').write_text('hub readme')
    failed, result = run({'path': str(model), 'manifest': MANIFEST, 'sha256': True, '_ansible_check_mode': True})
    assert not failed
    info = result['weights_info']
    assert info['ok'] is False
    assert info['missing'] == ['model-00002-of-00002.safetensors']
    assert info['sha256_mismatch'] == [{'path': 'model-00001-of-00002.safetensors',
                                        'expected': sha(SHARD1), 'actual': sha(b'\x09' * 64)}]
    assert info['extra'] == ['README.md']
    assert info['problems'] == [
        '1 file(s) missing: model-00002-of-00002.safetensors',
        '1 file(s) with the wrong sha256: model-00001-of-00002.safetensors (got %s, expected %s)'
        % (sha(b'\x09' * 64), sha(SHARD1)),
    ]


def test_truncated_file_is_not_hashed(model, monkeypatch):
    (model / 'model-00002-of-00002.safetensors').write_bytes(SHARD2[:10])
    hashed = []
    real = weights_info.hash_files

    def spy(root, rels, workers=1):
        hashed.extend(rels)
        return real(root, rels, workers)

    monkeypatch.setattr(weights_info, 'hash_files', spy)
    failed, result = run({'path': str(model), 'manifest': MANIFEST, 'sha256': True})
    assert not failed
    info = result['weights_info']
    assert info['size_mismatch'] == [{'path': 'model-00002-of-00002.safetensors', 'expected': 96, 'actual': 10}]
    assert sorted(hashed) == ['config.json', 'model-00001-of-00002.safetensors']


def test_manifest_file_in_the_model_directory_is_found(model):
    (model / MANIFEST_NAME).write_text(json.dumps({'format': FORMAT, 'files': MANIFEST}))
    failed, result = run({'path': str(model)})
    assert not failed
    info = result['weights_info']
    assert (info['ok'], info['manifest_source'], info['manifest_file']) == (True, 'file', str(model / MANIFEST_NAME))
    assert info['extra'] == []  # the manifest itself is not a model file


def test_explicit_manifest_file(model, tmp_path):
    manifest = tmp_path / 'm.json'
    manifest.write_text(json.dumps(dict((k, v['sha256']) for k, v in MANIFEST.items())))
    failed, result = run({'path': str(model), 'manifest_file': str(manifest), 'sha256': True})
    assert not failed
    assert result['weights_info']['ok'] is True
    assert result['weights_info']['manifest_source'] == 'file'


def test_missing_explicit_manifest_file_fails(model, tmp_path):
    failed, result = run({'path': str(model), 'manifest_file': str(tmp_path / 'nope.json')})
    assert failed
    assert 'nope.json does not exist' in result['msg']


@pytest.mark.parametrize('content, message', [
    ('not json', 'cannot read the manifest'),
    ('{"config.json": -3}', 'non-negative integer'),
])
def test_bad_manifest_file_fails_naming_it(model, content, message):
    (model / MANIFEST_NAME).write_text(content)
    failed, result = run({'path': str(model)})
    assert failed
    assert message in result['msg']
    assert MANIFEST_NAME in result['msg']


def test_bad_manifest_option_fails(model):
    failed, result = run({'path': str(model), 'manifest': {'../escape': 1}})
    assert failed
    assert result['msg'].startswith('manifest (option):')


def test_no_manifest_checks_presence(model):
    failed, result = run({'path': str(model)})
    assert not failed
    info = result['weights_info']
    assert (info['ok'], info['manifest_source'], info['files']) == (True, 'none', 3)
    (model / 'config.json').unlink()
    failed, result = run({'path': str(model)})
    assert result['weights_info']['ok'] is False
    assert result['weights_info']['problems'] == ['config.json is missing']


def test_missing_directory_is_reported_not_failed(tmp_path):
    path = str(tmp_path / 'absent')
    failed, result = run({'path': path, 'manifest': MANIFEST})
    assert not failed
    info = result['weights_info']
    assert (info['exists'], info['ok']) == (False, False)
    assert info['missing'] == sorted(MANIFEST)
    assert info['problems'] == ['%s does not exist' % path]
    failed, result = run({'path': path})
    assert result['weights_info']['problems'] == ['%s does not exist' % path]


def test_a_file_instead_of_a_directory(tmp_path):
    path = tmp_path / 'file'
    path.write_text('x')
    failed, result = run({'path': str(path)})
    assert not failed
    assert result['weights_info']['problems'] == ['%s is not a directory' % path]


def test_build_manifest_with_sha256(model):
    (model / '.msc').write_text('modelscope bookkeeping')
    failed, result = run({'path': str(model), 'build_manifest': True, 'sha256': True,
                          'model': 'vllm-ascend/DeepSeek-V3.2-Exp-W8A8'})
    assert not failed
    built = result['weights_info']['manifest']
    assert built == {'format': FORMAT, 'model': 'vllm-ascend/DeepSeek-V3.2-Exp-W8A8', 'files': MANIFEST}
    # what was built verifies
    failed, result = run({'path': str(model), 'manifest': built, 'sha256': True})
    assert result['weights_info']['ok'] is True


def test_build_manifest_sizes_only(model):
    failed, result = run({'path': str(model), 'build_manifest': True})
    assert not failed
    files = result['weights_info']['manifest']['files']
    assert files['config.json'] == {'size': len(CONFIG), 'sha256': None}


def test_ignore_option(model):
    os.makedirs(str(model / 'logs'))
    (model / 'logs' / 'x.log').write_text('x')
    failed, result = run({'path': str(model), 'manifest': MANIFEST, 'ignore': ['logs/*']})
    assert result['weights_info']['extra'] == []
    failed, result = run({'path': str(model), 'manifest': MANIFEST, 'ignore': []})
    assert result['weights_info']['extra'] == ['logs/x.log']


def test_manifest_of_another_revision_is_stale(model):
    (model / MANIFEST_NAME).write_text(json.dumps({'model': 'o/m', 'revision': 'v1.0', 'files': MANIFEST}))
    failed, result = run({'path': str(model), 'revision': 'v1.1'})
    assert not failed
    info = result['weights_info']
    assert info['ok'] is False and info['manifest_source'] == 'file'
    assert info['revision_problem'] == info['problems'][0]
    assert info['problems'] == ['the manifest records revision v1.0 of o/m but the pin is v1.1: the files are of '
                                'another revision']
    # The same revision verifies; building a manifest for the new revision checks presence only.
    assert run({'path': str(model), 'revision': 'v1.0'})[1]['weights_info']['ok'] is True
    built = run({'path': str(model), 'revision': 'v1.1', 'build_manifest': True, 'model': 'o/m'})[1]['weights_info']
    assert built['ok'] is True and built['revision_problem'] is not None
    assert (built['manifest']['model'], built['manifest']['revision']) == ('o/m', 'v1.1')
    assert sorted(built['manifest']['files']) == sorted(MANIFEST)
