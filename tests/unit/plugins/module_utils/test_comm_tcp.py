# -*- coding: utf-8 -*-
"""comm_tcp: the headless nodes' probe against real sockets on 127.0.0.1, node0's listener as a
real child process, and its stop (by pid AND start time, never a decoy)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from ansible_collections.ascend.serving.plugins.module_utils import comm_tcp


def free_port():
    """A port nothing listens on (bound, then closed)."""
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def server():
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(('127.0.0.1', 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()


def listening(port):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=1).close()
        return True
    except OSError:
        return False


def wait_until(predicate, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


# probe -----------------------------------------------------------------------------------------

def test_probe_reaches_a_listening_port(server):
    started = time.monotonic()
    assert comm_tcp.probe('127.0.0.1', 5, [server]) == [{'port': server, 'ok': True, 'error': None}]
    assert time.monotonic() - started < 2


def test_probe_of_a_refused_port_times_out_naming_address_port_and_last_error(server):
    closed = free_port()
    started = time.monotonic()
    results = comm_tcp.probe('127.0.0.1', 0.6, [closed, server])
    elapsed = time.monotonic() - started
    assert results == [
        {'port': closed, 'ok': False,
         'error': 'Timeout when waiting for 127.0.0.1:%d (last: 127.0.0.1:%d: Connection refused)' % (closed, closed)},
        {'port': server, 'ok': True, 'error': None},
    ]
    # It retried until the timeout (like wait_for), not one attempt.
    assert 0.4 <= elapsed < 3, elapsed


def test_probe_waits_for_a_port_that_opens_late():
    port = free_port()
    late = socket.socket()
    late.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)

    def open_late():
        time.sleep(0.7)
        late.bind(('127.0.0.1', port))
        late.listen(8)
    opener = threading.Thread(target=open_late)
    opener.start()
    try:
        assert comm_tcp.probe('127.0.0.1', 5, [port]) == [{'port': port, 'ok': True, 'error': None}]
    finally:
        opener.join()
        late.close()


def test_probe_runs_the_ports_in_parallel():
    ports = [free_port() for dummy in range(4)]
    started = time.monotonic()
    results = comm_tcp.probe('127.0.0.1', 1, ports)
    assert [r['port'] for r in results] == ports and not any(r['ok'] for r in results)
    assert time.monotonic() - started < 2.5  # four ports one after the other would take 4 s


# start time and pid file -----------------------------------------------------------------------

def test_start_time_is_field_22_of_proc_stat():
    with open('/proc/self/stat') as handle:
        stat = handle.read()
    expected = int(stat[stat.rfind(')') + 2:].split()[19])
    assert comm_tcp.start_time(os.getpid()) == expected
    assert comm_tcp.start_time(2 ** 22 + 1) is None  # above pid_max: never a process


def test_start_time_of_a_zombie_is_none():
    child = subprocess.Popen(['true'])
    assert wait_until(lambda: comm_tcp.start_time(child.pid) is None, 5)
    child.wait()


def test_pid_file_records_pid_and_start_time(tmp_path):
    assert comm_tcp.write_pid_file(str(tmp_path)) == os.getpid()
    assert comm_tcp.read_pid_file(str(tmp_path / 'listener.pid')) == (os.getpid(), comm_tcp.start_time(os.getpid()))
    assert sorted(os.listdir(str(tmp_path))) == ['listener.pid']  # no temporary file left
    assert oct((tmp_path / 'listener.pid').stat().st_mode & 0o777) == '0o600'


def test_pid_file_is_not_written_into_a_removed_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        comm_tcp.write_pid_file(str(tmp_path / 'gone'))


@pytest.mark.parametrize('content', ['', '123\n', 'abc 12\n', '1 2\n', '12 34 56\n', '-5 7\n'])
def test_a_pid_file_without_pid_and_start_time_is_refused(tmp_path, content):
    (tmp_path / 'listener.pid').write_text(content)
    with pytest.raises(comm_tcp.PidFileError, match='listener.pid holds no "<pid> <start time>" line'):
        comm_tcp.read_pid_file(str(tmp_path / 'listener.pid'))


# listen and stop -------------------------------------------------------------------------------

def spawn_listener(directory, port, window=60):
    """The listener as a real child process (as node0 runs it under async)."""
    code = ('import sys; from ansible_collections.ascend.serving.plugins.module_utils import comm_tcp; '
            'comm_tcp.listen(sys.argv[1], "127.0.0.1", [int(sys.argv[2])], float(sys.argv[3]))')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    return subprocess.Popen([sys.executable, '-c', code, directory, str(port), str(window)], env=env)


def spawn_decoy():
    return subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)', 'ascend-serving-comm-probe'])


def test_listen_then_stop_a_real_listener(tmp_path):
    directory = tmp_path / 'ascend-serving-comm-probe.x'
    directory.mkdir()
    port = free_port()
    child = spawn_listener(str(directory), port)
    try:
        assert wait_until(lambda: listening(port)), 'the listener never listened'
        assert comm_tcp.read_pid_file(str(directory / 'listener.pid')) == (child.pid, comm_tcp.start_time(child.pid))
        assert comm_tcp.probe('127.0.0.1', 2, [port]) == [{'port': port, 'ok': True, 'error': None}]
        result = comm_tcp.stop(str(directory), wait=5)
        assert result == {'stopped': child.pid, 'note': None, 'removed': True}
        assert child.wait(timeout=5) == -15  # SIGTERM
        assert not directory.exists()
        assert not listening(port)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_stop_waits_for_a_listener_still_starting(tmp_path):
    directory = tmp_path / 'probe'
    directory.mkdir()
    port = free_port()
    child = spawn_listener(str(directory), port)  # the stop starts before its pid file exists
    try:
        result = comm_tcp.stop(str(directory), wait=10)
        assert result['stopped'] == child.pid and result['removed'] is True
        assert child.wait(timeout=5) == -15
        assert not directory.exists() and not listening(port)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_listener_ends_itself_after_its_window(tmp_path):
    port = free_port()
    child = spawn_listener(str(tmp_path), port, window=1)
    try:
        assert wait_until(lambda: listening(port))
        assert child.wait(timeout=10) == 0
        assert not listening(port)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_listen_fails_naming_a_port_it_cannot_bind(tmp_path, server):
    with pytest.raises(OSError, match='cannot listen on 127.0.0.1:%d: Address already in use' % server):
        comm_tcp.listen(str(tmp_path), '127.0.0.1', [server], 5)
    # Its pid file was written first, so the stop still finds (and removes) it.
    assert comm_tcp.read_pid_file(str(tmp_path / 'listener.pid'))[0] == os.getpid()


def test_stop_leaves_a_decoy_with_the_recorded_pid_but_another_start_time_alone(tmp_path):
    decoy = spawn_decoy()
    try:
        started = comm_tcp.start_time(decoy.pid)
        assert started is not None
        directory = tmp_path / 'probe'
        directory.mkdir()
        (directory / 'listener.pid').write_text('%d %d\n' % (decoy.pid, started - 1))
        result = comm_tcp.stop(str(directory), wait=0.5)
        assert result['stopped'] is None and result['removed'] is True
        assert result['note'] == 'pid %d started at %d, the listener at %d: another process, left alone' % (
            decoy.pid, started, started - 1)
        time.sleep(0.2)
        assert decoy.poll() is None, 'stop killed a process that is not the listener'
        assert not directory.exists()
    finally:
        decoy.kill()
        decoy.wait()


def test_stop_kills_the_process_whose_pid_and_start_time_match(tmp_path):
    # The same decoy, this time recorded with its real start time: it is the listener.
    decoy = spawn_decoy()
    try:
        (tmp_path / 'listener.pid').write_text('%d %d\n' % (decoy.pid, comm_tcp.start_time(decoy.pid)))
        assert comm_tcp.stop(str(tmp_path), wait=5) == {'stopped': decoy.pid, 'note': None, 'removed': True}
        assert decoy.wait(timeout=5) == -15
    finally:
        if decoy.poll() is None:
            decoy.kill()
            decoy.wait()


def test_stop_with_no_pid_file_removes_the_directory(tmp_path):
    directory = tmp_path / 'probe'
    directory.mkdir()
    (directory / 'listener.pid.tmp').write_text('')  # a listener that died while writing
    started = time.monotonic()
    assert comm_tcp.stop(str(directory), wait=0.3) == {'stopped': None, 'note': 'no pid file', 'removed': True}
    assert time.monotonic() - started >= 0.3  # it waited for a listener still starting
    assert not directory.exists()


def test_stop_is_idempotent(tmp_path):
    directory = tmp_path / 'probe'
    assert comm_tcp.stop(str(directory), wait=5) == {'stopped': None, 'note': 'no directory', 'removed': False}


def test_stop_of_a_listener_already_gone(tmp_path):
    child = subprocess.Popen(['true'])
    started = comm_tcp.start_time(child.pid)
    child.wait()
    (tmp_path / 'listener.pid').write_text('%d %d\n' % (child.pid, started or 1))
    result = comm_tcp.stop(str(tmp_path), wait=1)
    assert result == {'stopped': None, 'note': 'pid %d no longer runs' % child.pid, 'removed': True}


def test_stop_refuses_a_pid_file_it_cannot_read_and_removes_nothing(tmp_path):
    (tmp_path / 'listener.pid').write_text('1\n')
    with pytest.raises(comm_tcp.PidFileError):
        comm_tcp.stop(str(tmp_path), wait=1)
    assert (tmp_path / 'listener.pid').exists()


def test_stop_does_not_remove_files_that_are_not_its_own(tmp_path):
    (tmp_path / 'other').write_text('x')
    with pytest.raises(OSError, match='is not empty'):
        comm_tcp.stop(str(tmp_path), wait=0)
    assert (tmp_path / 'other').read_text() == 'x'
