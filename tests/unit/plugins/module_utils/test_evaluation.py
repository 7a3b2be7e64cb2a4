# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Accuracy parsers and the reference check, on real result files (tests/unit/fixtures/SOURCES-evaluation.md)."""
from __future__ import annotations

import json
import os

import pytest

from ansible_collections.ascend.serving.plugins.module_utils._parse import ParseError
from ansible_collections.ascend.serving.plugins.module_utils.evaluation import (
    EvaluationError, accuracy_report, check_references, parse_aisbench_summary, parse_lm_eval_results)

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures')


def _read(*parts):
    with open(os.path.join(FIXTURES, *parts)) as handle:
        return handle.read()


SIM = json.loads(_read('lm_eval', 'results-lm_eval-0.4.13-sim_arith-local-completions.json'))
GSM8K = {'results': json.loads(_read('lm_eval', 'results-block-gsm8k-deepseek-r1-gaudi-readme.json'))}

# The profile references of the seed (playbooks/vars/profiles/models/deepseek-v3.2-exp-w8a8.yml).
SEED_REFS = {'lm_eval': {'gsm8k': {'metrics': {
    'exact_match,flexible-extract': {'reference': 0.9591, 'tolerance': 0.0165},
    'exact_match,strict-match': {'reference': 0.9583, 'tolerance': 0.0165}}}},
    'aisbench': {'ceval': {'metrics': {'accuracy': {'reference': 92.20, 'tolerance': 1.5}}}}}


def test_lm_eval_real_file_of_lm_eval_0_4_13():
    tasks = parse_lm_eval_results(SIM)
    assert list(tasks) == ['sim_arith']
    task = tasks['sim_arith']
    assert task['metrics'] == {'exact_match,strict-match': 0.8, 'exact_match,flexible-extract': 0.8}
    assert task['stderr'] == {'exact_match,strict-match': 0.13333333333333333,
                              'exact_match,flexible-extract': 0.13333333333333333}
    assert task['n_shot'] == 0 and task['samples'] == 10


def test_lm_eval_gsm8k_block():
    task = parse_lm_eval_results(GSM8K)['gsm8k']
    assert task['metrics'] == {'exact_match,strict-match': 0.96875, 'exact_match,flexible-extract': 0.96875}
    assert task['stderr']['exact_match,flexible-extract'] == 0.021921011700381302
    assert task['n_shot'] is None


@pytest.mark.parametrize('doc,message', [
    ({'config': {}}, 'not an lm_eval results file'),
    ({'results': {}}, 'evaluated no task'),
    ({'results': {'gsm8k': 3}}, 'results.gsm8k is not a mapping'),
    ({'results': {'gsm8k': {'exact_match,strict-match': 'N/A'}}}, 'not a number'),
])
def test_lm_eval_rejects(doc, message):
    with pytest.raises(ParseError, match=message):
        parse_lm_eval_results(doc)


def test_lm_eval_stderr_na_is_kept_as_none():
    tasks = parse_lm_eval_results({'results': {'t': {'acc,none': 0.5, 'acc_stderr,none': 'N/A'}}})
    assert tasks['t']['metrics'] == {'acc,none': 0.5} and tasks['t']['stderr'] == {'acc,none': None}


@pytest.mark.parametrize('name,expected', [
    ('summary-deepseek-v3.2-exp-w8a8-ceval-seed.md',
     [{'dataset': 'cevaldataset', 'version': '-', 'metric': 'accuracy', 'mode': 'gen',
       'model': 'vllm-api-general-chat', 'value': 92.20}]),
    ('summary-qwen3-coder-30b-humaneval-vllm-ascend-doc.md',
     [{'dataset': 'openai_humaneval', 'version': 'f4a973', 'metric': 'humaneval_pass@1', 'mode': 'gen',
       'model': 'vllm-api-general-chat', 'value': 94.51}]),
    ('summary-qwen2.5-gsm8k-demo-vllm-ascend-doc.md',
     [{'dataset': 'gsm8k', 'version': '-', 'metric': 'accuracy', 'mode': 'gen',
       'model': 'vllm-api-general-chat', 'value': 75.00}]),
])
def test_aisbench_tables(name, expected):
    assert parse_aisbench_summary(_read('aisbench', name)) == expected


def test_aisbench_csv_layout():
    # Constructed (no public CSV found): AISBench's summary_<time>.csv has the same columns.
    text = 'dataset,version,metric,mode,vllm-api-general-chat\nceval,a1b2c3,accuracy,gen,91.80\nmmlu,-,accuracy,gen,-\n'
    rows = parse_aisbench_summary(text)
    assert rows[0] == {'dataset': 'ceval', 'version': 'a1b2c3', 'metric': 'accuracy', 'mode': 'gen',
                       'model': 'vllm-api-general-chat', 'value': 91.80}
    assert rows[1]['value'] is None


