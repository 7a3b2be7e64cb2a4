"""benchmark.yml and evaluate.yml on the deployed single-node cluster: real ansible-playbook runs over
SSH, the fake vLLM measured by its `vllm bench serve` (in the vllm-ascend container: docker exec) and
graded by the real lm_eval (PyPI lm-eval 0.4.13, offline, local-completions) on a local
gsm8k-shaped task the fake answers 8/10 of. Passing and failing cases."""
import glob
import json
import os
import subprocess

import pytest

ROOT = os.environ["ASCEND_ROOT"]
CLUSTER = "mol-evaluate"
INVENTORY = os.path.join(ROOT, ".work", "clusters", CLUSTER, "inventory")
TASKS = os.path.join(ROOT, "molecule", "evaluate", "files", "lm_eval_tasks")
# The real lm_eval, installed by the role on the controller when missing (kept between runs).
LM_EVAL_VENV = os.path.join(ROOT, ".work", "venvs", "lm-eval-0.4.13")
# Small enough for the simulated cluster; everything else is the seed's command.
FAST_BENCH = {"benchmark_num_prompts": 20, "benchmark_request_rate": 20, "benchmark_random_output_len": 16}


def play(name, extra_vars):
    res = subprocess.run(["ansible-playbook", os.path.join(ROOT, "playbooks", name), "-i", INVENTORY,
                          "-e", json.dumps(extra_vars)], capture_output=True, text=True, check=False, cwd=ROOT)
    res.out = res.stdout + res.stderr
    return res


def run_dir(root, kind):
    dirs = sorted(glob.glob(os.path.join(str(root), "%s-*" % kind)))
    assert len(dirs) == 1, dirs
    return dirs[0]


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    res = play("benchmark.yml", dict(FAST_BENCH, benchmark_report_root=str(root)))
    assert res.returncode == 0, res.out
    return res, run_dir(root, "benchmark")


def test_benchmark_runs_the_seed_command_in_the_container(bench):
    res, out = bench
    assert "docker exec -e OPENAI_API_KEY vllm-ascend vllm bench serve --backend vllm" in res.out
    assert "--model vllm-ascend/DeepSeek-V3.2-Exp-W8A8 --served-model-name deepseek_v3.2" in res.out
    assert "--dataset-name random --random-input-len 200" in res.out
    result = json.load(open(os.path.join(out, "node0-vllm-bench-serve.json")))
    assert result["num_prompts"] == 20 and result["request_rate"] == 20.0 and result["completed"] == 20
    assert result["total_input_tokens"] == 20 * 200 and result["model_id"] == "vllm-ascend/DeepSeek-V3.2-Exp-W8A8"


def test_benchmark_report_summary_and_chart(bench):
    res, out = bench
    assert sorted(os.listdir(out)) == ["node0-latency.png", "node0-report.json", "node0-summary.md",
                                       "node0-vllm-bench-serve.json"]
    report = json.load(open(os.path.join(out, "node0-report.json")))
    result = json.load(open(os.path.join(out, "node0-vllm-bench-serve.json")))
    assert report["passed"] and report["summary"]["completed"] == 20
    assert report["latency"]["ttft"]["p99"] == result["p99_ttft_ms"]
    assert report["latency"]["tpot"]["median"] == result["median_tpot_ms"]
    summary = open(os.path.join(out, "node0-summary.md")).read()
    assert "| output token throughput (tok/s) | %.2f |" % result["output_throughput"] in summary
    assert "![latency percentiles](node0-latency.png)" in summary and "Result: **PASS**" in summary
    with open(os.path.join(out, "node0-latency.png"), "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    assert "| TTFT |" in res.out  # the summary is printed


def _scaled(result, throughput, latency):
    out = dict(result)
    for key, value in result.items():
        if key.endswith("_throughput"):
            out[key] = value * throughput
        elif key.endswith("_ms") and isinstance(value, float):
            out[key] = value * latency
    return out


def test_benchmark_fails_on_a_regression_against_the_baseline(bench, tmp_path):
    result = json.load(open(os.path.join(bench[1], "node0-vllm-bench-serve.json")))
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(_scaled(result, throughput=3.0, latency=1.0)))
    res = play("benchmark.yml", dict(FAST_BENCH, benchmark_report_root=str(tmp_path / "r"),
                                     benchmark_baseline=str(baseline)))
    assert res.returncode != 0, res.out
    assert "node0: regression against the baseline %s" % baseline in res.out
    assert "output_throughput: throughput fell (baseline" in res.out
    report = json.load(open(os.path.join(run_dir(tmp_path / "r", "benchmark"), "node0-report.json")))
    assert not report["passed"]
    assert {r["metric"]: r["status"] for r in report["comparison"]}["request_throughput"] == "regression"


