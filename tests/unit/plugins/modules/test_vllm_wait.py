# -*- coding: utf-8 -*-
"""vllm_wait against a real local HTTP server, with systemctl answered by a fake runner."""

from __future__ import annotations

import http.server
import threading

import pytest

from ansible_collections.ascend.serving.plugins.modules import vllm_wait
from ansible_collections.ascend.serving.tests.unit.plugins.modules.utils import FakeRunner, run_module


class Health(http.server.BaseHTTPRequestHandler):
    status = 503

    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = http.server.HTTPServer(('127.0.0.1', 0), Health)
    srv.status = 503
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def systemctl(states):
    """A runner answering ``systemctl is-active UNIT`` from ``states``."""
    def answer(argv):
        assert argv[:2] == ['/bin/systemctl', 'is-active'], argv
        state = states[argv[2]]
        return (0 if state == 'active' else 3), state + '\n', ''
    return FakeRunner(answer)


def url(srv):
    return 'http://127.0.0.1:%d/health' % srv.server_address[1]


def wait(srv, runner, **extra):
    args = dict(url=url(srv), timeout=2, interval=1, units=['ascend-vllm.service'])
    args.update(extra)
    return run_module(vllm_wait.main, args, runner=runner, bin_paths={'systemctl': '/bin/systemctl'})


def test_healthy_returns_the_units_it_saw(server):
    server.status = 200
    failed, result, runner = wait(server, systemctl({'ascend-vllm.service': 'active'}))
    assert not failed and result['healthy'] is True
    assert result['units'] == {'ascend-vllm.service': 'active'}
    assert result['polls'] == 1 and runner.calls == [['/bin/systemctl', 'is-active', 'ascend-vllm.service']]


def test_timeout_fails_by_default_naming_the_url_and_last_answer(server):
    failed, result, dummy = wait(server, systemctl({'ascend-vllm.service': 'activating'}))
    assert failed and result['healthy'] is False
    assert result['msg'].startswith('%s did not answer 200 within 2s (last: ' % url(server))
    assert 'Service Unavailable' in result['last_error'] or '503' in result['last_error']


def test_timeout_as_a_round_returns_not_healthy(server):
    failed, result, dummy = wait(server, systemctl({'ascend-vllm.service': 'active'}), fail_on_timeout=False)
    assert not failed and result['healthy'] is False
    assert result['units'] == {'ascend-vllm.service': 'active'} and result['polls'] >= 2


def test_a_unit_that_exited_fails_at_once_even_in_a_round(server):
    failed, result, dummy = wait(server, systemctl({'ascend-vllm.service': 'failed'}), timeout=60,
                                 fail_on_timeout=False)
    assert failed and result['polls'] == 1
    assert result['msg'] == 'ascend-vllm.service is failed while waiting for %s: it exited; see its journal' % url(server)
    assert result['units'] == {'ascend-vllm.service': 'failed'}


def test_bad_timing_is_refused(server):
    failed, result, dummy = wait(server, FakeRunner(lambda argv: (0, '', '')), timeout=0)
    assert failed and result['msg'] == 'timeout and interval must be at least 1 second'
