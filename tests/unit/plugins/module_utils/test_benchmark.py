# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vllm bench serve result parsing and baseline comparison, on real result files
(tests/unit/fixtures/SOURCES-evaluation.md)."""
from __future__ import annotations

import json
import os

import pytest

from ansible_collections.ascend.serving.plugins.module_utils._parse import ParseError
from ansible_collections.ascend.serving.plugins.module_utils.benchmark import (
    BenchmarkError, bench_report, chart_series, compare, flat_metrics, parse_bench_serve)

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'vllm_bench_serve')
QWEN25 = 'openai-1.0qps-Qwen2.5-VL-3B-Instruct-20260722-060114.json'
QWEN3 = 'openai-1.0qps-Qwen3-VL-8B-Instruct-20260722-041843.json'


def _text(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def _load(name):
    return json.loads(_text(name))


@pytest.mark.parametrize('name,completed,failed,duration,req_tput,out_tput,ttft,tpot,itl', [
    (QWEN25, 199, 1, 204.45408433000557, 0.9733236714351853, 124.58542994370372,
     {'mean': 97.50969301155726, 'median': 98.94429985433817, 'std': 10.283567228285902, 'p99': 113.88637554366143},
     {'mean': 34.43461520473263, 'median': 34.45028747967261, 'std': 0.3581634321016956, 'p99': 35.01290820802995},
     {'mean': 34.434617229796345, 'median': 34.34124984778464, 'std': 1.2341968366262888, 'p99': 38.25465443544089}),
    (QWEN3, 200, 0, 203.5104987300001, 0.9827502819171137, 125.79203608539055,
     {'mean': 95.6344293046277, 'median': 95.6995899323374, 'std': 12.71286480609931, 'p99': 143.32562107359988},
     {'mean': 27.911832109121164, 'median': 27.67841275561395, 'std': 1.0193481469453176, 'p99': 31.202747922493362},
     {'mean': 27.911833959895617, 'median': 27.339585009030998, 'std': 3.1292647193476784, 'p99': 42.0829780306667}),
])
def test_real_result_files(name, completed, failed, duration, req_tput, out_tput, ttft, tpot, itl):
    for source in (_load(name), _text(name)):
        parsed = parse_bench_serve(source)
        s = parsed['summary']
        assert (s['completed'], s['failed'], s['duration']) == (completed, failed, duration)
        assert (s['request_throughput'], s['output_throughput']) == (req_tput, out_tput)
        assert s['num_prompts'] == 200 and s['request_rate'] == 1.0 and s['backend'] == 'openai'
        assert parsed['latency'] == {'ttft': ttft, 'tpot': tpot, 'itl': itl}


def test_append_result_file_takes_the_last_run():
    text = _text(QWEN25).strip() + '\n' + _text(QWEN3).strip() + '\n'
    assert parse_bench_serve(text)['summary']['completed'] == 200


@pytest.mark.parametrize('data,message', [
    ('', 'empty'),
    ('not json', 'not JSON'),
    ([1], 'not a JSON object'),
    ({'completed': 1}, 'duration, request_throughput, output_throughput, total_token_throughput missing'),
])
def test_rejects(data, message):
    with pytest.raises(ParseError, match=message):
        parse_bench_serve(data)


def test_all_requests_failed_is_an_error():
    data = _load(QWEN3)
    data['completed'] = 0
    with pytest.raises(ParseError, match='no request completed'):
        parse_bench_serve(data)


def test_comparison_directions():
    # Qwen3 against Qwen2.5 as baseline: TTFT p99 rose 25.8 %, TPOT fell, throughput rose 1 %.
    cur, base = parse_bench_serve(_load(QWEN3)), parse_bench_serve(_load(QWEN25))
    rows = dict((r['metric'], r) for r in compare(cur, base, tolerance_pct=10))
    assert rows['p99_ttft_ms']['status'] == 'regression'
    assert rows['p99_ttft_ms']['change_pct'] == pytest.approx((143.32562107359988 / 113.88637554366143 - 1) * 100)
    assert rows['median_tpot_ms']['status'] == 'ok' and rows['median_tpot_ms']['change_pct'] < 0
    assert rows['output_throughput']['status'] == 'ok'
    # The other way round, throughput is 1 % lower: a regression only with a tolerance below 1 %.
    rows = dict((r['metric'], r) for r in compare(base, cur, metrics=['output_throughput'], tolerance_pct=0.5))
    assert rows['output_throughput']['status'] == 'regression'
    rows = dict((r['metric'], r) for r in compare(base, cur, metrics=['output_throughput'], tolerance_pct=2))
    assert rows['output_throughput']['status'] == 'ok'


def test_report_with_baseline():
    report = bench_report(_load(QWEN3), baseline=_load(QWEN25), tolerance_pct=10,
                          meta={'endpoint': 'http://n0:8000', 'model': 'm', 'profile': 'p', 'run': 'r',
                                'baseline': 'base.json'})
    assert not report['passed']
    assert report['failures'] == ['p99_ttft_ms: latency rose (baseline 113.89, this run 143.33, +25.8 %, '
                                  'tolerance 10.0 %)']
    assert report['stat_columns'] == ['mean', 'median', 'std', 'p99']
    md = report['markdown']
    assert '| TTFT | 95.63 | 95.70 | 12.71 | 143.33 |' in md
    assert '| output token throughput (tok/s) | 125.79 |' in md and '**REGRESSION**' in md
    # A report of an earlier run is a baseline too.
    again = bench_report(_load(QWEN3), baseline=report, tolerance_pct=0)
    assert again['passed'] and all(r['change_pct'] == 0 for r in again['comparison'])


def test_report_without_baseline_passes():
    report = bench_report(_load(QWEN25))
    assert report['passed'] and report['comparison'] == [] and 'Against the baseline' not in report['markdown']


@pytest.mark.parametrize('metrics,tol,message', [
    (['p90_ttft_ms'], 10, 'p90_ttft_ms is not in this run'),
    (['output_throughput'], -1, 'must be a number >= 0'),
])
def test_bad_comparisons(metrics, tol, message):
    with pytest.raises(BenchmarkError, match=message):
        bench_report(_load(QWEN3), baseline=_load(QWEN25), tolerance_pct=tol, metrics=metrics)


def test_metric_missing_in_baseline():
    base = _load(QWEN25)
    del base['p99_tpot_ms']
    with pytest.raises(BenchmarkError, match='p99_tpot_ms is not in the baseline'):
        bench_report(_load(QWEN3), baseline=base)


def test_flat_metrics_and_chart_series():
    parsed = parse_bench_serve(_load(QWEN3))
    flat = flat_metrics(parsed)
    assert flat['median_itl_ms'] == 27.339585009030998 and flat['request_throughput'] == 0.9827502819171137
    series = chart_series(bench_report(_load(QWEN3)))
    assert series['TTFT'] == {'mean': 95.6344293046277, 'median': 95.6995899323374, 'p99': 143.32562107359988}
    assert list(series) == ['TTFT', 'TPOT', 'ITL']
