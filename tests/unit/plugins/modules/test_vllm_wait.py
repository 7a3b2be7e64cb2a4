# -*- coding: utf-8 -*-
"""vllm_wait against a real local HTTP server, with systemctl answered by a fake runner."""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from ansible_collections.ascend.serving.plugins.modules import vllm_wait
from ansible_collections.ascend.serving.tests.unit.plugins.modules.utils import FakeRunner, run_module


class Health(http.server.BaseHTTPRequestHandler):
    """A fake vLLM API server.

    Answers are configured on the server object: ``status`` for /health, ``models`` and
    ``completion`` as ``(status, body)`` for GET /v1/models and POST /v1/completions (a body
    that is not bytes is sent as JSON). Every request is recorded in ``server.requests`` as
    a dict with method, path, headers and (for a POST) the decoded JSON body.
    """

    def _record(self, body=None):
        self.server.requests.append({'method': self.command, 'path': self.path,
                                     'headers': dict(self.headers.items()), 'json': body})

    def _answer(self, status, body=None):
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode('utf-8')
        self.send_response(status)
        if body is not None:
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if body is not None:
            self.wfile.write(body)

    def _refused(self):
        """vLLM with an API key: /v1/... without ``Authorization: Bearer <key>`` is 401."""
        if self.server.api_key and self.path.startswith('/v1/') and \
                self.headers.get('Authorization') != 'Bearer %s' % self.server.api_key:
            self._answer(401, {'error': 'Unauthorized'})
            return True
        return False

    def do_GET(self):  # noqa: N802 - http.server's name
        self._record()
        if self._refused():
            return
        if self.path == '/health':
            self._answer(self.server.status)
        elif self.path == '/v1/models':
            self._answer(*self.server.models)
        else:
            self._answer(404, {'detail': 'Not Found'})

    def do_POST(self):  # noqa: N802 - http.server's name
        raw = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        self._record(json.loads(raw.decode('utf-8')) if raw else None)
        if self._refused():
            return
        if self.path == '/v1/completions':
            self._answer(*self.server.completion)
        else:
            self._answer(404, {'detail': 'Not Found'})

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = http.server.HTTPServer(('127.0.0.1', 0), Health)
    srv.status = 503
    srv.models = (200, {'object': 'list', 'data': [{'id': 'deepseek_v3.2', 'object': 'model'}]})
    srv.completion = (200, {'id': 'cmpl-1', 'object': 'text_completion', 'model': 'deepseek_v3.2',
                            'choices': [{'index': 0, 'text': ' bright', 'finish_reason': 'length'}]})
    srv.requests = []
    srv.api_key = None
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


def base(srv):
    return 'http://127.0.0.1:%d' % srv.server_address[1]


def wait(srv, runner, **extra):
    args = dict(url=url(srv), timeout=2, interval=1, units=['ascend-vllm.service'])
    args.update(extra)
    return run_module(vllm_wait.main, args, runner=runner, bin_paths={'systemctl': '/bin/systemctl'})


def paths(srv):
    return [(r['method'], r['path']) for r in srv.requests]


def test_healthy_returns_the_units_it_saw(server):
    server.status = 200
    failed, result, runner = wait(server, systemctl({'ascend-vllm.service': 'active'}))
    assert not failed and result['healthy'] is True
    assert result['units'] == {'ascend-vllm.service': 'active'}
    assert result['polls'] == 1 and runner.calls == [['/bin/systemctl', 'is-active', 'ascend-vllm.service']]
    # Nothing beyond /health is asked when served_model / completion_prompt are not given.
    assert paths(server) == [('GET', '/health')]
    assert 'models' not in result and 'completion_text' not in result


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


# --- served_model / completion_prompt -------------------------------------------------------

def test_serves_lists_the_model_and_completes_with_the_api_key(server):
    server.status = 200
    server.api_key = 'sk-secret'
    server.models = (200, {'object': 'list', 'data': [{'id': 'deepseek_v3.2'}, {'id': 'lora-a'}]})
    failed, result, dummy = wait(server, systemctl({'ascend-vllm.service': 'active'}),
                                 served_model='deepseek_v3.2', completion_prompt='The future of AI is',
                                 completion_max_tokens=7, api_key='sk-secret')
    assert not failed, result
    assert result['healthy'] is True and result['polls'] == 1
    assert result['models'] == ['deepseek_v3.2', 'lora-a']
    assert result['completion_text'] == ' bright'
    assert result['auth_enforced'] is True
    # /v1/models once without the key (must be refused), then with it; then the completion.
    assert paths(server) == [('GET', '/health'), ('GET', '/v1/models'), ('GET', '/v1/models'),
                             ('POST', '/v1/completions')]
    assert 'Authorization' not in server.requests[1]['headers']
    post = server.requests[3]
    assert post['json'] == {'model': 'deepseek_v3.2', 'prompt': 'The future of AI is', 'max_tokens': 7,
                            'temperature': 0}
    assert post['headers']['Content-Type'] == 'application/json'
    for request in server.requests[2:]:
        assert request['headers']['Authorization'] == 'Bearer sk-secret'


