# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Accuracy results (lm_eval results JSON, AISBench summary) against a profile's references.

Pure Python (stdlib only). The controller-side filter ``accuracy_report`` calls
:func:`accuracy_report`; the unit tests feed it real result files.

lm_eval (lm-evaluation-harness) writes ``<output_path>/<model>/results_<date>.json`` whose
``results.<task>`` maps ``<metric>,<filter>`` to a value (``exact_match,strict-match``,
``exact_match,flexible-extract``, ``acc,none``) and ``<metric>_stderr,<filter>`` to its standard
error; ``n-shot.<task>`` holds the few-shot count. AISBench writes
``outputs/default/<time>/summary/summary_<time>.{csv,txt,md}``: one row per dataset
(``dataset, version, metric, mode, <model abbr>``), the value in percent.

References (the profile's ``evaluation`` key)::

    lm_eval:
      gsm8k:
        num_fewshot: 5
        metrics:
          exact_match,flexible-extract: {reference: 0.9591, tolerance: 0.0165}
    aisbench:
      ceval:
        metrics:
          accuracy: {reference: 92.20, tolerance: 1.5}

A result passes when ``value >= reference - tolerance``.
"""

from __future__ import annotations

import csv
import io
import math

from ansible_collections.ascend.serving.plugins.module_utils._parse import ParseError

TOOLS = ('lm_eval', 'aisbench')


class EvaluationError(ValueError):
    """References that cannot be used; the message names the key and the fix."""


def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, str):
        try:
            out = float(value.strip())
        except ValueError:
            return None
        return out if math.isfinite(out) else None
    return None


def parse_lm_eval_results(data, source='lm_eval results'):
    """An lm_eval results document (parsed JSON) -> ``{task: {metrics, stderr, n_shot, samples}}``.

    ``metrics`` maps ``<metric>,<filter>`` to a float; stderr entries (``N/A`` when lm_eval could not
    compute one) go to ``stderr`` under the same ``<metric>,<filter>`` key.
    """
    if not isinstance(data, dict) or not isinstance(data.get('results'), dict):
        raise ParseError('%s: not an lm_eval results file (no "results" mapping at the top)' % source)
    if not data['results']:
        raise ParseError('%s: "results" is empty: lm_eval evaluated no task' % source)
    n_shot = data.get('n-shot') if isinstance(data.get('n-shot'), dict) else {}
    n_samples = data.get('n-samples') if isinstance(data.get('n-samples'), dict) else {}
    tasks = {}
    for task, block in data['results'].items():
        if not isinstance(block, dict):
            raise ParseError('%s: results.%s is not a mapping' % (source, task))
        metrics, stderr = {}, {}
        for key, value in block.items():
            if ',' not in key:
                continue  # alias, name, sample_len, ...
            metric, filt = key.split(',', 1)
            if metric.endswith('_stderr'):
                stderr['%s,%s' % (metric[:-len('_stderr')], filt)] = _number(value)
                continue
            number = _number(value)
            if number is None:
                raise ParseError('%s: results.%s["%s"] is %r, not a number' % (source, task, key, value))
            metrics[key] = number
        samples = n_samples.get(task) if isinstance(n_samples.get(task), dict) else {}
        tasks[task] = {
            'alias': block.get('alias', task),
            'metrics': metrics,
            'stderr': stderr,
            'n_shot': n_shot.get(task),
            'samples': samples.get('effective', block.get('sample_len')),
        }
    return tasks


def _table_rows(text):
    """Rows of a pipe table (markdown / AISBench's txt) or of a CSV, as lists of stripped cells."""
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and lines[0].lstrip().startswith('|'):
        rows = []
        for line in lines:
            stripped = line.strip()
            if not stripped.startswith('|'):
                continue
            cells = [cell.strip() for cell in stripped.strip('|').split('|')]
            if all(set(cell) <= set('-: ') for cell in cells):
                continue  # the |---|---| rule
            rows.append(cells)
        return rows
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO('\n'.join(lines)))]


