# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""npu_info with run_command and get_bin_path replaced by fakes."""

from __future__ import annotations

import os

import pytest

from ansible_collections.ascend.serving.plugins.modules import npu_info
from ansible_collections.ascend.serving.tests.unit.plugins.modules.utils import FakeRunner, run_module

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'fixtures')
NPU_SMI = '/usr/local/bin/npu-smi'


def read(*parts):
    with open(os.path.join(FIXTURES, *parts), 'r') as handle:
        return handle.read()


A2_INFO = read('npu-smi-info', 'a2-910B3x8-25.2.0-1proc-vllm-ascend-6271.txt')
A3_INFO = read('npu-smi-info', 'a3-ascend910-24.1.rc3.7-noproc-vllm-ascend-2666.txt')
A2_MAP = read('npu-smi-info-m', 'a2-910B4x8-25.0.rc1.1-blog-atlas800IA2.txt')


def answers(table):
    """A FakeRunner answering from ``{tuple(argv): (rc, out, err)}``."""
    def answer(argv):
        if tuple(argv) not in table:
            raise AssertionError('unexpected command %r' % argv)
        return table[tuple(argv)]
    return FakeRunner(answer)


def test_reports_the_a2_table():
    runner = answers({(NPU_SMI, 'info'): (0, A2_INFO, '')})
    failed, result, runner = run_module(npu_info.main, {}, runner, {'npu-smi': NPU_SMI})
    assert not failed
    assert result['changed'] is False
    info = result['npu_info']
    assert (info['product'], info['npu_count'], info['chip_count'], info['healthy']) == ('a2', 8, 8, True)
    assert info['npu_smi_version'] == '25.2.0'
    assert info['processes'] == [
        {'npu_id': 4, 'chip_id': 0, 'pid': 1601114, 'name': 'python', 'memory_mb': 18429, 'container_pid': None}]
    assert 'mapping' not in info
    assert runner.calls == [[NPU_SMI, 'info']]
    assert runner.environ[0]['LC_ALL'] == 'C'


def test_reports_the_a3_table_in_check_mode():
    runner = answers({(NPU_SMI, 'info'): (0, A3_INFO, '')})
    failed, result, _runner = run_module(npu_info.main, {'_ansible_check_mode': True}, runner, {'npu-smi': NPU_SMI})
    assert not failed
    assert result['changed'] is False
    assert result['npu_info']['product'] == 'a3'
    assert [c['phy_id'] for c in result['npu_info']['chips']] == list(range(16))


def test_mapping_option_adds_the_m_table():
    runner = answers({(NPU_SMI, 'info'): (0, A2_INFO, ''), (NPU_SMI, 'info', '-m'): (0, A2_MAP, '')})
    failed, result, runner = run_module(npu_info.main, {'mapping': True}, runner, {'npu-smi': NPU_SMI})
    assert not failed
    mapping = result['npu_info']['mapping']
    assert len(mapping) == 16
    assert mapping[:2] == [
        {'npu_id': 0, 'chip_id': 0, 'logic_id': 0, 'phy_id': None, 'name': 'Ascend 910B4'},
        {'npu_id': 0, 'chip_id': 1, 'logic_id': None, 'phy_id': None, 'name': 'Mcu'},
    ]
    assert runner.calls == [[NPU_SMI, 'info'], [NPU_SMI, 'info', '-m']]


def test_explicit_path_is_used(tmp_path):
    binary = tmp_path / 'npu-smi'
    binary.write_text('#!/bin/sh\n')
    binary.chmod(0o755)
    runner = answers({(str(binary), 'info'): (0, A2_INFO, '')})
    failed, result, runner = run_module(npu_info.main, {'npu_smi_path': str(binary)}, runner, {})
    assert not failed
    assert runner.calls == [[str(binary), 'info']]


def test_explicit_path_that_is_not_executable_fails(tmp_path):
    failed, result, _runner = run_module(npu_info.main, {'npu_smi_path': str(tmp_path / 'nope')}, None, {})
    assert failed
    assert result['msg'] == 'npu_smi_path %s is not an executable file.' % (tmp_path / 'nope')


def test_missing_binary_fails_with_the_fix():
    failed, result, _runner = run_module(npu_info.main, {}, None, {'npu-smi': None})
    assert failed
    assert 'npu-smi was not found on PATH or in /usr/local/bin, /usr/local/sbin' in result['msg']
    assert 'set npu_smi_path' in result['msg']


def test_nonzero_exit_fails_with_the_output():
    runner = answers({(NPU_SMI, 'info'): (255, '', 'dcmi module initialize failed. ret is -8005\n')})
    failed, result, _runner = run_module(npu_info.main, {}, runner, {'npu-smi': NPU_SMI})
    assert failed
    assert result['msg'] == '%s info exited with 255: dcmi module initialize failed. ret is -8005' % NPU_SMI
    assert result['rc'] == 255


@pytest.mark.parametrize('out, message, line', [
    pytest.param('', 'npu-smi printed nothing', None, id='empty'),
    pytest.param('Segmentation fault\n', 'not part of the npu-smi table', 'Segmentation fault', id='garbage'),
    pytest.param(A2_INFO.replace('| 4     910B3               | OK            | 139.7       45 ',
                                 '| 4     910B3               | OK            | 139.7       4x '),
                 'Temp(C) is not an integer', None, id='bad-value'),
])
def test_unparseable_output_fails_with_the_offending_line(out, message, line):
    runner = answers({(NPU_SMI, 'info'): (0, out, '')})
    failed, result, _runner = run_module(npu_info.main, {}, runner, {'npu-smi': NPU_SMI})
    assert failed
    assert result['msg'].startswith('cannot parse the output of %s info: ' % NPU_SMI)
    assert message in result['msg']
    assert result['stdout'] == out
    if line is not None:
        assert result['offending_line'] == line
    elif out:
        assert '4x' in result['offending_line']


def test_mapping_failure_fails():
    runner = answers({(NPU_SMI, 'info'): (0, A2_INFO, ''), (NPU_SMI, 'info', '-m'): (0, 'Invalid option\n', '')})
    failed, result, _runner = run_module(npu_info.main, {'mapping': True}, runner, {'npu-smi': NPU_SMI})
    assert failed
    assert 'info -m' in result['msg']
    assert result['offending_line'] == 'Invalid option'