def test_benchmark_passes_against_a_worse_baseline_report(bench, tmp_path):
    report = json.load(open(os.path.join(bench[1], "node0-report.json")))
    worse = dict(report, summary=_scaled(report["summary"], 0.5, 1.0),
                 latency={m: {s: v * 3 for s, v in stats.items()} for m, stats in report["latency"].items()})
    baseline = tmp_path / "node0-report.json"
    baseline.write_text(json.dumps(worse))
    res = play("benchmark.yml", dict(FAST_BENCH, benchmark_report_root=str(tmp_path / "r"),
                                     benchmark_baseline=str(baseline), benchmark_chart=False))
    assert res.returncode == 0, res.out
    summary = open(os.path.join(run_dir(tmp_path / "r", "benchmark"), "node0-summary.md")).read()
    assert "## Against the baseline" in summary and "REGRESSION" not in summary


def test_benchmark_missing_baseline_is_named(tmp_path):
    res = play("benchmark.yml", dict(FAST_BENCH, benchmark_report_root=str(tmp_path),
                                     benchmark_baseline=str(tmp_path / "nope.json")))
    assert res.returncode != 0 and "benchmark_baseline %s does not exist on the controller" % (tmp_path / "nope.json") in res.out


SIM_REFS = {"lm_eval": {"sim_arith": {"metrics": {
    "exact_match,strict-match": {"reference": 0.8, "tolerance": 0.0},
    "exact_match,flexible-extract": {"reference": 0.8, "tolerance": 0.0}}}}}


def evaluate(tmp_path, **extra):
    return play("evaluate.yml", dict({
        "evaluate_host": "controller", "evaluate_report_root": str(tmp_path),
        "evaluate_workdir": str(tmp_path / "work"), "evaluate_lm_eval_venv": LM_EVAL_VENV,
        "evaluate_lm_eval_packages": ["lm-eval[api]==0.4.13"], "evaluate_lm_eval_tasks": ["sim_arith"],
        "evaluate_lm_eval_include_path": TASKS, "evaluate_lm_eval_tokenizer_backend": "none",
        "evaluate_lm_eval_num_concurrent": 4,
        "evaluate_lm_eval_env": {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}}, **extra))


def test_evaluate_real_lm_eval_meets_the_reference(tmp_path):
    res = evaluate(tmp_path, evaluate_references=SIM_REFS)
    assert res.returncode == 0, res.out
    out = run_dir(tmp_path, "evaluate")
    assert sorted(os.listdir(out)) == ["node0-lm_eval-results.json", "node0-report.json", "node0-summary.md"]
    raw = json.load(open(os.path.join(out, "node0-lm_eval-results.json")))
    assert raw["lm_eval_version"] == "0.4.13" and raw["config"]["model"] == "local-completions"
    assert raw["results"]["sim_arith"]["exact_match,strict-match"] == 0.8
    report = json.load(open(os.path.join(out, "node0-report.json")))
    assert report["passed"] and [r["status"] for r in report["rows"]] == ["pass", "pass"]
    assert "|sim_arith|      1|flexible-extract|     0|exact_match|" in res.out  # lm_eval's own table
    assert "| lm_eval | sim_arith | exact_match,strict-match | 0 | 0.8000 | 0.1333 | 0.8000 |" in res.out


def test_evaluate_fails_below_the_seed_reference(tmp_path):
    refs = {"lm_eval": {"sim_arith": {"metrics": {
        "exact_match,flexible-extract": {"reference": 0.9591, "tolerance": 0.0165}}}}}
    res = evaluate(tmp_path, evaluate_references=refs)
    assert res.returncode != 0, res.out
    assert "node0: accuracy below the profile's reference (deepseek-v3.2-exp-w8a8-a3-v0.11.0rc0)" in res.out
    assert ("lm_eval sim_arith exact_match,flexible-extract = 0.8000 is below the reference 0.9591 - "
            "tolerance 0.0165 = 0.9426") in res.out
    summary = open(os.path.join(run_dir(tmp_path, "evaluate"), "node0-summary.md")).read()
    assert "**BELOW**" in summary and "Result: **FAIL**" in summary


def test_evaluate_aisbench_missing_is_named(tmp_path):
    res = evaluate(tmp_path, evaluate_tools=["aisbench"], evaluate_host="node0")
    assert res.returncode != 0
    assert "ais_bench not found on the node0 (node0): install AISBench there" in res.out
