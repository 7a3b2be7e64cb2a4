# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""service_files against real files in a temporary directory (it runs no command).

Owner and group are the current user's, so the tests run unprivileged; the one test that
changes the owner to another uid is skipped unless it runs as root.
"""

from __future__ import annotations

import errno
import grp
import os
import pwd
import stat

import pytest

from ansible_collections.ascend.serving.plugins.modules import service_files
from ansible_collections.ascend.serving.tests.unit.plugins.modules.utils import run_module

USER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name
LAUNCH = '#!/bin/sh\nexec vllm serve /models/DeepSeek-V3.2-Exp\n'
UNIT = '[Service]\nExecStart=/etc/ascend-serving/launch.sh\n'


def run(check=False, diff=False, **args):
    if check:
        args['_ansible_check_mode'] = True
    if diff:
        args['_ansible_diff'] = True
    return run_module(service_files.main, args)


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def read(path):
    with open(str(path)) as handle:
        return handle.read()


def write(path, content, mode):
    with open(str(path), 'w') as handle:
        handle.write(content)
    os.chmod(str(path), mode)


def snapshot(root):
    """Every path under ``root`` with its type, mode, inode, mtime and content (files)."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(str(root)):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            content = read(path) if stat.S_ISREG(st.st_mode) else None
            seen[path] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_ino, st.st_mtime_ns, content)
    return seen