@pytest.mark.parametrize('text,message', [
    ('', 'empty'),
    ('name,value\nx,1\n', 'header must start with dataset'),
    ('dataset,version,metric,mode,m\nceval,-,accuracy,gen\n', '4 cells where the header has 5'),
    ('dataset,version,metric,mode,m\nceval,-,accuracy,gen,high\n', "value 'high' of dataset ceval"),
])
def test_aisbench_rejects(text, message):
    with pytest.raises(ParseError, match=message):
        parse_aisbench_summary(text)


def test_report_passes_at_reference_and_fails_below():
    refs = {'lm_eval': {'sim_arith': {'metrics': {'exact_match,strict-match': {'reference': 0.8, 'tolerance': 0}}}}}
    report = accuracy_report([SIM], references=refs)
    assert report['passed'] and report['failures'] == []
    rows = dict((r['metric'], r) for r in report['rows'])
    assert rows['exact_match,strict-match']['status'] == 'pass'
    assert rows['exact_match,flexible-extract']['status'] == 'no reference'
    assert 'no reference in the profile' in report['notes'][0]

    refs['lm_eval']['sim_arith']['metrics']['exact_match,strict-match'] = {'reference': 0.9591, 'tolerance': 0.0165}
    report = accuracy_report([SIM], references=refs)
    assert not report['passed']
    assert report['failures'] == ['lm_eval sim_arith exact_match,strict-match = 0.8000 is below the reference '
                                  '0.9591 - tolerance 0.0165 = 0.9426']
    assert '**BELOW**' in report['markdown'] and 'Result: **FAIL**' in report['markdown']


def test_report_seed_references_against_real_gsm8k_and_ceval():
    ceval = _read('aisbench', 'summary-deepseek-v3.2-exp-w8a8-ceval-seed.md').replace('cevaldataset', 'ceval')
    report = accuracy_report([GSM8K], [ceval], references=SEED_REFS, meta={'profile': 'p', 'run': 'r'})
    assert report['passed'], report['failures']
    assert [(r['task'], r['metric'], r['status']) for r in report['rows']] == [
        ('gsm8k', 'exact_match,flexible-extract', 'pass'), ('gsm8k', 'exact_match,strict-match', 'pass'),
        ('ceval', 'accuracy', 'pass')]
    # A tolerance given for the run (evaluate_tolerance) replaces the profile's own.
    report = accuracy_report([GSM8K], references={'lm_eval': {'gsm8k': {'metrics': {
        'exact_match,strict-match': {'reference': 0.99, 'tolerance': 0.05}}}}}, tolerance=0.01)
    assert report['failures'] == ['lm_eval gsm8k exact_match,strict-match = 0.9688 is below the reference '
                                  '0.9900 - tolerance 0.0100 = 0.9800']


def test_report_notes_a_referenced_metric_that_did_not_run():
    refs = {'lm_eval': {'gsm8k': {'metrics': {'exact_match,flexible-extract': {'reference': 0.9, 'tolerance': 0},
                                              'acc,none': {'reference': 0.5}}}}}
    report = accuracy_report([GSM8K], references=refs)
    assert report['passed']
    assert 'lm_eval gsm8k acc,none: referenced by the profile but not evaluated in this run' in report['notes']


@pytest.mark.parametrize('refs,message', [
    ({'helm': {}}, 'evaluation.helm: unknown tool'),
    ({'lm_eval': {'gsm8k': {'metrics': {}}}}, 'evaluation.lm_eval.gsm8k.metrics must map'),
    ({'lm_eval': {'gsm8k': {'metrics': {'acc,none': 0.9}}}}, 'needs a numeric reference'),
    ({'lm_eval': {'gsm8k': {'metrics': {'acc,none': {'reference': 0.9, 'tolerance': -1}}}}}, 'tolerance must be'),
])
def test_bad_references_are_named(refs, message):
    assert any(message in p for p in check_references(refs))
    with pytest.raises(EvaluationError, match=message):
        accuracy_report([GSM8K], references=refs)


def test_no_results_at_all():
    with pytest.raises(EvaluationError, match='wrote no result file'):
        accuracy_report([], [], references=SEED_REFS)


def test_shipped_profile_references_are_the_seed_values():
    import yaml
    path = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'playbooks', 'vars', 'profiles', 'models',
                        'deepseek-v3.2-exp-w8a8.yml')
    with open(path) as handle:
        refs = yaml.safe_load(handle)['evaluation']
    assert check_references(refs) == []
    assert refs['lm_eval']['gsm8k']['metrics'] == SEED_REFS['lm_eval']['gsm8k']['metrics']
    assert refs['lm_eval']['gsm8k']['num_fewshot'] == 5
    assert refs['aisbench'] == SEED_REFS['aisbench']