def test_a_key_that_does_not_protect_the_endpoint_fails(server):
    """The key never reached vLLM (it serves without one): the bearer header is ignored, so only a
    request without it shows the endpoint is open."""
    server.status = 200
    failed, result, dummy = wait(server, systemctl({'ascend-vllm.service': 'active'}),
                                 served_model='deepseek_v3.2', completion_prompt='Hello', api_key='sk-secret')
    assert failed
    assert result['msg'].startswith('%s/v1/models answers without the API key: the endpoint is open' % base(server))
    assert paths(server) == [('GET', '/health'), ('GET', '/v1/models')]


def test_a_key_check_answered_otherwise_than_401_fails_naming_it(server):
    server.status = 200
    server.models = (500, {'error': 'boom'})
    failed, result, dummy = wait(server, systemctl({'ascend-vllm.service': 'active'}),
                                 served_model='deepseek_v3.2', api_key='sk-secret')
    assert failed
    assert result['msg'] == ('the API key check: %s/v1/models without the key answered HTTP 500, expected 401'
                             % base(server))


def test_without_api_key_no_authorization_header_and_default_max_tokens(server):
    server.status = 200
    failed, result, dummy = wait(server, systemctl({'ascend-vllm.service': 'active'}),
                                 served_model='deepseek_v3.2', completion_prompt='Hello')
    assert not failed, result
    assert result['models'] == ['deepseek_v3.2'] and result['completion_text'] == ' bright'
    assert server.requests[2]['json'] == {'model': 'deepseek_v3.2', 'prompt': 'Hello', 'max_tokens': 10,
                                          'temperature': 0}
    assert len(server.requests) == 3
    for request in server.requests:
        assert 'Authorization' not in request['headers']


def test_served_model_only_does_not_post_a_completion(server):
    server.status = 200
    failed, result, dummy = wait(server, systemctl({'ascend-vllm.service': 'active'}),
                                 served_model='deepseek_v3.2')
    assert not failed and result['models'] == ['deepseek_v3.2']
    assert 'completion_text' not in result
    assert paths(server) == [('GET', '/health'), ('GET', '/v1/models')]


def test_served_model_not_listed_fails_naming_it_and_what_is_listed(server):
    server.status = 200
    server.models = (200, {'object': 'list', 'data': [{'id': 'qwen3'}, {'id': 'lora-a'}]})
    failed, result, dummy = wait(server, systemctl({'ascend-vllm.service': 'active'}),
                                 served_model='deepseek_v3.2', completion_prompt='Hello')
    assert failed
    assert result['msg'] == ("%s/v1/models does not list the served model 'deepseek_v3.2' (it lists: qwen3, lora-a)"
                             % base(server))
    assert result['models'] == ['qwen3', 'lora-a']
    assert paths(server) == [('GET', '/health'), ('GET', '/v1/models')]  # no completion attempted


def test_served_model_with_an_empty_list_says_nothing_is_listed(server):
    server.status = 200
    server.models = (200, {'object': 'list', 'data': []})
    failed, result, dummy = wait(server, systemctl({'ascend-vllm.service': 'active'}), served_model='m')
    assert failed
    assert result['msg'] == "%s/v1/models does not list the served model 'm' (it lists: nothing)" % base(server)


def test_models_401_fails_mentioning_the_status_and_the_api_key(server):
    server.status = 200
    server.models = (401, {'error': 'Unauthorized'})
    failed, result, dummy = wait(server, systemctl({'ascend-vllm.service': 'active'}),
                                 served_model='deepseek_v3.2', completion_prompt='Hello', api_key='wrong')
    assert failed
    assert result['msg'] == ('the served model: %s/v1/models answered HTTP 401 (wrong or missing API key?)'
                             % base(server))
    assert paths(server) == [('GET', '/health'), ('GET', '/v1/models'), ('GET', '/v1/models')]


def test_models_500_fails_without_blaming_the_api_key(server):
    server.status = 200
    server.models = (500, {'error': 'boom'})
    failed, result, dummy = wait(server, systemctl({'ascend-vllm.service': 'active'}), served_model='m')
    assert failed
    assert result['msg'] == 'the served model: %s/v1/models answered HTTP 500' % base(server)


@pytest.mark.parametrize('answer', [
    {'id': 'cmpl-1', 'choices': [{'index': 0, 'text': ''}]},
    {'id': 'cmpl-1', 'choices': []},
    {'id': 'cmpl-1'},
    {'id': 'cmpl-1', 'choices': [{'index': 0}]},
], ids=['empty-text', 'no-choices', 'choices-missing', 'text-missing'])
def test_completion_without_text_fails_naming_the_endpoint(server, answer):
    server.status = 200
    server.completion = (200, answer)
    failed, result, dummy = wait(server, systemctl({'ascend-vllm.service': 'active'}),
                                 served_model='deepseek_v3.2', completion_prompt='Hello')
    assert failed
    assert result['msg'] == '%s/v1/completions answered 200 without text: %s' % (base(server), json.dumps(answer))
    assert result['models'] == ['deepseek_v3.2']
    assert 'completion_text' not in result


