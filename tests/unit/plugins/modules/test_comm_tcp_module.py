# -*- coding: utf-8 -*-
"""comm_tcp module: options, the probe's result (what the role's filter comm_check_tcp_results
reads), listen and stop through the module, check mode."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from ansible_collections.ascend.serving.plugins.module_utils import comm_report
from ansible_collections.ascend.serving.plugins.module_utils import comm_tcp as comm_tcp_utils
from ansible_collections.ascend.serving.plugins.modules import comm_tcp
from ansible_collections.ascend.serving.tests.unit.plugins.modules.utils import run_module


def run(**args):
    return run_module(comm_tcp.main, args)


def free_port():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def server():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()


def test_probe_returns_one_result_per_port_for_the_report(server):
    closed = free_port()
    failed, result, dummy = run(action='probe', address='127.0.0.1', ports=[server, closed], timeout=0.5)
    assert not failed, result
    assert result['changed'] is False
    assert result['probes'] == [
        {'port': server, 'ok': True, 'error': None},
        {'port': closed, 'ok': False,
         'error': 'Timeout when waiting for 127.0.0.1:%d (last: 127.0.0.1:%d: Connection refused)' % (closed, closed)},
    ]
    # What the role hands to comm_check_tcp_results.
    ports = [{'name': 'dp_rpc', 'port': server}, {'name': 'api', 'port': closed}]
    assert comm_report.tcp_results(result['probes'], ports, '127.0.0.1') == [
        {'name': 'dp_rpc', 'address': '127.0.0.1', 'port': server, 'ok': True, 'error': None},
        {'name': 'api', 'address': '127.0.0.1', 'port': closed, 'ok': False, 'error': result['probes'][1]['error']},
    ]


def test_probe_runs_in_check_mode(server):
    failed, result, dummy = run(action='probe', address='127.0.0.1', ports=[server], _ansible_check_mode=True)
    assert (failed, result['probes']) == (False, [{'port': server, 'ok': True, 'error': None}])


@pytest.mark.parametrize('args,msg', [
    ({'action': 'probe', 'ports': [1]}, 'action is probe but all of the following are missing: address'),
    ({'action': 'listen', 'address': '127.0.0.1', 'ports': [1]}, 'action is listen but all of the following are missing: directory'),
    ({'action': 'stop'}, 'action is stop but all of the following are missing: directory'),
    ({'action': 'probe', 'address': '127.0.0.1', 'ports': [8000, 0, 70000]}, 'ports: 0, 70000 not a TCP port (1-65535)'),
    ({'action': 'probe', 'address': '127.0.0.1', 'ports': []}, 'ports: give at least one port to probe'),
    ({'action': 'probe', 'address': '127.0.0.1', 'ports': [1], 'timeout': -1}, 'timeout: -1.0 is negative'),
    ({'action': 'listen', 'address': '127.0.0.1', 'ports': [1], 'directory': '/nonexistent', 'window': -5},
     'window: -5 is negative'),
])
def test_bad_options_fail_before_anything_runs(args, msg):
    failed, result, dummy = run(**args)
    assert failed
    assert result['msg'] == msg


def test_listen_and_stop_do_nothing_in_check_mode(tmp_path):
    port = free_port()
    failed, result, dummy = run(action='listen', directory=str(tmp_path), address='127.0.0.1', ports=[port],
                                _ansible_check_mode=True)
    assert (failed, result['changed']) == (False, False)
    assert os.listdir(str(tmp_path)) == []
    failed, result, dummy = run(action='stop', directory=str(tmp_path), _ansible_check_mode=True)
    assert (failed, result['changed']) == (False, False)
    assert tmp_path.is_dir()


def test_listen_fails_when_its_directory_is_gone(tmp_path):
    gone = tmp_path / 'gone'
    failed, result, dummy = run(action='listen', directory=str(gone), address='127.0.0.1', ports=[free_port()], window=1)
    assert failed
    assert result['msg'] == 'the temporary listener did not start: %s: No such file or directory' % (gone / 'listener.pid.tmp')


def test_listen_serves_for_its_window_and_returns_its_pid(tmp_path):
    started = time.monotonic()
    failed, result, dummy = run(action='listen', directory=str(tmp_path), address='127.0.0.1', ports=[free_port()], window=1)
    assert not failed, result
    assert result['pid'] == os.getpid()
    assert 1 <= time.monotonic() - started < 5
    assert comm_tcp_utils.read_pid_file(str(tmp_path / 'listener.pid'))[0] == os.getpid()


def test_listen_fails_naming_the_port_it_cannot_bind(tmp_path, server):
    failed, result, dummy = run(action='listen', directory=str(tmp_path), address='127.0.0.1', ports=[server], window=1)
    assert failed
    assert result['msg'] == 'the temporary listener did not start: cannot listen on 127.0.0.1:%d: Address already in use' % server


def test_stop_through_the_module(tmp_path):
    decoy = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])
    try:
        directory = tmp_path / 'probe'
        directory.mkdir()
        (directory / 'listener.pid').write_text('%d %d\n' % (decoy.pid, comm_tcp_utils.start_time(decoy.pid) + 7))
        failed, result, dummy = run(action='stop', directory=str(directory), wait=0.5)
        assert not failed, result
        assert (result['changed'], result['pid'], result['removed']) == (True, None, True)
        assert 'another process, left alone' in result['note']
        assert decoy.poll() is None
        # Again: nothing to do.
        failed, result, dummy = run(action='stop', directory=str(directory))
        assert (failed, result['changed'], result['pid'], result['note']) == (False, False, None, 'no directory')
    finally:
        decoy.kill()
        decoy.wait()


def test_stop_fails_on_a_pid_file_it_cannot_read(tmp_path):
    (tmp_path / 'listener.pid').write_text('garbage\n')
    failed, result, dummy = run(action='stop', directory=str(tmp_path), wait=0.5)
    assert failed
    assert result['msg'] == 'cannot stop the temporary listener: %s holds no "<pid> <start time>" line: %r' % (
        tmp_path / 'listener.pid', 'garbage\n')
    assert (tmp_path / 'listener.pid').exists()
