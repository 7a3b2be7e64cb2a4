# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``vllm bench serve`` results: parse the saved result JSON, compare with a baseline, summarise.

Pure Python (stdlib only); the controller-side filter ``vllm_bench_report`` calls
:func:`bench_report`.

``vllm bench serve --save-result`` writes one JSON object (vLLM 0.11: ``date, endpoint_type,
backend, label, model_id, tokenizer_id, num_prompts, request_rate, burstiness, max_concurrency,
duration, completed, total_input_tokens, total_output_tokens, request_throughput,
request_goodput, output_throughput, total_token_throughput, max_output_tokens_per_s,
max_concurrent_requests`` then ``mean_/median_/std_/p<N>_`` + ``ttft|tpot|itl|e2el`` + ``_ms`` for
the metrics of ``--percentile-metrics`` and percentiles of ``--metric-percentiles``; newer
releases add ``failed`` and ``rtfx``).
"""

from __future__ import annotations

import json
import math
import re

from ansible_collections.ascend.serving.plugins.module_utils._parse import ParseError

REQUIRED = ('completed', 'duration', 'request_throughput', 'output_throughput', 'total_token_throughput')
LATENCIES = (('ttft', 'TTFT', 'time to first token'), ('tpot', 'TPOT', 'time per output token'),
             ('itl', 'ITL', 'inter-token latency'), ('e2el', 'E2EL', 'end-to-end latency'))
THROUGHPUTS = ('request_throughput', 'output_throughput', 'total_token_throughput')
_LATENCY_KEY = re.compile(r'^(mean|median|std|p\d+(?:\.\d+)?)_(ttft|tpot|itl|e2el)_ms$')
DEFAULT_COMPARE = ('request_throughput', 'output_throughput', 'median_ttft_ms', 'p99_ttft_ms',
                   'median_tpot_ms', 'p99_tpot_ms')


class BenchmarkError(ValueError):
    """A comparison that cannot be made as asked; the message names the key and the fix."""


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(float(value)) else None


def _stat_order(stat):
    order = {'mean': 0, 'median': 1, 'std': 2}
    if stat in order:
        return (order[stat], 0.0)
    return (3, float(stat[1:]))


def parse_bench_serve(data, source='vllm bench serve result'):
    """A ``vllm bench serve`` result (parsed JSON, or its text; ``--append-result`` files hold one
    JSON object per line: the last one counts) -> ``{summary, latency, raw}``.

    ``summary``: the run's scalars (completed, failed, duration, throughputs, request_rate, ...);
    ``latency``: ``{ttft: {mean: .., median: .., std: .., p99: ..}, ...}`` in ms.
    """
    if isinstance(data, str):
        lines = [line for line in data.splitlines() if line.strip()]
        if not lines:
            raise ParseError('%s: empty' % source)
        try:
            data = json.loads(lines[-1]) if len(lines) > 1 else json.loads(data)
        except ValueError as exc:
            raise ParseError('%s: not JSON (%s)' % (source, exc))
    if not isinstance(data, dict):
        raise ParseError('%s: not a JSON object' % source)
    missing = [key for key in REQUIRED if key not in data]
    if missing:
        raise ParseError('%s: not a vllm bench serve result, %s missing (was it written by '
                         '`vllm bench serve --save-result`?)' % (source, ', '.join(missing)))
    summary = {}
    for key in REQUIRED + ('total_input_tokens', 'total_output_tokens', 'failed', 'num_prompts',
                           'max_concurrency', 'request_goodput', 'max_output_tokens_per_s',
                           'max_concurrent_requests'):
        if key in data and data[key] is not None:
            number = _number(data[key])
            if number is None:
                raise ParseError('%s: %s is %r, not a number' % (source, key, data[key]))
            summary[key] = number
    for key in ('date', 'backend', 'endpoint_type', 'label', 'model_id', 'tokenizer_id', 'burstiness'):
        if key in data:
            summary[key] = data[key]
    rate = data.get('request_rate')
    summary['request_rate'] = rate if rate in ('inf', None) else _number(rate)
    if summary['completed'] <= 0:
        raise ParseError('%s: no request completed (completed = 0): every request failed; see the '
                         'benchmark output and the server log' % source)
    latency = {}
    for key, value in data.items():
        match = _LATENCY_KEY.match(key)
        if not match:
            continue
        number = _number(value)
        if number is None:
            raise ParseError('%s: %s is %r, not a number' % (source, key, value))
        latency.setdefault(match.group(2), {})[match.group(1)] = number
    if 'ttft' not in latency:
        raise ParseError('%s: no TTFT statistics (mean_ttft_ms, ...): was --percentile-metrics changed?' % source)
    return {'summary': summary, 'latency': latency}


def flat_metrics(parsed):
    """``{metric_key: value}`` of a parsed result: throughputs and every latency statistic."""
    out = dict((key, parsed['summary'][key]) for key in THROUGHPUTS if key in parsed['summary'])
    for metric, stats in parsed['latency'].items():
        for stat, value in stats.items():
            out['%s_%s_ms' % (stat, metric)] = value
    return out


def higher_is_better(metric):
    return metric.endswith('_throughput') or metric == 'request_goodput'


def compare(current, baseline, metrics=DEFAULT_COMPARE, tolerance_pct=10.0):
    """Rows ``{metric, current, baseline, change_pct, limit_pct, status}``; ``status`` is
    ``regression`` when a throughput fell, or a latency rose, by more than ``tolerance_pct`` percent."""
    if _number(tolerance_pct) is None or tolerance_pct < 0:
        raise BenchmarkError('benchmark_regression_tolerance_pct must be a number >= 0, got %r' % (tolerance_pct,))
    cur, base = flat_metrics(current), flat_metrics(baseline)
    rows = []
    for metric in metrics:
        if metric not in cur:
            raise BenchmarkError('metric %s is not in this run\'s result (known: %s): fix benchmark_compare_metrics'
                                 % (metric, ', '.join(sorted(cur))))
        if metric not in base:
            raise BenchmarkError('metric %s is not in the baseline (known there: %s): give a baseline of the same '
                                 'percentile metrics or drop it from benchmark_compare_metrics'
                                 % (metric, ', '.join(sorted(base))))
        now, then = cur[metric], base[metric]
        change = 0.0 if then == 0 and now == 0 else (math.inf if then == 0 else (now - then) / then * 100.0)
        better_up = higher_is_better(metric)
        worse = -change if better_up else change
        rows.append({'metric': metric, 'current': now, 'baseline': then, 'change_pct': change,
                     'direction': 'higher is better' if better_up else 'lower is better',
                     'status': 'regression' if worse > tolerance_pct + 1e-9 else 'ok'})
    return rows


def _fmt(value, digits=2):
    if value is None:
        return '-'
    if isinstance(value, str):
        return value
    return ('%.' + str(digits) + 'f') % value


def bench_markdown(report):
    """The Markdown summary of a benchmark report (see :func:`bench_report`)."""
    summary = report['summary']
    lines = ['# Benchmark: %s' % report['title'], '',
             'Endpoint `%s`, model `%s`, profile `%s`, run %s.' % (
                 report['endpoint'], report['model'], report['profile'], report['run']), '',
             '`%s`' % report['command'] if report.get('command') else '', '',
             '| | |', '|---|---:|']
    for label, key, digits in (('successful requests', 'completed', 0), ('failed requests', 'failed', 0),
                               ('request rate configured (req/s)', 'request_rate', 2),
                               ('duration (s)', 'duration', 2), ('total input tokens', 'total_input_tokens', 0),
                               ('total generated tokens', 'total_output_tokens', 0),
                               ('request throughput (req/s)', 'request_throughput', 2),
                               ('output token throughput (tok/s)', 'output_throughput', 2),
                               ('total token throughput (tok/s)', 'total_token_throughput', 2)):
        if key in summary:
            lines.append('| %s | %s |' % (label, _fmt(summary[key], digits)))
    lines += ['', '| latency (ms) | ' + ' | '.join(report['stat_columns']) + ' |',
              '|---|' + '---:|' * len(report['stat_columns'])]
    for metric, name, _desc in LATENCIES:
        stats = report['latency'].get(metric)
        if stats:
            lines.append('| %s | %s |' % (name, ' | '.join(_fmt(stats.get(col)) for col in report['stat_columns'])))
    lines.append('')
    if report.get('comparison'):
        lines += ['## Against the baseline', '', 'Baseline `%s`, tolerance %s %%.' % (
            report['baseline'], _fmt(report['tolerance_pct'], 1)), '',
            '| metric | baseline | this run | change % | | status |', '|---|---:|---:|---:|---|---|']
        for row in report['comparison']:
            lines.append('| %s | %s | %s | %+.1f | %s | %s |' % (
                row['metric'], _fmt(row['baseline']), _fmt(row['current']), row['change_pct'], row['direction'],
                '**REGRESSION**' if row['status'] == 'regression' else 'ok'))
        lines.append('')
    if report.get('chart'):
        lines += ['![latency percentiles](%s)' % report['chart'], '']
    if report['failures']:
        lines += ['## Failures', ''] + ['- %s' % msg for msg in report['failures']] + ['']
    lines.append('Result: **%s**' % ('FAIL' if report['failures'] else 'PASS'))
    return '\n'.join(line for line in lines if line is not None) + '\n'


def bench_report(result, baseline=None, tolerance_pct=10.0, metrics=DEFAULT_COMPARE, meta=None):
    """The whole benchmark check: parse ``result`` (and ``baseline``: a result of an earlier run,
    or a report of this function), compare, summarise. Returns ``{summary, latency, stat_columns,
    comparison, failures, passed, markdown, ...}``."""
    meta = dict(meta or {})
    parsed = parse_bench_serve(result)
    comparison = []
    if baseline is not None:
        if isinstance(baseline, dict) and 'summary' in baseline and 'latency' in baseline:
            base = {'summary': baseline['summary'], 'latency': baseline['latency']}
        else:
            base = parse_bench_serve(baseline, 'baseline')
        comparison = compare(parsed, base, list(metrics), tolerance_pct)
    columns = set()
    for stats in parsed['latency'].values():
        columns.update(stats)
    failures = ['%s: %s (baseline %s, this run %s, %+.1f %%, tolerance %s %%)' % (
        row['metric'], 'throughput fell' if higher_is_better(row['metric']) else 'latency rose',
        _fmt(row['baseline']), _fmt(row['current']), row['change_pct'], _fmt(tolerance_pct, 1))
        for row in comparison if row['status'] == 'regression']
    report = {
        'title': meta.get('title', 'vllm bench serve'),
        'endpoint': meta.get('endpoint', '-'),
        'model': meta.get('model', '-'),
        'profile': meta.get('profile', '-'),
        'run': meta.get('run', '-'),
        'command': meta.get('command'),
        'chart': meta.get('chart'),
        'baseline': meta.get('baseline', '-'),
        'tolerance_pct': tolerance_pct,
        'summary': parsed['summary'],
        'latency': parsed['latency'],
        'stat_columns': sorted(columns, key=_stat_order),
        'comparison': comparison,
        'failures': failures,
        'passed': not failures,
    }
    report['markdown'] = bench_markdown(report)
    return report


def chart_series(report, stats=('median', 'p90', 'p95', 'p99')):
    """``{metric_name: {stat: value}}`` of the latency percentiles worth a chart (those present)."""
    out = {}
    for metric, name, _desc in LATENCIES:
        values = report['latency'].get(metric) or {}
        picked = dict((stat, values[stat]) for stat in ['mean'] + list(stats) if stat in values)
        if picked:
            out[name] = picked
    return out
