# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guard of every recursive delete (owned_path), against real directories in tmp_path."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.ascend.serving.plugins.module_utils import owned_path as op
from ansible_collections.ascend.serving.plugins.module_utils.owned_path import GuardError, decide


def make(path, *files):
    path.mkdir(parents=True, exist_ok=True)
    for name in files:
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text('x')
    return path


@pytest.mark.parametrize('path', ['/', '/etc', '/etc/', '/usr', '/opt', '/var', '/home', '/root', '/usr/local',
                                  '/var/lib', '/etc/systemd/system'])
def test_system_directories_are_refused_naming_host_variable_and_path(path):
    with pytest.raises(GuardError) as err:
        decide(path, host='node0', variable='vllm_service_config_dir')
    assert 'node0: vllm_service_config_dir=%r' % path in str(err.value)
    assert 'system directory' in str(err.value)


@pytest.mark.parametrize('path,why', [('etc/ascend-serving', 'not an absolute path'), ('', 'empty path'),
                                      ('/etc/../etc', 'not normalised'), ('//etc/x', 'not normalised'),
                                      ('/opt/./x', 'not normalised'), ('/opt/x\n', 'control characters')])
def test_relative_unnormalised_and_odd_paths_are_refused(path, why):
    with pytest.raises(GuardError, match=why):
        decide(path, host='node1', variable='v')


def test_absent_path_is_fine_and_removes_nothing(tmp_path):
    verdict = decide(str(tmp_path / 'gone'), host='node0', variable='v')
    assert verdict == {'path': str(tmp_path / 'gone'), 'exists': False, 'remove': False, 'owned_by': None,
                       'kept_for': []}


def test_directory_without_marker_is_refused_and_names_the_fix(tmp_path):
    # The old undeploy removed any directory the variable named.
    mine = make(tmp_path / 'not-ours', 'precious.txt')
    with pytest.raises(GuardError) as err:
        decide(str(mine), legacy=op.LEGACY_CONFIG, host='node0', variable='vllm_service_config_dir')
    msg = str(err.value)
    assert 'node0: vllm_service_config_dir=' in msg and str(mine) in msg
    assert op.MARKER in msg and 'touch %s/%s' % (mine, op.MARKER) in msg
    assert (mine / 'precious.txt').exists()


def test_marker_makes_it_owned(tmp_path):
    mine = make(tmp_path / 'cfg', op.MARKER, 'launch.sh')
    verdict = decide(str(mine), legacy=op.LEGACY_CONFIG)
    assert verdict['remove'] and verdict['owned_by'] == 'marker'
    op.remove(verdict['path'])
    assert not mine.exists()


def test_legacy_config_dir_needs_state_and_launch_script(tmp_path):
    both = make(tmp_path / 'a', 'state.json', 'launch.sh')
    assert decide(str(both), legacy=op.LEGACY_CONFIG)['owned_by'] == 'legacy'
    half = make(tmp_path / 'b', 'state.json')
    with pytest.raises(GuardError):
        decide(str(half), legacy=op.LEGACY_CONFIG)


def test_legacy_ops_root_needs_a_stamp(tmp_path):
    root = make(tmp_path / 'ops-root', 'ops/v0.11.0rc0-a3.json')
    assert decide(str(root), legacy=op.LEGACY_OPS_ROOT)['owned_by'] == 'legacy'
    bare = make(tmp_path / 'bare', 'ops/readme.txt')
    with pytest.raises(GuardError):
        decide(str(bare), legacy=op.LEGACY_OPS_ROOT)


def test_symlink_is_refused_and_its_target_kept(tmp_path):
    target = make(tmp_path / 'target', op.MARKER, 'keep')
    link = tmp_path / 'link'
    link.symlink_to(target)
    with pytest.raises(GuardError, match='is a symlink'):
        decide(str(link))
    assert (target / 'keep').exists()


def test_a_marker_that_is_a_symlink_does_not_count(tmp_path):
    elsewhere = make(tmp_path / 'elsewhere', 'm')
    mine = make(tmp_path / 'cfg')
    (mine / op.MARKER).symlink_to(elsewhere / 'm')
    with pytest.raises(GuardError):
        decide(str(mine))


def test_a_file_is_not_removed_by_the_marker_rule(tmp_path):
    f = tmp_path / 'file'
    f.write_text('x')
    with pytest.raises(GuardError, match='not a directory'):
        decide(str(f))


def state(path, model):
    path.mkdir(parents=True, exist_ok=True)
    (path / 'state.json').write_text(json.dumps({'model': model, 'release': 'v0.11.0rc0'}))


def test_weights_named_by_another_instance_are_kept(tmp_path):
    weights = make(tmp_path / 'models' / 'DeepSeek', 'model.safetensors')
    state(tmp_path / 'etc' / 'ascend-serving', str(weights))        # the instance being purged
    state(tmp_path / 'etc' / 'ascend-serving-b', str(weights))      # another instance still serves them
    verdict = decide(str(weights), rule='safe', state_dirs=[str(tmp_path / 'etc' / 'ascend-serving*')],
                     ignore_dirs=[str(tmp_path / 'etc' / 'ascend-serving')])
    assert not verdict['remove']
    assert verdict['kept_for'] == [str(tmp_path / 'etc' / 'ascend-serving-b' / 'state.json')]


def test_weights_named_only_by_the_purged_instance_go(tmp_path):
    weights = make(tmp_path / 'models' / 'DeepSeek', 'model.safetensors')
    state(tmp_path / 'etc' / 'ascend-serving', str(weights))
    state(tmp_path / 'etc' / 'ascend-serving-b', str(tmp_path / 'models' / 'Other'))
    verdict = decide(str(weights), rule='safe', state_dirs=[str(tmp_path / 'etc' / 'ascend-serving*')],
                     ignore_dirs=[str(tmp_path / 'etc' / 'ascend-serving')])
    assert verdict['remove'] and verdict['kept_for'] == []


def test_weights_inside_or_around_anothers_are_kept_and_previous_releases_count(tmp_path):
    weights = make(tmp_path / 'models', 'DeepSeek/x')
    state(tmp_path / 'cfg-b' / 'previous', str(tmp_path / 'models' / 'DeepSeek'))
    verdict = decide(str(weights), rule='safe', state_dirs=[str(tmp_path / 'cfg-b')])
    assert not verdict['remove'] and verdict['kept_for'] == [str(tmp_path / 'cfg-b' / 'previous' / 'state.json')]


def test_weights_in_a_system_directory_are_refused():
    with pytest.raises(GuardError, match="model \\(state.json\\)='/root'"):
        decide('/root', rule='safe', host='node0', variable='model (state.json)')


def test_unreadable_state_files_protect_nothing(tmp_path):
    weights = make(tmp_path / 'w', 'x')
    (tmp_path / 'cfg').mkdir()
    (tmp_path / 'cfg' / 'state.json').write_text('{not json')
    assert decide(str(weights), rule='safe', state_dirs=[str(tmp_path / 'cfg')])['remove']


def test_parent_symlink_into_a_system_directory_is_refused(tmp_path):
    (tmp_path / 'up').symlink_to('/')
    with pytest.raises(GuardError, match='resolves to the system directory /etc'):
        decide(os.path.join(str(tmp_path), 'up', 'etc'))
