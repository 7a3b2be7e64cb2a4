# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""controller_files: write only what differs, create directories, honour check mode and modes."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.ascend.serving.plugins.module_utils.controller_files import FilesError, write_files


def _mode(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def test_writes_creates_directories_and_is_idempotent(tmp_path):
    report = tmp_path / 'reports' / 'sim' / 'verify_comm.json'
    files = [{'path': str(report), 'content': '{"ok": true}\n', 'mode': '0640'},
             {'path': str(tmp_path / 'reports' / 'sim' / 'verify_comm.md'), 'content': '# \u2713\n', 'mode': '0640'}]
    assert write_files(files, '0750') == [str(report), str(tmp_path / 'reports' / 'sim' / 'verify_comm.md')]
    assert report.read_text() == '{"ok": true}\n'
    assert (tmp_path / 'reports' / 'sim' / 'verify_comm.md').read_bytes() == '# \u2713\n'.encode('utf-8')
    assert _mode(report) == 0o640 and _mode(report.parent) == 0o750
    assert write_files(files, '0750') == []
    assert not [name for name in os.listdir(str(report.parent)) if name.startswith('.')], 'no temporary file left'


def test_rewrites_a_changed_content_or_mode_only(tmp_path):
    path = tmp_path / 'a.txt'
    path.write_text('old\n')
    os.chmod(str(path), 0o600)
    assert write_files([{'path': str(path), 'content': 'old\n', 'mode': '0600'}]) == []
    assert write_files([{'path': str(path), 'content': 'old\n', 'mode': '0644'}]) == [str(path)]
    assert _mode(path) == 0o644
    assert write_files([{'path': str(path), 'content': 'new\n', 'mode': '0644'}]) == [str(path)]
    assert path.read_text() == 'new\n'


def test_check_mode_writes_nothing(tmp_path):
    path = tmp_path / 'dir' / 'a.txt'
    assert write_files([{'path': str(path), 'content': 'x', 'mode': '0644'}], check_mode=True) == [str(path)]
    assert not path.parent.exists()


@pytest.mark.parametrize('files,directory_mode,message', [
    ([{'path': 'x', 'content': '', 'mode': 'rw-r--r--'}], '0755', "mode 'rw-r--r--' is not an octal number"),
    ([], '99', "directory_mode: mode '99' is not an octal number"),
    ([{'path': 'x', 'content': '', 'mode': '17777'}], '0755', "mode '17777' is out of range"),
])
def test_bad_modes_fail(tmp_path, files, directory_mode, message):
    with pytest.raises(FilesError, match=message):
        write_files([dict(f, path=str(tmp_path / f['path'])) for f in files], directory_mode)


def test_an_unwritable_place_fails_naming_the_path(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('')
    with pytest.raises(FilesError, match='%s/x.json: ' % blocker):
        write_files([{'path': str(blocker / 'x.json'), 'content': '{}', 'mode': '0644'}])