def test_completion_that_is_not_json_fails(server):
    server.status = 200
    server.completion = (200, b'<html>upstream gateway</html>')
    failed, result, dummy = wait(server, systemctl({'ascend-vllm.service': 'active'}),
                                 served_model='deepseek_v3.2', completion_prompt='Hello')
    assert failed
    assert result['msg'].startswith('the completion request: %s/v1/completions did not answer JSON: '
                                    % base(server))
    assert 'completion_text' not in result


def test_completion_http_error_fails_naming_the_request(server):
    server.status = 200
    server.completion = (400, {'error': 'max_tokens too large'})
    failed, result, dummy = wait(server, systemctl({'ascend-vllm.service': 'active'}),
                                 served_model='deepseek_v3.2', completion_prompt='Hello')
    assert failed
    assert result['msg'] == 'the completion request: %s/v1/completions answered HTTP 400' % base(server)


def test_not_healthy_in_a_round_asks_nothing_beyond_health(server):
    failed, result, dummy = wait(server, systemctl({'ascend-vllm.service': 'active'}), fail_on_timeout=False,
                                 served_model='deepseek_v3.2', completion_prompt='Hello')
    assert not failed and result['healthy'] is False
    assert 'models' not in result and 'completion_text' not in result
    assert len(server.requests) >= 2
    assert set(paths(server)) == {('GET', '/health')}


def test_completion_prompt_requires_served_model(server):
    server.status = 200
    failed, result, dummy = wait(server, systemctl({'ascend-vllm.service': 'active'}), completion_prompt='Hello')
    assert failed
    assert result['msg'] == "missing parameter(s) required by 'completion_prompt': served_model"
    assert server.requests == []


def test_completion_json_that_is_not_an_object_fails_cleanly(server):
    server.status = 200
    server.completion = (200, ['not', 'an', 'object'])
    failed, result, dummy = wait(server, systemctl({'ascend-vllm.service': 'active'}),
                                 served_model='deepseek_v3.2', completion_prompt='Hello')
    assert failed
    assert result['msg'] == ('the completion request: %s/v1/completions did not answer JSON: a JSON list, not an object'
                             % url(server).rsplit('/', 1)[0])


# --- units only (no url) --------------------------------------------------------------------

@pytest.fixture
def no_http(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError('unexpected HTTP request %r %r' % (args, kwargs))
    monkeypatch.setattr(vllm_wait, 'open_url', refuse)


def check_units(runner, **extra):
    args = dict(units=['ascend-vllm.service', 'ascend-ray.service'])
    args.update(extra)
    return run_module(vllm_wait.main, args, runner=runner, bin_paths={'systemctl': '/bin/systemctl'})


def test_units_only_all_active_is_healthy_without_http(no_http):
    failed, result, runner = check_units(systemctl({'ascend-vllm.service': 'active', 'ascend-ray.service': 'active'}),
                                         served_model='deepseek_v3.2')
    assert not failed, result
    assert result['healthy'] is True and result['changed'] is False
    assert result['units'] == {'ascend-vllm.service': 'active', 'ascend-ray.service': 'active'}
    assert result['polls'] == 0 and result['elapsed'] == 0 and result['last_error'] == ''
    assert runner.calls == [['/bin/systemctl', 'is-active', 'ascend-vllm.service'],
                            ['/bin/systemctl', 'is-active', 'ascend-ray.service']]


def test_units_only_a_failed_unit_fails_naming_it_and_its_state(no_http):
    failed, result, runner = check_units(systemctl({'ascend-vllm.service': 'failed', 'ascend-ray.service': 'active'}))
    assert failed
    assert result['msg'] == 'ascend-vllm.service is failed: it exited; see its journal'
    assert result['healthy'] is False
    assert result['units'] == {'ascend-vllm.service': 'failed', 'ascend-ray.service': 'active'}
    assert len(runner.calls) == 2  # checked once, not polled


def test_units_only_activating_is_not_active(no_http):
    failed, result, dummy = check_units(systemctl({'ascend-vllm.service': 'active', 'ascend-ray.service': 'activating'}))
    assert failed and result['msg'] == 'ascend-ray.service is activating: it exited; see its journal'


def test_units_only_empty_answer_is_unknown(no_http):
    failed, result, dummy = check_units(FakeRunner(lambda argv: (4, '', '')), units=['ascend-vllm.service'])
    assert failed and result['units'] == {'ascend-vllm.service': 'unknown'}
    assert result['msg'] == 'ascend-vllm.service is unknown: it exited; see its journal'


def test_units_only_several_down_units_each_get_their_own_state(no_http):
    failed, result, dummy = check_units(systemctl({'ascend-vllm.service': 'failed', 'ascend-ray.service': 'inactive'}))
    assert failed
    assert result['msg'] == 'ascend-ray.service is inactive, ascend-vllm.service is failed: it exited; see its journal'


def test_no_url_and_no_units_fails_with_a_message(no_http):
    failed, result, runner = run_module(vllm_wait.main, {'timeout': 5}, bin_paths={'systemctl': '/bin/systemctl'})
    assert failed
    assert result['msg'] == 'give url (the health URL to wait for), units (to check), or both'
    assert runner.calls == []
