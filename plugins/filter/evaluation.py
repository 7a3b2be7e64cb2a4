# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters accuracy_report and vllm_bench_report (documented in their .yml files)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.ascend.serving.plugins.module_utils import benchmark, evaluation
from ansible_collections.ascend.serving.plugins.module_utils._parse import ParseError
from ansible_collections.ascend.serving.plugins.module_utils.profile import plain


def accuracy_report(lm_eval_documents, aisbench_summaries=None, references=None, tolerance=None, meta=None):
    """lm_eval results documents (+ AISBench summary texts) checked against the references."""
    try:
        return evaluation.accuracy_report(plain(lm_eval_documents) or [], plain(aisbench_summaries) or [],
                                          plain(references) or {}, tolerance, plain(meta) or {})
    except (ParseError, evaluation.EvaluationError) as exc:
        raise AnsibleFilterError('accuracy_report: %s' % exc)


def vllm_bench_report(result, baseline=None, tolerance_pct=10.0, metrics=None, meta=None):
    """A ``vllm bench serve`` result (JSON text or parsed) summarised and compared with a baseline."""
    try:
        report = benchmark.bench_report(plain(result), plain(baseline) if baseline not in (None, '') else None,
                                        float(tolerance_pct), plain(metrics) or benchmark.DEFAULT_COMPARE,
                                        plain(meta) or {})
    except (ParseError, benchmark.BenchmarkError) as exc:
        raise AnsibleFilterError('vllm_bench_report: %s' % exc)
    report['chart_series'] = benchmark.chart_series(report)
    return report


class FilterModule:
    """ascend.serving evaluation and benchmark filters."""

    def filters(self):
        return {'accuracy_report': accuracy_report, 'vllm_bench_report': vllm_bench_report}
