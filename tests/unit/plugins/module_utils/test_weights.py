# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests of the model weight manifest functions (module_utils/weights.py)."""

from __future__ import annotations

import hashlib
import os

import pytest

from ansible_collections.ascend.serving.plugins.module_utils import weights
from ansible_collections.ascend.serving.plugins.module_utils.weights import ManifestError

SHA_A = hashlib.sha256(b'a').hexdigest()
SHA_B = hashlib.sha256(b'bb').hexdigest()


def write(root, rel, data):
    path = os.path.join(str(root), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as handle:
        handle.write(data)
    return path


# -- normalize_manifest ---------------------------------------------------------------------------

@pytest.mark.parametrize('data, files', [
    # canonical
    ({'format': weights.FORMAT, 'files': {'a': {'size': 1, 'sha256': SHA_A}}},
     {'a': {'size': 1, 'sha256': SHA_A}}),
    # files wrapper with a bare size and a bare sha256 (upper case accepted, stored lower case)
    ({'files': {'a': 1, 'b': SHA_B.upper()}},
     {'a': {'size': 1, 'sha256': None}, 'b': {'size': None, 'sha256': SHA_B}}),
    # make_model.py's manifest.json: {relative path: sha256}
    ({'config.json': SHA_A, 'model-00001-of-00002.safetensors': SHA_B},
     {'config.json': {'size': None, 'sha256': SHA_A},
      'model-00001-of-00002.safetensors': {'size': None, 'sha256': SHA_B}}),
    # list of entries, path or name, ./ prefixes normalised
    ([{'path': './sub/a', 'size': 1}, {'name': 'b', 'sha256': SHA_B, 'size': 2}],
     {'sub/a': {'size': 1, 'sha256': None}, 'b': {'size': 2, 'sha256': SHA_B}}),
    # zero-byte files are legal
    ({'files': {'empty': {'size': 0}}}, {'empty': {'size': 0, 'sha256': None}}),
])
def test_normalize_accepts(data, files):
    out = weights.normalize_manifest(data)
    assert out['format'] == weights.FORMAT
    assert out['files'] == files
    assert list(out['files']) == sorted(files)


def test_normalize_keeps_the_model_id():
    out = weights.normalize_manifest({'model': 'vllm-ascend/DeepSeek-V3.2-Exp-W8A8', 'files': {'a': 1}})
    assert out['model'] == 'vllm-ascend/DeepSeek-V3.2-Exp-W8A8'


@pytest.mark.parametrize('data, message', [
    ({}, 'lists no files'),
    ({'files': {}}, 'lists no files'),
    ('config.json', 'is a mapping'),
    ({'files': 'x'}, 'is a mapping'),
    ({'/etc/passwd': 1}, 'relative to the model directory'),
    ({'../x': 1}, 'relative to the model directory'),
    ({'a/../../x': 1}, 'relative to the model directory'),
    ({'a': -1}, 'non-negative integer'),
    ({'a': True}, 'neither a size'),
    ({'a': 1.5}, 'neither a size'),
    ({'a': 'abc'}, '64 hexadecimal digits'),
    ({'a': {'size': '12'}}, 'non-negative integer'),
    ({'a': {'sha': SHA_A}}, "unknown key(s) sha"),
    ({'a': {}}, 'give its size, its sha256 or both'),
    ({'a': None}, 'give its size, its sha256 or both'),
    ([{'path': 'a', 'size': 1}, {'path': './a', 'size': 1}], 'a is listed twice'),
    ([{'size': 1}], 'entry 0: no path'),
    (['a'], 'entry 0'),
    ({'files': {'a': 1}, 'format': 'other/2'}, "format 'other/2'"),
    ({'files': {'a': 1}, 'checksums': {}}, 'unknown top-level key(s) checksums'),
])
def test_normalize_rejects(data, message):
    with pytest.raises(ManifestError) as err:
        weights.normalize_manifest(data)
    assert message in str(err.value)


# -- is_hub_id --------------------------------------------------------------------------------

@pytest.mark.parametrize('model, expected', [
    ('vllm-ascend/DeepSeek-V3.2-Exp-W8A8', True),
    ('deepseek-ai/DeepSeek-V3.2-Exp', True),
    ('/root/.cache/Modelers_Park/DeepSeek-V3.2-Exp', False),
    ('./models/x', False),
    ('~/models/x', False),
    ('DeepSeek-V3.2-Exp', False),
    ('a/b/c', False),
    ('', False),
    (None, False),
])
def test_is_hub_id(model, expected):
    assert weights.is_hub_id(model) is expected


# -- scan / hash ------------------------------------------------------------------------------

def test_scan_lists_sizes_and_skips_bookkeeping(tmp_path):
    write(tmp_path, 'config.json', b'{}')
    write(tmp_path, 'model-00001-of-00001.safetensors', b'x' * 10)
    write(tmp_path, 'sub/tokenizer.json', b'tok')
    write(tmp_path, weights.MANIFEST_NAME, b'{}')
    write(tmp_path, '.msc', b'bookkeeping')
    write(tmp_path, '._____temp/partial.safetensors', b'partial')
    write(tmp_path, '.git/HEAD', b'ref')
    os.symlink(str(tmp_path / 'config.json'), str(tmp_path / 'link.json'))
    os.symlink(str(tmp_path / 'nowhere'), str(tmp_path / 'broken.bin'))
    assert weights.scan(str(tmp_path)) == {
        'broken.bin': None,
        'config.json': 2,
        'link.json': 2,
        'model-00001-of-00001.safetensors': 10,
        'sub/tokenizer.json': 3,
    }


def test_scan_with_custom_ignore(tmp_path):
    write(tmp_path, 'a', b'1')
    write(tmp_path, 'logs/x.log', b'22')
    assert weights.scan(str(tmp_path), ['logs/*']) == {'a': 1}
    assert weights.scan(str(tmp_path), []) == {'a': 1, 'logs/x.log': 2}


def test_hash_files_sequential_and_parallel(tmp_path):
    write(tmp_path, 'a', b'a')
    write(tmp_path, 'd/b', b'bb')
    expected = {'a': SHA_A, 'd/b': SHA_B}
    assert weights.hash_files(str(tmp_path), ['a', 'd/b']) == expected
    assert weights.hash_files(str(tmp_path), ['a', 'd/b'], workers=4) == expected
    assert weights.hash_file(str(tmp_path / 'a'), chunk=1) == SHA_A


# -- compare / summary --------------------------------------------------------------------------

MANIFEST = weights.normalize_manifest({'files': {
    'config.json': {'size': 2, 'sha256': SHA_A},
    'model-00001-of-00002.safetensors': {'size': 10},
    'model-00002-of-00002.safetensors': {'size': 10, 'sha256': SHA_B},
}})


@pytest.mark.parametrize('observed, digests, expected', [
    # all present, sizes only: the sha256s are left unverified
    ({'config.json': 2, 'model-00001-of-00002.safetensors': 10, 'model-00002-of-00002.safetensors': 10}, None,
     {'ok': True, 'missing': [], 'size_mismatch': [], 'sha256_mismatch': [], 'extra': [],
      'sha256_checked': [], 'sha256_unverified': ['config.json', 'model-00002-of-00002.safetensors'],
      'present_size': 22}),
    # all present and hashed, plus an extra file (never a failure)
    ({'config.json': 2, 'model-00001-of-00002.safetensors': 10, 'model-00002-of-00002.safetensors': 10,
      'README.md': 5},
     {'config.json': SHA_A, 'model-00002-of-00002.safetensors': SHA_B},
     {'ok': True, 'missing': [], 'size_mismatch': [], 'sha256_mismatch': [], 'extra': ['README.md'],
      'sha256_checked': ['config.json', 'model-00002-of-00002.safetensors'], 'sha256_unverified': [],
      'present_size': 22}),
    # one missing, one broken link, one truncated, one corrupted
    ({'config.json': 2, 'model-00001-of-00002.safetensors': 7, 'model-00002-of-00002.safetensors': None}, None,
     {'ok': False, 'missing': ['model-00002-of-00002.safetensors'],
      'size_mismatch': [{'path': 'model-00001-of-00002.safetensors', 'expected': 10, 'actual': 7}],
      'sha256_mismatch': [], 'extra': [], 'sha256_checked': [], 'sha256_unverified': ['config.json'],
      'present_size': 9}),
    ({'config.json': 2, 'model-00001-of-00002.safetensors': 10, 'model-00002-of-00002.safetensors': 10},
     {'config.json': SHA_B, 'model-00002-of-00002.safetensors': SHA_B},
     {'ok': False, 'missing': [], 'size_mismatch': [],
      'sha256_mismatch': [{'path': 'config.json', 'expected': SHA_A, 'actual': SHA_B}], 'extra': [],
      'sha256_checked': ['config.json', 'model-00002-of-00002.safetensors'], 'sha256_unverified': [],
      'present_size': 22}),
    # nothing there
    ({}, None,
     {'ok': False, 'missing': ['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'],
      'size_mismatch': [], 'sha256_mismatch': [], 'extra': [], 'sha256_checked': [], 'sha256_unverified': [],
      'present_size': 0}),
])
def test_compare(observed, digests, expected):
    result = weights.compare(MANIFEST, observed, digests)
    for key, value in expected.items():
        assert result[key] == value, key
    assert result['files'] == 3
    assert result['expected_size'] == 22


def test_summary_names_every_kind_of_problem():
    result = weights.compare(MANIFEST, {'config.json': 2, 'model-00001-of-00002.safetensors': 7},
                             {'config.json': SHA_B})
    assert weights.summary(result) == [
        '1 file(s) missing: model-00002-of-00002.safetensors',
        '1 file(s) with the wrong size: model-00001-of-00002.safetensors (7 bytes, expected 10)',
        '1 file(s) with the wrong sha256: config.json (got %s, expected %s)' % (SHA_B, SHA_A),
    ]
    assert weights.summary(weights.compare(MANIFEST, {'config.json': 2, 'model-00001-of-00002.safetensors': 10,
                                                      'model-00002-of-00002.safetensors': 10})) == []


def test_summary_shortens_long_lists():
    manifest = weights.normalize_manifest(dict(('f%02d' % i, 1) for i in range(25)))
    text = weights.summary(weights.compare(manifest, {}))[0]
    assert text.startswith('25 file(s) missing: f00, f01,')
    assert text.endswith('f09 and 15 more')


# -- presence / build ---------------------------------------------------------------------------

@pytest.mark.parametrize('observed, problems', [
    ({'config.json': 2, 'model.safetensors': 10}, []),
    ({'config.json': 2, 'sub/pytorch_model.bin': 10}, []),
    ({'model.safetensors': 10}, ['config.json is missing']),
    ({'config.json': 2}, ['no weight file (*.safetensors, *.bin, *.pt, *.pth, *.gguf)']),
    ({}, ['config.json is missing', 'no weight file (*.safetensors, *.bin, *.pt, *.pth, *.gguf)']),
    ({'config.json': 2, 'a.safetensors': None}, ['broken symlink(s): a.safetensors']),
])
def test_presence_problems(observed, problems):
    assert weights.presence_problems(observed) == problems


def test_build_manifest_round_trips_through_compare():
    observed = {'config.json': 2, 'model.safetensors': 10, 'broken': None}
    built = weights.build_manifest(observed, {'config.json': SHA_A}, model='owner/name')
    assert built == {'format': weights.FORMAT, 'model': 'owner/name', 'files': {
        'config.json': {'size': 2, 'sha256': SHA_A}, 'model.safetensors': {'size': 10, 'sha256': None}}}
    assert weights.normalize_manifest(built) == built
    assert weights.compare(built, observed, {'config.json': SHA_A})['ok'] is True


def test_build_manifest_of_nothing_is_an_error():
    with pytest.raises(ManifestError):
        weights.build_manifest({'broken': None})


# -- revision pins (issue 21 item 8) -----------------------------------------------------------------
def test_normalize_and_build_keep_the_revision():
    out = weights.normalize_manifest({'model': 'vllm-ascend/DeepSeek-V3.2-Exp-W8A8', 'revision': 'v1.0',
                                      'files': {'a': 1}})
    assert out['revision'] == 'v1.0'
    built = weights.build_manifest({'config.json': 3}, model='vllm-ascend/DeepSeek-V3.2-Exp-W8A8', revision='8f3c2a1')
    assert (built['model'], built['revision']) == ('vllm-ascend/DeepSeek-V3.2-Exp-W8A8', '8f3c2a1')
    assert weights.normalize_manifest(built) == built
    assert 'revision' not in weights.build_manifest({'config.json': 3})


@pytest.mark.parametrize('manifest, revision, expected', [
    ({'files': {}, 'revision': 'v1.0', 'model': 'o/m'}, 'v1.1',
     'the manifest records revision v1.0 of o/m but the pin is v1.1: the files are of another revision'),
    ({'files': {}, 'revision': 'v1.0'}, 'v1.1', 'the manifest records revision v1.0 but the pin is v1.1'),
    ({'files': {}, 'revision': 'v1.0'}, 'v1.0', None),
    ({'files': {}, 'revision': 'v1.0'}, '', None),
    ({'files': {}}, 'v1.1', None),
    (None, 'v1.1', None),
])
def test_revision_problem(manifest, revision, expected):
    got = weights.revision_problem(manifest, revision)
    assert got == expected if expected is None else got.startswith(expected)
