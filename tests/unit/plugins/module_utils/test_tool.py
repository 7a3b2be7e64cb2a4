# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tool runner: the search lists, the lookup, the C-locale run with a timeout, the parsing and
the errors. ``which`` and ``execute`` run against real files and processes in tmp_path."""

from __future__ import annotations

import pytest

from ansible_collections.ascend.serving.plugins.module_utils import tool
from ansible_collections.ascend.serving.plugins.module_utils._parse import ParseError

NPU_SMI_DIRS = ['/usr/local/bin', '/usr/local/sbin', '/usr/local/Ascend/driver/tools']


def _script(directory, name, body, mode=0o755):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text('#!/bin/sh\n' + body)
    path.chmod(mode)
    return str(path)


def test_one_search_list_per_tool():
    # npu-smi: the union of npu_info's and hccn_info's (/usr/local/bin, /usr/local/sbin) and the
    # preflight probe's list (those and the driver's tools directory).
    assert tool.search_dirs('npu-smi') == NPU_SMI_DIRS
    assert tool.search_dirs('hccn_tool') == ['/usr/local/Ascend/driver/tools']
    assert tool.search_dirs('ip') == ['/sbin', '/usr/sbin']
    assert tool.search_dirs('df') == []


def test_which_prefers_path_then_the_search_list(tmp_path, monkeypatch):
    on_path = _script(tmp_path / 'path', 'npu-smi', 'exit 0\n')
    in_dir = _script(tmp_path / 'driver', 'npu-smi', 'exit 0\n')
    _script(tmp_path / 'noexec', 'npu-smi', 'exit 0\n', mode=0o644)
    monkeypatch.setenv('PATH', str(tmp_path / 'path'))
    assert tool.which('npu-smi', [str(tmp_path / 'driver')]) == on_path
    monkeypatch.setenv('PATH', str(tmp_path / 'empty'))
    assert tool.which('npu-smi', [str(tmp_path / 'noexec'), str(tmp_path / 'driver')]) == in_dir
    assert tool.which('npu-smi', [str(tmp_path / 'noexec')]) is None
    assert tool.which('npu-smi', []) is None


def test_find_searches_the_tools_list_by_default():
    asked = []

    def which(name, dirs):
        asked.append((name, dirs))
        return '/usr/local/Ascend/driver/tools/npu-smi'

    runner = tool.Runner(which=which)
    assert runner.find('npu-smi') == '/usr/local/Ascend/driver/tools/npu-smi'
    assert runner.find('npu-smi', dirs=['/opt/x']) == '/usr/local/Ascend/driver/tools/npu-smi'
    assert asked == [('npu-smi', NPU_SMI_DIRS), ('npu-smi', ['/opt/x'])]


def test_find_missing_names_the_tool_every_place_searched_and_the_fix():
    runner = tool.Runner(which=lambda name, dirs: None)
    with pytest.raises(tool.ToolMissing) as caught:
        runner.find('npu-smi', option='npu_smi_path')
    assert caught.value.msg == ('npu-smi was not found on PATH or in /usr/local/bin, /usr/local/sbin, '
                                '/usr/local/Ascend/driver/tools. Install the Ascend NPU driver, or set npu_smi_path.')
    assert caught.value.searched == ['PATH'] + NPU_SMI_DIRS
    assert caught.value.details == {'searched': ['PATH'] + NPU_SMI_DIRS}
    with pytest.raises(tool.ToolMissing) as caught:
        runner.find('hccn_tool')
    assert caught.value.msg == ('hccn_tool was not found on PATH or in /usr/local/Ascend/driver/tools. '
                                'Install the Ascend NPU driver.')
    with pytest.raises(tool.ToolMissing) as caught:
        runner.find('ss', option='ss_path')
    assert caught.value.msg == 'ss was not found on PATH. Set ss_path.'
    assert caught.value.searched == ['PATH']


def test_find_an_explicit_path_must_be_an_executable_file(tmp_path):
    runner = tool.Runner(which=lambda name, dirs: pytest.fail('an explicit path is not looked up'))
    good = _script(tmp_path, 'npu-smi', 'exit 0\n')
    assert runner.find('npu-smi', good, 'npu_smi_path') == good
    for bad in (str(tmp_path / 'absent'), str(tmp_path)):
        with pytest.raises(tool.ToolError) as caught:
            runner.find('npu-smi', bad, 'npu_smi_path')
        assert caught.value.msg == 'npu_smi_path %s is not an executable file.' % bad
        assert not isinstance(caught.value, tool.ToolMissing)


def test_execute_reads_a_slow_childs_whole_output_in_the_c_locale(tmp_path, monkeypatch):
    monkeypatch.setenv('LC_ALL', 'zh_CN.UTF-8')
    monkeypatch.setenv('LANG', 'zh_CN.UTF-8')
    monkeypatch.setenv('LC_MESSAGES', 'zh_CN.UTF-8')
    script = _script(tmp_path, 'tool', 'sleep 1.2; echo "$LC_ALL $LANG $LC_MESSAGES $1"; echo oops >&2; exit 3\n')
    assert tool.execute([script, 'arg with space'], timeout=30) == (3, 'C C C arg with space\n', 'oops\n')


def test_execute_kills_a_command_past_its_timeout(tmp_path):
    script = _script(tmp_path, 'tool', 'echo started; exec sleep 30\n')
    assert tool.execute([script], timeout=1) == (None, '', 'still running after 1 s, killed')


def test_execute_reports_a_command_that_cannot_start(tmp_path):
    rc, out, err = tool.execute([str(tmp_path / 'missing')])
    assert (rc, out) == (127, '')
    assert 'No such file' in err


def test_execute_replaces_undecodable_bytes(tmp_path):
    script = _script(tmp_path, 'tool', "printf 'a\\377b\\n'\n")
    assert tool.execute([script], timeout=30) == (0, 'a\ufffdb\n', '')


class FakeExecute(object):
    """Answers from ``{tuple(argv): (rc, out, err)}``; records (argv, timeout)."""

    def __init__(self, table):
        self.table = table
        self.calls = []

    def __call__(self, argv, timeout=None):
        self.calls.append((argv, timeout))
        if tuple(argv) not in self.table:
            raise AssertionError('unexpected command %r' % (argv,))
        return self.table[tuple(argv)]


def _parse_number(text):
    line = text.strip()
    if not line.isdigit():
        raise ParseError('not a number', line=line)
    return int(line)


def test_run_parses_stdout_and_passes_the_timeout():
    fake = FakeExecute({('/bin/t', 'x'): (0, '42\n', 'note')})
    runner = tool.Runner(execute=fake, timeout=7)
    done = runner.run(('/bin/t', 'x'), _parse_number)
    assert done == tool.Result(['/bin/t', 'x'], 0, '42\n', 'note', 42)
    assert runner.run(['/bin/t', 'x'], timeout=3).parsed is None
    assert fake.calls == [(['/bin/t', 'x'], 7), (['/bin/t', 'x'], 3)]


def test_run_a_non_zero_exit_raises_with_what_fail_json_needs():
    runner = tool.Runner(execute=FakeExecute({('/bin/t',): (255, 'out', 'dcmi failed\n')}))
    with pytest.raises(tool.ToolFailed) as caught:
        runner.run(['/bin/t'], pytest.fail)
    assert caught.value.msg == '/bin/t exited with 255: dcmi failed'
    assert caught.value.details == {'cmd': ['/bin/t'], 'rc': 255, 'stdout': 'out', 'stderr': 'dcmi failed\n'}


def test_run_a_timeout_raises_naming_the_command():
    runner = tool.Runner(execute=FakeExecute({('/bin/t', 'a'): (None, '', 'still running after 5 s, killed')}))
    with pytest.raises(tool.ToolFailed) as caught:
        runner.run(['/bin/t', 'a'])
    assert caught.value.msg == '/bin/t a: still running after 5 s, killed'
    assert caught.value.rc is None


def test_run_without_check_returns_the_failure_unparsed():
    runner = tool.Runner(execute=FakeExecute({('/bin/t',): (2, '', 'no')}))
    assert runner.run(['/bin/t'], pytest.fail, check=False) == tool.Result(['/bin/t'], 2, '', 'no', None)


def test_run_unparseable_output_raises_with_the_offending_line():
    runner = tool.Runner(execute=FakeExecute({('/bin/t',): (0, 'Segmentation fault\n', '')}))
    with pytest.raises(tool.ToolParseError) as caught:
        runner.run(['/bin/t'], _parse_number, check=False)
    assert caught.value.msg == "cannot parse the output of /bin/t: not a number (line: 'Segmentation fault')"
    assert caught.value.details == {'cmd': ['/bin/t'], 'offending_line': 'Segmentation fault',
                                    'stdout': 'Segmentation fault\n', 'stderr': ''}


class FakeModule(object):
    def __init__(self, bins, answer):
        self.bins = bins
        self.answer = answer
        self.run_command_environ_update = {}
        self.asked = []
        self.ran = []

    def get_bin_path(self, name, required=False, opt_dirs=None):
        self.asked.append((name, opt_dirs))
        return self.bins.get(name)

    def run_command(self, args, **kwargs):
        self.ran.append((args, kwargs, dict(self.run_command_environ_update)))
        return self.answer(args)


def test_for_module_uses_get_bin_path_and_run_command_in_the_c_locale():
    module = FakeModule({'npu-smi': '/usr/local/sbin/npu-smi'}, lambda args: (0, '8\n', ''))
    runner = tool.Runner.for_module(module)
    path = runner.find('npu-smi')
    assert runner.run([path, 'info'], _parse_number).parsed == 8
    assert module.asked == [('npu-smi', NPU_SMI_DIRS)]
    assert module.ran == [(['/usr/local/sbin/npu-smi', 'info'], {'expand_user_and_vars': False},
                           {'LANG': 'C', 'LC_ALL': 'C', 'LC_MESSAGES': 'C'})]


def test_for_module_a_command_that_cannot_start_is_rc_127():
    def answer(args):
        raise OSError(2, 'No such file or directory')

    runner = tool.Runner.for_module(FakeModule({}, answer))
    with pytest.raises(tool.ToolMissing):
        runner.find('npu-smi')
    assert runner.run(['/nope'], check=False) == tool.Result(['/nope'], 127, '', '[Errno 2] No such file or directory', None)


def test_for_module_with_its_own_execute_and_timeout():
    fake = FakeExecute({('/t',): (0, '', '')})
    module = FakeModule({'hccn_tool': '/t'}, pytest.fail)
    runner = tool.Runner.for_module(module, execute=fake, timeout=120)
    assert runner.run([runner.find('hccn_tool')]).rc == 0
    assert fake.calls == [(['/t'], 120)]
    assert module.ran == []
    assert module.run_command_environ_update == {}