def parse_aisbench_summary(text, source='AISBench summary'):
    """An AISBench summary (CSV, or the markdown / txt table) -> list of rows
    ``{dataset, version, metric, mode, model, value}``; ``value`` is None for ``-`` (not run)."""
    if not isinstance(text, str) or not text.strip():
        raise ParseError('%s: empty' % source)
    rows = _table_rows(text)
    if not rows:
        raise ParseError('%s: no table found' % source)
    header = [cell.lower() for cell in rows[0]]
    need = ('dataset', 'version', 'metric', 'mode')
    if tuple(header[:4]) != need or len(header) < 5:
        raise ParseError('%s: header must start with dataset, version, metric, mode and name one model '
                         'column' % source, line=', '.join(rows[0]))
    models = rows[0][4:]
    out = []
    for lineno, row in enumerate(rows[1:], 2):
        if len(row) != len(header):
            raise ParseError('%s: %d cells where the header has %d' % (source, len(row), len(header)),
                             line=', '.join(row), lineno=lineno)
        for model, cell in zip(models, row[4:]):
            value = None if cell in ('-', '') else _number(cell)
            if value is None and cell not in ('-', ''):
                raise ParseError('%s: value %r of dataset %s is not a number' % (source, cell, row[0]),
                                 line=', '.join(row), lineno=lineno)
            out.append({'dataset': row[0], 'version': row[1], 'metric': row[2], 'mode': row[3],
                        'model': model, 'value': value})
    return out


def results_from_lm_eval(tasks):
    """Flat result rows ``{tool, task, metric, value, stderr}`` of parsed lm_eval tasks."""
    rows = []
    for task in sorted(tasks):
        block = tasks[task]
        for metric in sorted(block['metrics']):
            rows.append({'tool': 'lm_eval', 'task': task, 'metric': metric, 'value': block['metrics'][metric],
                         'stderr': block['stderr'].get(metric), 'n_shot': block.get('n_shot')})
    return rows


def results_from_aisbench(rows):
    """Flat result rows of a parsed AISBench summary (datasets that ran)."""
    return [{'tool': 'aisbench', 'task': row['dataset'], 'metric': row['metric'], 'value': row['value'],
             'stderr': None, 'n_shot': None, 'model': row['model']}
            for row in rows if row['value'] is not None]


def check_references(references, where='evaluation'):
    """Problems of a references mapping (the profile's ``evaluation``), as messages."""
    problems = []
    if references in (None, {}):
        return problems
    if not isinstance(references, dict):
        return ['%s must be a mapping of tool (%s) to tasks, got %r' % (where, ', '.join(TOOLS), references)]
    for tool, tasks in references.items():
        if tool not in TOOLS:
            problems.append('%s.%s: unknown tool; use %s' % (where, tool, ' or '.join(TOOLS)))
            continue
        if not isinstance(tasks, dict):
            problems.append('%s.%s must map task names to {metrics: ...}' % (where, tool))
            continue
        for task, spec in tasks.items():
            metrics = spec.get('metrics') if isinstance(spec, dict) else None
            if not isinstance(metrics, dict) or not metrics:
                problems.append('%s.%s.%s.metrics must map metric names to {reference, tolerance}'
                                % (where, tool, task))
                continue
            for metric, ref in metrics.items():
                key = '%s.%s.%s.metrics.%s' % (where, tool, task, metric)
                if not isinstance(ref, dict) or _number(ref.get('reference')) is None:
                    problems.append('%s needs a numeric reference (e.g. {reference: 0.9591, tolerance: 0.0165})'
                                    % key)
                    continue
                tol = ref.get('tolerance', 0)
                if _number(tol) is None or _number(tol) < 0:
                    problems.append('%s.tolerance must be a number >= 0, got %r' % (key, tol))
    return problems


def compare(results, references, tolerance=None):
    """Each result row with its reference: adds ``reference``, ``tolerance``, ``floor``, ``status``
    (``pass`` / ``below`` / ``no reference``); references without a result are ``missing``.

    ``tolerance`` (when not None) replaces every reference's own tolerance.
    """
    problems = check_references(references)
    if problems:
        raise EvaluationError('\n'.join(problems))
    references = references or {}
    rows, seen = [], set()
    for result in results:
        ref = (((references.get(result['tool']) or {}).get(result['task']) or {}).get('metrics') or {}).get(
            result['metric'])
        row = dict(result)
        if ref is None:
            row.update({'reference': None, 'tolerance': None, 'floor': None, 'status': 'no reference'})
        else:
            seen.add((result['tool'], result['task'], result['metric']))
            tol = _number(tolerance) if tolerance is not None else _number(ref.get('tolerance', 0))
            floor = _number(ref['reference']) - tol
            row.update({'reference': _number(ref['reference']), 'tolerance': tol, 'floor': floor,
                        'status': 'pass' if result['value'] >= floor - 1e-12 else 'below'})
        rows.append(row)
    missing = []
    for tool in sorted(references):
        for task in sorted(references[tool] or {}):
            for metric in sorted(references[tool][task]['metrics']):
                if (tool, task, metric) not in seen:
                    missing.append({'tool': tool, 'task': task, 'metric': metric})
    return rows, missing


