# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""preflight_probe: files read from tmp_path, commands answered by a strict fake ``execute`` (and
``which``), or run for real against fake tools on PATH; what it returns is what the
preflight_problems filter reads."""

from __future__ import annotations

import os

import pytest

from ansible_collections.ascend.serving.plugins.module_utils import tool
from ansible_collections.ascend.serving.plugins.module_utils.preflight import problems
from ansible_collections.ascend.serving.plugins.modules import preflight_probe
from ansible_collections.ascend.serving.tests.unit.plugins.modules.utils import run_module

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'fixtures')
NPU_SMI = '/usr/local/Ascend/driver/tools/npu-smi'
NPU_SMI_DIRS = ['/usr/local/bin', '/usr/local/sbin', '/usr/local/Ascend/driver/tools']
SS = ('LISTEN 0 4096 0.0.0.0:8000 0.0.0.0:* users:(("python3",pid=812,fd=21))\n')
DF = 'Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda 263174212 23011880 838860800 22% /\n'


def read(*parts):
    with open(os.path.join(FIXTURES, *parts), 'r') as handle:
        return handle.read()


A3_INFO = read('npu-smi-info', 'a3-ascend910-24.1.rc3.7-noproc-vllm-ascend-2666.txt')
DRIVER = read('version_info', 'driver-version.info-24.1.rc2.2-itove-ascend.txt')
CANN = read('version_info', 'cann-toolkit-install-info-8.2.RC1-vllm-ascend-2666.txt')


class Host(object):
    """The host's commands: ``answers[tuple(argv)] = (rc, out, err)``; anything else fails the test."""

    def __init__(self, answers, npu_smi=NPU_SMI):
        self.answers = answers
        self.npu_smi = npu_smi
        self.calls = []
        self.searched = []

    def which(self, name, dirs):
        self.searched.append((name, dirs))
        return self.npu_smi if name == 'npu-smi' else None

    def execute(self, argv, timeout=None):
        self.calls.append((argv, timeout))
        if tuple(argv) not in self.answers:
            raise AssertionError('unexpected command %r' % (argv,))
        return self.answers[tuple(argv)]


@pytest.fixture
def files(tmp_path):
    """A driver version file, a CANN ``latest`` with the info file one level down, a weights dir."""
    (tmp_path / 'version.info').write_text(DRIVER)
    (tmp_path / 'latest' / 'aarch64-linux').mkdir(parents=True)
    (tmp_path / 'latest' / 'aarch64-linux' / 'ascend_toolkit_install.info').write_text(CANN)
    (tmp_path / 'models' / 'm').mkdir(parents=True)
    return tmp_path


def args(files, **more):
    base = {'driver_version_file': str(files / 'version.info'), 'cann_latest': str(files / 'latest'),
            'cann_default': str(files / 'none.info')}
    base.update(more)
    return base


def probe(monkeypatch, host, params):
    monkeypatch.setattr(preflight_probe, 'which', host.which)
    monkeypatch.setattr(preflight_probe, 'execute', host.execute)
    return run_module(preflight_probe.main, params)


def test_node0_reads_everything_in_one_run(files, monkeypatch):
    host = Host({
        ('systemctl', 'is-active', 'ascend-vllm.service'): (3, 'inactive\n', ''),
        (NPU_SMI, 'info'): (0, A3_INFO, ''),
        ('ss', '-Hltnp', '( sport = :13389 or sport = :8000 )'): (0, SS, ''),
        ('df', '-Pk', str(files / 'models')): (0, DF, ''),
    })
    failed, result, dummy = probe(monkeypatch, host, args(
        files, ports=[13389, 8000], weights=str(files / 'models' / 'm'), df=str(files / 'models')))
    assert not failed, result
    assert result['changed'] is False
    assert result['observed'] == {
        'arch': os.uname().machine,
        'serving': False,
        'versions': [DRIVER, CANN],
        'npu_smi': {'path': NPU_SMI, 'rc': 0, 'stdout': A3_INFO, 'stderr': ''},
        'ss': SS,
        'weights': {'exists': True, 'isdir': True},
        'df': DF,
    }
    assert host.searched == [('npu-smi', NPU_SMI_DIRS)]
    assert [timeout for dummy_argv, timeout in host.calls] == [120] * 4


