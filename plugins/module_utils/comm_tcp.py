# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TCP between the headless nodes and node0 (role comm_check, module comm_tcp).

- ``probe(address, timeout, ports)``: like ``wait_for``, connect to every port (all at once, one
  thread per port) until it works or ``timeout`` seconds pass; one ``{port, ok, error}`` per port.
- ``listen(directory, address, ports, window)``: node0's temporary listener. Its pid file
  (``<directory>/listener.pid``: the pid and the process start time, /proc/<pid>/stat field 22)
  is written first, atomically, so ``stop`` finds it even when a bind fails; then it accepts and
  closes connections on every port until it is killed or ``window`` seconds pass.
- ``stop(directory, wait)``: kills the listener only when the pid file's process is the listener
  that wrote it (same pid AND same start time, never by name: a reused pid or another operator's
  probe lives on), then removes the pid file and the directory; nothing running, no pid file or no
  directory is no error.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import threading
import time

PID_FILE = 'listener.pid'


class PidFileError(ValueError):
    """The pid file holds no ``<pid> <start time>`` line."""


def probe(address, timeout, ports):
    """[{port, ok, error}] in the order of ports (the role's filter comm_check_tcp_results reads it)."""
    results = {}

    def one(port):
        deadline, error = time.monotonic() + timeout, None
        while True:
            try:
                socket.create_connection((address, int(port)), timeout=1).close()
                results[port] = {'port': int(port), 'ok': True, 'error': None}
                return
            except OSError as exc:
                error = '%s:%s: %s' % (address, port, exc.strerror or exc)
            if time.monotonic() + 0.2 >= deadline:
                break
            time.sleep(0.2)
        results[port] = {'port': int(port), 'ok': False,
                         'error': 'Timeout when waiting for %s:%s (last: %s)' % (address, port, error)}

    threads = [threading.Thread(target=one, args=(port,)) for port in ports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [results[port] for port in ports]


def start_time(pid):
    """The process's start time (/proc/<pid>/stat field 22, clock ticks after boot), or None when
    no such process runs (or it is a zombie: it is gone, only not reaped yet)."""
    try:
        with open('/proc/%d/stat' % pid) as handle:
            stat = handle.read()
    except (OSError, ValueError):
        return None
    # Field 2 (the command name, in parentheses) may hold spaces and ')': split after the last ')'.
    fields = stat[stat.rfind(')') + 2:].split()
    if len(fields) < 20 or fields[0] in ('Z', 'X'):
        return None
    return int(fields[19])  # fields[0] is field 3 (state), so field 22 is fields[19]


def pid_file(directory):
    return os.path.join(directory, PID_FILE)


def write_pid_file(directory):
    """Write ``<pid> <start time>`` of this process to the pid file, through a temporary file
    and a rename (a reader never sees half a line). Fails when the directory is gone (a stop
    already cleaned up: this listener must not start)."""
    pid = os.getpid()
    path = pid_file(directory)
    tmp = path + '.tmp'
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as handle:
        handle.write('%d %d\n' % (pid, start_time(pid)))
    os.rename(tmp, path)
    return pid


def read_pid_file(path):
    """(pid, start time) from the pid file, or None when there is none; PidFileError when it holds
    anything else."""
    try:
        with open(path) as handle:
            text = handle.read()
    except FileNotFoundError:
        return None
    parts = text.split()
    if len(parts) != 2 or not all(part.isdigit() for part in parts) or int(parts[0]) < 2:
        raise PidFileError('%s holds no "<pid> <start time>" line: %r' % (path, text[:80]))
    return int(parts[0]), int(parts[1])


def _serve(sock):
    while True:
        try:
            conn, dummy = sock.accept()
        except OSError:
            return
        conn.close()


def listen(directory, address, ports, window, ready=None):
    """Write the pid file, bind every port on address, accept until window seconds passed.

    Returns what it served; raises OSError when the pid file cannot be written or a port cannot
    be bound (the sockets bound so far are closed). ``ready`` (a callable) runs once every port
    listens.
    """
    deadline = time.monotonic() + window
    pid = write_pid_file(directory)
    socks = []
    try:
        for port in ports:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((address, int(port)))
                sock.listen(64)
            except OSError as exc:
                raise OSError(exc.errno, 'cannot listen on %s:%s: %s' % (address, port, exc.strerror or exc))
        for sock in socks:
            threading.Thread(target=_serve, args=(sock,), daemon=True).start()
        if ready is not None:
            ready()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(left, 1.0))
    finally:
        for sock in socks:
            sock.close()
    return {'pid': pid, 'address': address, 'ports': [int(port) for port in ports], 'window': window}


def _wait_gone(pid, started, seconds):
    deadline = time.monotonic() + seconds
    while start_time(pid) == started:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _kill_listener(path, wait):
    """Kill the pid file's process when it is the listener that wrote the file.

    Returns (pid killed or None, why nothing was killed or None)."""
    recorded = read_pid_file(path)
    if recorded is None:
        return None, 'no pid file'
    pid, started = recorded
    now = start_time(pid)
    if now is None:
        return None, 'pid %d no longer runs' % pid
    if now != started:
        return None, ('pid %d started at %d, the listener at %d: another process, left alone'
                      % (pid, now, started))
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        if _wait_gone(pid, started, wait):
            break
    if start_time(pid) == started:
        raise OSError(errno.EBUSY, 'the listener (pid %d) did not stop' % pid)
    return pid, None


def stop(directory, wait=10.0):
    """Stop this run's listener and remove its directory; returns {stopped, note, removed}.

    ``stopped``: the pid killed, or None; ``note``: why nothing was killed (no pid file, the
    process is gone, another process has the pid); ``removed``: the directory was removed.
    Waits up to ``wait`` seconds for the pid file of a listener still starting. A listener that
    writes its pid file while the directory is being removed makes the removal fail (not empty):
    it is stopped in the next round. Raises PidFileError (nothing removed) for a pid file that
    holds something else, OSError when the directory cannot be removed.
    """
    path = pid_file(directory)
    result = {'stopped': None, 'note': 'no directory', 'removed': False}
    if not os.path.isdir(directory):
        return result
    deadline = time.monotonic() + wait
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.1)
    for dummy in range(5):
        pid, note = _kill_listener(path, wait)
        if pid is not None:
            result['stopped'], result['note'] = pid, None
        elif result['stopped'] is None:
            result['note'] = note
        for name in (path, path + '.tmp'):
            try:
                os.unlink(name)
            except FileNotFoundError:
                pass
        try:
            os.rmdir(directory)
        except FileNotFoundError:
            return result
        except OSError as exc:
            if exc.errno != errno.ENOTEMPTY:
                raise
            time.sleep(0.2)
            continue
        result['removed'] = True
        return result
    raise OSError(errno.ENOTEMPTY, 'cannot remove %s: it is not empty (only %s is ours)' % (directory, PID_FILE))