def _fmt(value, digits=4):
    if value is None:
        return '-'
    return ('%.' + str(digits) + 'f') % value


def accuracy_markdown(report):
    """The Markdown summary of an accuracy report (see :func:`accuracy_report`)."""
    lines = ['# Accuracy: %s' % report['title'], '',
             'Endpoint `%s`, model `%s`, profile `%s`, run %s.' % (
                 report['endpoint'], report['model'], report['profile'], report['run']), '',
             '| tool | task | metric | n-shot | value | stderr | reference | tolerance | floor | status |',
             '|---|---|---|---:|---:|---:|---:|---:|---:|---|']
    for row in report['rows']:
        lines.append('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
            row['tool'], row['task'], row['metric'], '-' if row.get('n_shot') is None else row['n_shot'],
            _fmt(row['value']), _fmt(row.get('stderr')), _fmt(row['reference']), _fmt(row['tolerance']),
            _fmt(row['floor']), '**BELOW**' if row['status'] == 'below' else row['status']))
    lines.append('')
    if report['failures']:
        lines.append('## Failures')
        lines.append('')
        lines.extend('- %s' % msg for msg in report['failures'])
        lines.append('')
    if report['notes']:
        lines.append('## Notes')
        lines.append('')
        lines.extend('- %s' % msg for msg in report['notes'])
        lines.append('')
    lines.append('Result: **%s**' % ('FAIL' if report['failures'] else 'PASS'))
    return '\n'.join(lines) + '\n'


def accuracy_report(lm_eval_documents=(), aisbench_summaries=(), references=None, tolerance=None, meta=None):
    """The whole accuracy check.

    ``lm_eval_documents``: parsed lm_eval results JSON documents; ``aisbench_summaries``: the text of
    AISBench summary files; ``references``: the profile's ``evaluation``; ``meta``: title, endpoint,
    model, profile, run (for the summary). Returns ``{rows, failures, notes, passed, markdown, ...}``.
    """
    meta = dict(meta or {})
    results = []
    for index, doc in enumerate(lm_eval_documents or ()):
        results += results_from_lm_eval(parse_lm_eval_results(doc, 'lm_eval results file %d' % (index + 1)))
    for index, text in enumerate(aisbench_summaries or ()):
        results += results_from_aisbench(parse_aisbench_summary(text, 'AISBench summary %d' % (index + 1)))
    if not results:
        raise EvaluationError('no accuracy result to check: the tools wrote no result file')
    rows, missing = compare(results, references, tolerance)
    failures = ['%s %s %s = %.4f is below the reference %.4f - tolerance %.4f = %.4f' % (
        row['tool'], row['task'], row['metric'], row['value'], row['reference'], row['tolerance'], row['floor'])
        for row in rows if row['status'] == 'below']
    notes = ['%s %s %s: no reference in the profile (add evaluation.%s.%s.metrics."%s" to compare)' % (
        row['tool'], row['task'], row['metric'], row['tool'], row['task'], row['metric'])
        for row in rows if row['status'] == 'no reference']
    ran = set((row['tool'], row['task']) for row in rows)
    notes += ['%s %s %s: referenced by the profile but not evaluated in this run' % (m['tool'], m['task'], m['metric'])
              for m in missing if (m['tool'], m['task']) in ran]
    report = {
        'title': meta.get('title', 'accuracy'),
        'endpoint': meta.get('endpoint', '-'),
        'model': meta.get('model', '-'),
        'profile': meta.get('profile', '-'),
        'run': meta.get('run', '-'),
        'rows': rows,
        'failures': failures,
        'notes': notes,
        'passed': not failures,
    }
    report['markdown'] = accuracy_markdown(report)
    return report