@pytest.fixture(autouse=True)
def umask():
    """A known umask, which strips group/other write: modes such as 0775 must come from a chmod."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def conf(tmp_path):
    """Paths of a not yet created service directory and two files in it."""
    directory = tmp_path / 'ascend-serving'
    return {'dir': str(directory), 'launch': str(directory / 'launch.sh'), 'unit': str(directory / 'ascend-vllm.service')}


def standard(conf, launch=LAUNCH, launch_mode='0700', unit=UNIT, unit_mode='0644'):
    return dict(
        directories=[{'path': conf['dir'], 'mode': '0775', 'owner': USER, 'group': GROUP}],
        files=[
            {'path': conf['launch'], 'content': launch, 'mode': launch_mode, 'owner': USER, 'group': GROUP},
            {'path': conf['unit'], 'content': unit, 'mode': unit_mode},
        ],
    )


# ---------------------------------------------------------------------------
# Writing and idempotence
# ---------------------------------------------------------------------------

def test_creates_the_directory_then_writes_the_files(conf):
    failed, result, runner = run(**standard(conf))
    assert not failed, result
    assert result['changed'] is True
    assert result['changed_paths'] == [conf['dir'], conf['launch'], conf['unit']]
    assert 'diff' not in result
    assert os.path.isdir(conf['dir']) and mode_of(conf['dir']) == 0o775
    assert read(conf['launch']) == '#!/bin/sh\nexec vllm serve /models/DeepSeek-V3.2-Exp\n'
    assert mode_of(conf['launch']) == 0o700
    assert read(conf['unit']) == '[Service]\nExecStart=/etc/ascend-serving/launch.sh\n'
    assert mode_of(conf['unit']) == 0o644
    for path in (conf['dir'], conf['launch'], conf['unit']):
        st = os.stat(path)
        assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())
    assert runner.calls == []


def test_default_modes_are_0755_and_0644(tmp_path):
    os.umask(0o077)
    directory = tmp_path / 'd'
    failed, result, dummy = run(directories=[{'path': str(directory)}],
                                files=[{'path': str(directory / 'f'), 'content': 'x'}])
    assert not failed, result
    assert mode_of(directory) == 0o755 and mode_of(directory / 'f') == 0o644


def test_numeric_owner_and_group_are_accepted(tmp_path):
    path = tmp_path / 'f'
    failed, result, dummy = run(files=[{'path': str(path), 'content': 'x', 'owner': str(os.getuid()),
                                        'group': str(os.getgid())}])
    assert not failed, result
    assert result['changed_paths'] == [str(path)]
    st = os.stat(str(path))
    assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())


def test_a_second_identical_call_changes_and_rewrites_nothing(conf):
    failed, result, dummy = run(**standard(conf))
    assert not failed and result['changed'] is True
    before = snapshot(os.path.dirname(conf['dir']))
    failed, result, dummy = run(**standard(conf))
    assert not failed, result
    assert result['changed'] is False
    assert result['changed_paths'] == []
    assert snapshot(os.path.dirname(conf['dir'])) == before


def test_a_content_change_rewrites_only_that_file(conf):
    assert not run(**standard(conf))[0]
    unit_ino = os.stat(conf['unit']).st_ino
    launch_ino = os.stat(conf['launch']).st_ino
    failed, result, dummy = run(**standard(conf, launch='#!/bin/sh\nexec vllm serve --port 8001\n'))
    assert not failed, result
    assert result['changed'] is True
    assert result['changed_paths'] == [conf['launch']]
    assert read(conf['launch']) == '#!/bin/sh\nexec vllm serve --port 8001\n'
    assert mode_of(conf['launch']) == 0o700
    assert os.stat(conf['launch']).st_ino != launch_ino  # replaced through a temporary file
    assert os.stat(conf['unit']).st_ino == unit_ino
    assert read(conf['unit']) == UNIT


def test_a_mode_only_change_chmods_without_rewriting(conf):
    assert not run(**standard(conf))[0]
    unit_ino = os.stat(conf['unit']).st_ino
    launch_ino = os.stat(conf['launch']).st_ino
    failed, result, dummy = run(**standard(conf, unit_mode='0600'))
    assert not failed, result
    assert result['changed'] is True
    assert result['changed_paths'] == [conf['unit']]
    assert mode_of(conf['unit']) == 0o600
    assert os.stat(conf['unit']).st_ino == unit_ino
    assert read(conf['unit']) == UNIT
    assert os.stat(conf['launch']).st_ino == launch_ino


def test_an_existing_directory_with_another_mode_is_chmodded(conf):
    os.mkdir(conf['dir'])
    os.chmod(conf['dir'], 0o777)
    ino = os.stat(conf['dir']).st_ino
    failed, result, dummy = run(directories=[{'path': conf['dir'], 'mode': '0700'}])
    assert not failed, result
    assert result['changed'] is True and result['changed_paths'] == [conf['dir']]
    assert mode_of(conf['dir']) == 0o700 and os.stat(conf['dir']).st_ino == ino


@pytest.mark.skipif(os.getuid() != 0, reason='changing the owner to another uid needs root')
def test_an_owner_only_change_chowns_without_rewriting(tmp_path):
    path = tmp_path / 'f'
    write(path, 'x', 0o644)
    ino = os.stat(str(path)).st_ino
    failed, result, dummy = run(diff=True, files=[{'path': str(path), 'content': 'x', 'owner': '54321'}])
    assert not failed, result
    assert result['changed_paths'] == [str(path)]
    assert os.stat(str(path)).st_uid == 54321 and os.stat(str(path)).st_ino == ino
    assert result['diff'] == [{'before_header': str(path), 'after_header': str(path),
                               'before': 'owner: 0\n', 'after': 'owner: 54321\n'}]


def test_no_temporary_file_is_left_after_writing(conf):
    assert not run(**standard(conf))[0]
    assert not run(**standard(conf, launch='other\n', unit='also other\n'))[0]
    assert sorted(os.listdir(conf['dir'])) == ['ascend-vllm.service', 'launch.sh']


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(conf, monkeypatch):
    os.mkdir(conf['dir'])
    write(conf['unit'], 'old\n', 0o644)

    def rename(src, dst):
        raise OSError(errno.EIO, 'Input/output error', dst)

    monkeypatch.setattr(service_files.os, 'rename', rename)
    failed, result, dummy = run(files=[{'path': conf['unit'], 'content': 'new\n'}])
    monkeypatch.undo()
    assert failed
    assert result['msg'] == '%s: [Errno 5] Input/output error: %r' % (conf['unit'], conf['unit'])
    assert read(conf['unit']) == 'old\n'
    assert os.listdir(conf['dir']) == ['ascend-vllm.service']


# ---------------------------------------------------------------------------
# absent
# ---------------------------------------------------------------------------

def test_absent_removes_an_existing_file(tmp_path):
    secret = tmp_path / 'secret.env'
    keep = tmp_path / 'keep.env'
    write(secret, 'TOKEN=x\n', 0o600)
    write(keep, 'A=1\n', 0o644)
    failed, result, dummy = run(absent=[str(secret)])
    assert not failed, result
    assert result['changed'] is True and result['changed_paths'] == [str(secret)]
    assert not os.path.lexists(str(secret))
    assert read(keep) == 'A=1\n'


def test_absent_is_a_no_op_when_the_file_is_missing(tmp_path):
    failed, result, dummy = run(absent=[str(tmp_path / 'secret.env'), str(tmp_path / 'no' / 'such' / 'dir')])
    assert not failed, result
    assert result['changed'] is False and result['changed_paths'] == []
    assert os.listdir(str(tmp_path)) == []


def test_absent_refuses_a_directory(tmp_path):
    directory = tmp_path / 'sub'
    directory.mkdir()
    failed, result, dummy = run(absent=[str(directory)])
    assert failed
    assert result['msg'] == '%s is a directory; absent removes files only' % directory
    assert os.path.isdir(str(directory))


# ---------------------------------------------------------------------------
# Check mode and diff mode
# ---------------------------------------------------------------------------

def mixed_state(tmp_path):
    """A tree where each kind of change happens once, and the arguments that cause them."""
    existing = tmp_path / 'etc'
    existing.mkdir()
    os.chmod(str(existing), 0o777)
    write(existing / 'same.conf', 'same\n', 0o644)
    write(existing / 'content.conf', 'old\n', 0o644)
    write(existing / 'mode.conf', 'mode\n', 0o600)
    write(existing / 'secret.env', 'TOKEN=x\n', 0o600)
    new = tmp_path / 'new'
    args = dict(
        directories=[{'path': str(existing), 'mode': '0755'}, {'path': str(new), 'mode': '0700'}],
        files=[
            {'path': str(existing / 'same.conf'), 'content': 'same\n', 'mode': '0644'},
            {'path': str(existing / 'content.conf'), 'content': 'new\n', 'mode': '0644'},
            {'path': str(existing / 'mode.conf'), 'content': 'mode\n', 'mode': '0640'},
            {'path': str(new / 'created.conf'), 'content': 'created\n', 'mode': '0600'},
        ],
        absent=[str(existing / 'secret.env'), str(existing / 'missing.env')],
    )
    expected = [str(existing), str(new), str(existing / 'content.conf'), str(existing / 'mode.conf'),
                str(new / 'created.conf'), str(existing / 'secret.env')]
    return args, expected


def test_check_mode_reports_what_a_real_run_changes_and_touches_nothing(tmp_path):
    args, expected = mixed_state(tmp_path)
    before = snapshot(tmp_path)
    failed, result, dummy = run(check=True, **args)
    assert not failed, result
    assert result['changed'] is True
    assert result['changed_paths'] == expected
    assert snapshot(tmp_path) == before

    failed, real, dummy = run(**args)
    assert not failed, real
    assert real['changed_paths'] == expected
    assert read(tmp_path / 'etc' / 'content.conf') == 'new\n'
    assert mode_of(tmp_path / 'etc' / 'mode.conf') == 0o640
    assert mode_of(tmp_path / 'new') == 0o700
    assert mode_of(tmp_path / 'etc') == 0o755
    assert read(tmp_path / 'new' / 'created.conf') == 'created\n'
    assert not os.path.exists(str(tmp_path / 'etc' / 'secret.env'))


def test_check_mode_on_a_converged_tree_reports_nothing(conf):
    assert not run(**standard(conf))[0]
    failed, result, dummy = run(check=True, **standard(conf))
    assert not failed and result['changed'] is False and result['changed_paths'] == []


def test_diff_mode_shows_one_diff_per_change(tmp_path):
    args, dummy = mixed_state(tmp_path)
    etc, new = str(tmp_path / 'etc'), str(tmp_path / 'new')
    failed, result, dummy = run(diff=True, **args)
    assert not failed, result
    assert result['diff'] == [
        {'before_header': etc, 'after_header': etc, 'before': 'mode: 0o777\n', 'after': 'mode: 0o755\n'},
        {'before_header': new, 'after_header': new, 'before': 'state: absent\n', 'after': 'state: directory\n'},
        {'before_header': etc + '/content.conf', 'after_header': etc + '/content.conf',
         'before': 'old\n', 'after': 'new\n'},
        {'before_header': etc + '/mode.conf', 'after_header': etc + '/mode.conf',
         'before': 'mode: 0o600\n', 'after': 'mode: 0o640\n'},
        {'before_header': new + '/created.conf', 'after_header': new + '/created.conf',
         'before': '', 'after': 'created\n'},
        {'before_header': etc + '/secret.env', 'after_header': etc + '/secret.env',
         'before': 'state: file\n', 'after': 'state: absent\n'},
    ]


def test_diff_and_check_mode_together_show_the_diff_and_write_nothing(tmp_path):
    path = tmp_path / 'f'
    write(path, 'old\n', 0o644)
    failed, result, dummy = run(check=True, diff=True, files=[{'path': str(path), 'content': 'new\n'}])
    assert not failed, result
    assert result['diff'] == [{'before_header': str(path), 'after_header': str(path),
                               'before': 'old\n', 'after': 'new\n'}]
    assert read(path) == 'old\n'


def test_without_diff_mode_there_is_no_diff_key(tmp_path):
    args, dummy = mixed_state(tmp_path)
    failed, result, dummy = run(**args)
    assert not failed and result['changed'] is True
    assert 'diff' not in result


def test_diff_mode_with_nothing_to_change_is_an_empty_list(conf):
    assert not run(**standard(conf))[0]
    failed, result, dummy = run(diff=True, **standard(conf))
    assert not failed and result['diff'] == []


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('mode', ['0999', 'rw', '-1', '17777'])
def test_a_bad_file_mode_fails_naming_the_file_and_the_value(tmp_path, mode):
    path = str(tmp_path / 'f')
    failed, result, dummy = run(files=[{'path': path, 'content': 'x', 'mode': mode}])
    assert failed
    assert result['msg'] == 'file %s: mode %r is not an octal mode such as "0600"' % (path, mode)
    assert not os.path.exists(path)


def test_a_bad_directory_mode_fails_naming_the_directory(tmp_path):
    path = str(tmp_path / 'd')
    failed, result, dummy = run(directories=[{'path': path, 'mode': 'rwx'}])
    assert failed
    assert result['msg'] == "directory %s: mode 'rwx' is not an octal mode such as \"0600\"" % path
    assert not os.path.exists(path)


@pytest.mark.parametrize('where', ['directories', 'files', 'absent'])
def test_a_relative_path_fails(tmp_path, where):
    args = {'directories': [{'path': 'etc/ascend'}], 'files': [{'path': 'etc/ascend/f', 'content': 'x'}],
            'absent': ['etc/ascend/old']}
    relative = {'directories': 'etc/ascend', 'files': 'etc/ascend/f', 'absent': 'etc/ascend/old'}[where]
    failed, result, dummy = run(**{where: args[where]})
    assert failed
    assert result['msg'] == '%s: paths must be absolute' % relative


def test_the_same_path_twice_fails_naming_it(tmp_path):
    path = str(tmp_path / 'f')
    failed, result, dummy = run(files=[{'path': path, 'content': 'x'}], absent=[path])
    assert failed
    assert result['msg'] == 'each path may appear once; repeated: %s' % path
    assert not os.path.exists(path)


def test_the_same_file_twice_fails_naming_it(tmp_path):
    path = str(tmp_path / 'f')
    other = str(tmp_path / 'g')
    failed, result, dummy = run(files=[{'path': path, 'content': 'x'}, {'path': other, 'content': 'y'},
                                       {'path': path, 'content': 'z'}])
    assert failed
    assert result['msg'] == 'each path may appear once; repeated: %s' % path
    assert os.listdir(str(tmp_path)) == []


def test_an_unknown_owner_fails_naming_it(tmp_path):
    owner = 'no-such-user-svcfiles'
    with pytest.raises(KeyError):
        pwd.getpwnam(owner)
    path = str(tmp_path / 'f')
    failed, result, dummy = run(files=[{'path': path, 'content': 'x', 'owner': owner}])
    assert failed
    assert result['msg'] == "file %s: owner 'no-such-user-svcfiles' does not exist on this node" % path
    assert not os.path.exists(path)


def test_an_unknown_group_fails_naming_it(tmp_path):
    group = 'no-such-group-svcfiles'
    with pytest.raises(KeyError):
        grp.getgrnam(group)
    path = str(tmp_path / 'd')
    failed, result, dummy = run(directories=[{'path': path, 'group': group}])
    assert failed
    assert result['msg'] == "directory %s: group 'no-such-group-svcfiles' does not exist on this node" % path
    assert not os.path.exists(path)


def test_a_file_in_a_missing_unlisted_directory_fails_naming_the_directory(tmp_path):
    directory = str(tmp_path / 'missing')
    path = directory + '/f'
    failed, result, dummy = run(files=[{'path': path, 'content': 'x'}])
    assert failed
    assert result['msg'] == 'file %s: its directory %s does not exist; list it in directories' % (path, directory)
    assert os.listdir(str(tmp_path)) == []


def test_a_directory_listed_in_files_fails(tmp_path):
    directory = tmp_path / 'sub'
    directory.mkdir()
    failed, result, dummy = run(files=[{'path': str(directory), 'content': 'x'}])
    assert failed
    assert result['msg'] == '%s exists and is not a regular file; move it away and re-run' % directory
    assert os.path.isdir(str(directory)) and os.listdir(str(directory)) == []


def test_a_file_listed_in_directories_fails(tmp_path):
    path = tmp_path / 'f'
    write(path, 'x', 0o644)
    failed, result, dummy = run(directories=[{'path': str(path)}])
    assert failed
    assert result['msg'] == '%s exists and is not a directory; move it away and re-run' % path
    assert read(path) == 'x'


# ---------------------------------------------------------------------------
# Bad input is found before anything changes, in check mode as in a real run
# ---------------------------------------------------------------------------

def test_check_mode_fails_like_a_real_run_when_the_directory_is_missing(tmp_path):
    directory = str(tmp_path / 'missing')
    path = directory + '/f'
    failed, result, dummy = run(check=True, files=[{'path': path, 'content': 'x'}])
    assert failed
    assert result['msg'] == 'file %s: its directory %s does not exist; list it in directories' % (path, directory)


def test_an_invalid_later_entry_fails_before_the_earlier_ones_are_written(tmp_path):
    first = str(tmp_path / 'first')
    second = str(tmp_path / 'second')
    failed, result, dummy = run(files=[{'path': first, 'content': 'x'}, {'path': second, 'content': 'y', 'mode': 'rw'}])
    assert failed
    assert result['msg'] == 'file %s: mode %r is not an octal mode such as "0600"' % (second, 'rw')
    assert not os.path.exists(second)
    assert not os.path.exists(first)