def test_a_worker_without_weights_or_disk_check_runs_two_commands(files, monkeypatch):
    host = Host({
        ('systemctl', 'is-active', 'ascend-vllm.service'): (0, 'active\n', ''),
        (NPU_SMI, 'info'): (0, A3_INFO, ''),
    })
    failed, result, dummy = probe(monkeypatch, host, args(files, timeout=30))
    assert not failed, result
    observed = result['observed']
    assert (observed['serving'], observed['ss'], observed['weights'], observed['df']) == (True, '', None, '')
    assert host.calls == [(['systemctl', 'is-active', 'ascend-vllm.service'], 30), ([NPU_SMI, 'info'], 30)]


def test_check_mode_reads_the_same(files, monkeypatch):
    host = Host({
        ('systemctl', 'is-active', 'my.service'): (0, 'active\n', ''),
        (NPU_SMI, 'info'): (0, A3_INFO, ''),
    })
    failed, result, dummy = probe(monkeypatch, host, args(files, unit='my.service', _ansible_check_mode=True))
    assert not failed, result
    assert result['changed'] is False
    assert result['observed']['npu_smi']['stdout'] == A3_INFO
    assert result['observed']['serving'] is True


def test_missing_npu_smi_names_every_place_searched(files, monkeypatch):
    host = Host({('systemctl', 'is-active', 'ascend-vllm.service'): (127, '', 'No such file')}, npu_smi=None)
    failed, result, dummy = probe(monkeypatch, host, args(files))
    assert not failed, result
    assert result['observed']['npu_smi'] == {'path': None, 'searched': ['PATH'] + NPU_SMI_DIRS}
    assert result['observed']['serving'] is False


def test_a_hung_npu_smi_is_rc_minus_one_with_the_reason(files, monkeypatch):
    host = Host({
        ('systemctl', 'is-active', 'ascend-vllm.service'): (None, '', 'still running after 5 s, killed'),
        (NPU_SMI, 'info'): (None, '', 'still running after 5 s, killed'),
    })
    failed, result, dummy = probe(monkeypatch, host, args(files, timeout=5))
    assert not failed, result
    assert result['observed']['npu_smi'] == {'path': NPU_SMI, 'rc': -1, 'stdout': '',
                                             'stderr': 'still running after 5 s, killed'}
    assert result['observed']['serving'] is False


def test_version_files_missing_are_empty_and_the_default_cann_file_is_the_fallback(tmp_path, monkeypatch):
    (tmp_path / 'default.info').write_text(CANN)
    (tmp_path / 'latest').mkdir()
    host = Host({
        ('systemctl', 'is-active', 'ascend-vllm.service'): (3, 'inactive\n', ''),
        (NPU_SMI, 'info'): (0, A3_INFO, ''),
    })
    params = {'driver_version_file': str(tmp_path / 'absent'), 'cann_latest': str(tmp_path / 'latest'),
              'cann_default': str(tmp_path / 'default.info'), 'weights': str(tmp_path / 'no-weights')}
    failed, result, dummy = probe(monkeypatch, host, params)
    assert not failed, result
    assert result['observed']['versions'] == ['', CANN]
    assert result['observed']['weights'] == {'exists': False, 'isdir': False}


def test_the_first_cann_info_file_in_path_order_wins(tmp_path):
    (tmp_path / 'x86_64-linux').mkdir()
    (tmp_path / 'x86_64-linux' / 'ascend_toolkit_install.info').write_text('x86')
    assert preflight_probe.cann_info(str(tmp_path), '/default') == str(tmp_path / 'x86_64-linux' / 'ascend_toolkit_install.info')
    (tmp_path / 'ascend_toolkit_install.info').write_text('top')
    assert preflight_probe.cann_info(str(tmp_path), '/default') == str(tmp_path / 'ascend_toolkit_install.info')
    (tmp_path / 'aarch64-linux').mkdir()
    (tmp_path / 'aarch64-linux' / 'ascend_toolkit_install.info').write_text('arm')
    assert preflight_probe.cann_info(str(tmp_path), '/default') == str(tmp_path / 'aarch64-linux' / 'ascend_toolkit_install.info')
    assert preflight_probe.cann_info(str(tmp_path / 'absent'), '/default') == '/default'


@pytest.mark.parametrize('params, message', [
    ({'timeout': 0}, 'timeout must be at least 1, got 0.'),
    ({'ports': [8000, 0, 70000]}, 'ports: 0, 70000 not a TCP port (1-65535).'),
])
def test_bad_options_fail_before_anything_runs(files, monkeypatch, params, message):
    host = Host({})
    failed, result, dummy = probe(monkeypatch, host, args(files, **params))
    assert failed
    assert result['msg'] == message
    assert host.calls == []


PROFILE = {
    'profile': {'name': 'deepseek-a3'},
    'hardware': {'name': 'a3', 'npus_per_node': 16},
    'release': {'name': 'v0.11.0rc0', 'install_method': 'custom_ops', 'cann_version': '8.2.RC1'},
    'parallel': {'data_parallel_rpc_port': 13389},
    'serve': {'port': 8000},
    'model': {'path': '/models/m', 'source': 'local'},
}


def test_what_it_returns_is_what_the_preflight_problems_filter_reads(files, monkeypatch):
    host = Host({
        ('systemctl', 'is-active', 'ascend-vllm.service'): (3, 'inactive\n', ''),
        ('ss', '-Hltnp', '( sport = :13389 or sport = :8000 )'): (0, '', ''),
    }, npu_smi=None)
    failed, result, dummy = probe(monkeypatch, host, args(files, ports=[13389, 8000], weights=str(files / 'models' / 'm')))
    assert not failed, result
    observed = dict(result['observed'], role='node0')
    assert problems(observed, PROFILE, 'n0', required_arch=os.uname().machine) == [
        'n0: npu-smi was not found on PATH, /usr/local/bin, /usr/local/sbin, /usr/local/Ascend/driver/tools: '
        'install the Ascend NPU driver']
    host.npu_smi = NPU_SMI
    host.answers[(NPU_SMI, 'info')] = (0, A3_INFO, '')
    failed, result, dummy = probe(monkeypatch, host, args(files, ports=[13389, 8000], weights=str(files / 'models' / 'm')))
    assert problems(dict(result['observed'], role='node0'), PROFILE, 'n0', required_arch=os.uname().machine) == []


def _fake_tool(directory, name, expect, answer):
    """A strict fake: exits 99 unless called with exactly ``expect`` in the C locale."""
    path = directory / name
    path.write_text('#!/bin/sh\n'
                    '[ "$*" = "%s" ] || { echo "unexpected: $*" >&2; exit 99; }\n'
                    '[ "$LC_ALL$LANG$LC_MESSAGES" = CCC ] || { echo "locale: $LC_ALL" >&2; exit 98; }\n'
                    '%s\n' % (expect, answer))
    path.chmod(0o755)


def test_real_commands_run_from_path_in_the_c_locale(files, monkeypatch):
    bin_dir = files / 'bin'
    bin_dir.mkdir()
    for name, text in (('npu-smi-info.txt', A3_INFO), ('ss.txt', SS), ('df.txt', DF)):
        (files / name).write_text(text)
    _fake_tool(bin_dir, 'npu-smi', 'info', 'cat %s' % (files / 'npu-smi-info.txt'))
    _fake_tool(bin_dir, 'systemctl', 'is-active ascend-vllm.service', 'echo active')
    _fake_tool(bin_dir, 'ss', '-Hltnp ( sport = :8000 )', 'cat %s' % (files / 'ss.txt'))
    _fake_tool(bin_dir, 'df', '-Pk %s' % files, 'cat %s' % (files / 'df.txt'))
    monkeypatch.setenv('PATH', os.pathsep.join([str(bin_dir), '/usr/bin', '/bin']))
    for name in ('LC_ALL', 'LANG', 'LC_MESSAGES'):
        monkeypatch.setenv(name, 'zh_CN.UTF-8')
    monkeypatch.setattr(preflight_probe, 'which', tool.which)
    monkeypatch.setattr(preflight_probe, 'execute', tool.execute)
    failed, result, dummy = run_module(preflight_probe.main, args(files, ports=[8000], df=str(files)))
    assert not failed, result
    observed = result['observed']
    assert observed['npu_smi'] == {'path': str(bin_dir / 'npu-smi'), 'rc': 0, 'stdout': A3_INFO, 'stderr': ''}
    assert (observed['serving'], observed['ss'], observed['df']) == (True, SS, DF)
