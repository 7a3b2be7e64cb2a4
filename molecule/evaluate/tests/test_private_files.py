"""benchmark.yml and evaluate.yml with an API key from an Ansible Vault file, against the instance
redeployed with that key: the key reaches the tools (their environment) but no command line of
the controller or of node0 (watched while the play runs) and not the -vvv output; the key file and
the results live in private directories (0700, key file 0600) removed after the run; an operator
workdir that is a symbolic link or someone else's is refused before anything runs.

Runs after test_evaluate.py (file order), which installs the real lm_eval into LM_EVAL_VENV."""
import glob
import hashlib
import json
import os
import subprocess

import pytest

ROOT = os.environ["ASCEND_ROOT"]
CLUSTER = "mol-evaluate"
INVENTORY = os.path.join(ROOT, ".work", "clusters", CLUSTER, "inventory")
TASKS = os.path.join(ROOT, "molecule", "evaluate", "files", "lm_eval_tasks")
LM_EVAL_VENV = os.path.join(ROOT, ".work", "venvs", "lm-eval-0.4.13")
# 20 prompts at 5/s: a few seconds in which the watches see the benchmark's processes.
BENCH = {"benchmark_num_prompts": 20, "benchmark_request_rate": 5, "benchmark_random_output_len": 16,
         "benchmark_chart": False}
SIM_REFS = {"lm_eval": {"sim_arith": {"metrics": {
    "exact_match,strict-match": {"reference": 0.8, "tolerance": 0.0}}}}}

# Scans every process's command line every 50 ms until the stop file exists; stats every path
# under the private directories (<tmp>/ascend-serving-*) it sees. Prints JSON at the end.
WATCH = r"""
import glob, json, os, sys, time
stop, seen, stats = sys.argv[1], set(), {}
tmp = os.environ.get('TMPDIR') or '/tmp'
def lstat(path):
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return {'mode': '%o' % (st.st_mode & 0o7777), 'uid': st.st_uid, 'link': os.path.islink(path),
            'dir': os.path.isdir(path) and not os.path.islink(path)}
deadline = time.time() + 900
while not os.path.exists(stop) and time.time() < deadline:
    for pid in os.listdir('/proc'):
        if pid.isdigit():
            try:
                with open('/proc/%s/cmdline' % pid, 'rb') as handle:
                    seen.add(handle.read().replace(b'\0', b' ').decode('utf-8', 'replace').strip())
            except OSError:
                pass
    for top in set(glob.glob('/tmp/ascend-serving-*') + glob.glob(os.path.join(tmp, 'ascend-serving-*'))):
        for base, dirs, files in os.walk(top):
            for path in [base] + [os.path.join(base, n) for n in dirs + files]:
                got = lstat(path)
                if got is not None:
                    stats[path] = got
    time.sleep(0.05)
print(json.dumps({'cmdlines': sorted(seen), 'stats': stats}))
"""


class Watch:
    """WATCH on node0 (podman exec) or on the controller while a play runs."""

    def __init__(self, where):
        self.where = where
        self.stop = "/tmp/ascend-watch-%d-%s.stop" % (os.getpid(), where)
        self.run(["rm", "-f", self.stop])
        self.proc = subprocess.Popen(self.prefix() + ["python3", "-c", WATCH, self.stop],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def prefix(self):
        return [] if self.where == "controller" else ["podman", "exec", "ascsim-%s-%s" % (CLUSTER, self.where)]

    def run(self, argv):
        res = subprocess.run(self.prefix() + argv, capture_output=True, text=True, check=False)
        assert res.returncode == 0, "%s: %s: %s%s" % (self.where, argv, res.stdout, res.stderr)
        return res.stdout

    def finish(self):
        self.run(["touch", self.stop])
        out, err = self.proc.communicate(timeout=120)
        self.run(["rm", "-f", self.stop])
        assert self.proc.returncode == 0, err
        return json.loads(out)


def node(*cmd):
    res = subprocess.run(["podman", "exec", "ascsim-%s-node0" % CLUSTER] + list(cmd),
                         capture_output=True, text=True, check=False)
    res.out = res.stdout + res.stderr
    return res


def play(name, *extra):
    res = subprocess.run(["ansible-playbook", os.path.join(ROOT, "playbooks", name), "-i", INVENTORY] + list(extra),
                         capture_output=True, text=True, check=False, cwd=ROOT)
    res.out = res.stdout + res.stderr
    return res


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def vault(tmp_path_factory):
    """The instance redeployed with an API key from a vault file; the options that hand it over."""
    tmp = tmp_path_factory.mktemp("vault")
    key = "sk-ascend-" + os.urandom(12).hex()
    password = tmp / "vault-pass"
    password.write_text("molecule-vault-password\n")
    secrets = tmp / "secrets.yml"
    secrets.write_text("vllm_service_api_key: %s\n" % key)
    subprocess.run(["ansible-vault", "encrypt", "--vault-password-file", str(password), str(secrets)],
                   check=True, capture_output=True, cwd=ROOT)
    assert key not in secrets.read_text()
    args = ["-e", "@%s" % secrets, "--vault-password-file", str(password)]
    res = play("deploy.yml", *args)
    assert res.returncode == 0, res.out[-3000:]
    return key, args


def private_dirs(stats, prefix):
    return sorted(p for p, s in stats.items() if os.path.basename(p).startswith(prefix) and s["dir"])


def test_benchmark_hands_the_key_over_privately(vault, tmp_path):
    key, args = vault
    # The tool records a digest of the key it got, then runs the real (fake) vllm in the container.
    record = "/tmp/bench-key-%d.sha256" % os.getpid()
    command = ["sh", "-c", 'printf %s "$OPENAI_API_KEY" | sha256sum > "$0"; exec vllm "$@"', record]
    node("rm", "-f", record)
    watches = [Watch("node0"), Watch("controller")]
    res = play("benchmark.yml", "-vvv", *args, "-e", json.dumps(dict(
        BENCH, benchmark_report_root=str(tmp_path), benchmark_vllm_command=command)))
    node0, controller = [w.finish() for w in watches]
    assert res.returncode == 0, res.out[-5000:]
    assert node("cat", record).stdout.split()[0] == sha256(key)  # the key reached vllm bench serve
    assert key not in res.out  # not in -vvv
    bench = [c for c in node0["cmdlines"] if "vllm bench serve" in c]
    assert bench, "the watch never saw vllm bench serve on node0"
    for where, seen in (("node0", node0), ("controller", controller)):
        assert not [c for c in seen["cmdlines"] if key in c], "the key is in a command line on the %s" % where
    # The private directories: the key file's (tempfile) and the container's result dir (mktemp).
    stats = node0["stats"]
    keydirs = private_dirs(stats, "ascend-serving-benchmark.")
    keyfiles = [p for p in stats if p.endswith("/api-key.env")]
    assert len(keyfiles) == 1 and stats[keyfiles[0]]["mode"] == "600", stats
    assert os.path.dirname(keyfiles[0]) in keydirs
    assert len(keydirs) == 2 and all(stats[d]["mode"] == "700" and stats[d]["uid"] == 0 for d in keydirs), stats
    result_dir = [d for d in keydirs if os.path.dirname(keyfiles[0]) != d][0]
    assert "--result-dir %s " % result_dir in bench[0]
    assert stats[result_dir + "/node0.json"]["mode"] in ("600", "644")  # inside the 0700 directory
    # Everything removed after the run; nothing in the old predictable place.
    for path in keydirs:
        assert node("test", "!", "-e", path).returncode == 0, "%s is left on node0" % path
    assert node("test", "!", "-e", "/var/tmp/ascend-serving").returncode == 0
    node("rm", "-f", record)


def test_benchmark_operator_workdir_is_private_and_kept(vault, tmp_path):
    key, args = vault
    workdir = "/srv/bench-%d" % os.getpid()
    res = play("benchmark.yml", *args, "-e", json.dumps(dict(BENCH, benchmark_report_root=str(tmp_path),
                                                             benchmark_workdir=workdir)))
    assert res.returncode == 0, res.out[-3000:]
    assert node("stat", "-c", "%a %U", workdir).stdout.split() == ["700", "root"]
    runs = node("sh", "-c", 'ls "$1"/*/node0.json', "sh", workdir).stdout.split()
    assert len(runs) == 1 and node("stat", "-c", "%a", os.path.dirname(runs[0])).stdout.strip() == "700"
    node("rm", "-rf", workdir)


@pytest.mark.parametrize("case", ["symlink", "foreign"])
def test_benchmark_operator_workdir_refused(vault, tmp_path, case):
    key, args = vault
    workdir = "/srv/bench-%s-%d" % (case, os.getpid())
    if case == "symlink":
        assert node("ln", "-s", "/etc", workdir).returncode == 0
        why = "%s is a symbolic link: refusing to write through it" % workdir
    else:
        assert node("sh", "-c", 'mkdir -p "$1" && chown nobody "$1"', "sh", workdir).returncode == 0
        why = "%s is owned by uid %s, not by uid 0 that runs the benchmark" % (
            workdir, node("id", "-u", "nobody").stdout.strip())
    try:
        res = play("benchmark.yml", *args, "-e", json.dumps(dict(BENCH, benchmark_report_root=str(tmp_path),
                                                                 benchmark_workdir=workdir)))
        assert res.returncode != 0
        assert ("node0: benchmark_workdir %s on the node0 (in the vllm-ascend container) cannot be used: %s"
                % (workdir, why)) in res.out, res.out[-3000:]
        assert "Run vllm bench serve on the node0" not in res.out  # refused before the run
        assert not glob.glob(str(tmp_path / "*" / "*.json"))  # no report either
        assert node("sh", "-c", "ls -d /etc/20* 2>/dev/null || true").stdout.strip() == ""  # nothing written through
    finally:
        node("rm", "-rf", workdir)


def fake_venv(tmp_path, record):
    """A venv whose bin/lm_eval records a digest of the key it got, then runs the real lm_eval."""
    assert os.path.exists(os.path.join(LM_EVAL_VENV, "bin", "lm_eval")), "test_evaluate.py installs lm_eval first"
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    wrapper = venv / "bin" / "lm_eval"
    wrapper.write_text('#!/bin/sh\nprintf %%s "$OPENAI_API_KEY" | sha256sum > %s\nexec %s/bin/lm_eval "$@"\n'
                       % (record, LM_EVAL_VENV))
    wrapper.chmod(0o755)
    return str(venv)


def evaluate(tmp_path, args, *extra, **variables):
    return play("evaluate.yml", *(list(args) + list(extra) + ["-e", json.dumps(dict({
        "evaluate_host": "controller", "evaluate_report_root": str(tmp_path / "reports"),
        "evaluate_lm_eval_packages": ["lm-eval[api]==0.4.13"], "evaluate_lm_eval_tasks": ["sim_arith"],
        "evaluate_lm_eval_include_path": TASKS, "evaluate_lm_eval_tokenizer_backend": "none",
        "evaluate_lm_eval_num_concurrent": 4, "evaluate_references": SIM_REFS,
        "evaluate_lm_eval_env": {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}}, **variables))]))


def test_evaluate_hands_the_key_over_privately(vault, tmp_path):
    key, args = vault
    record = tmp_path / "key.sha256"
    watch = Watch("controller")
    res = evaluate(tmp_path, args, "-vvv", evaluate_lm_eval_venv=fake_venv(tmp_path, record))
    seen = watch.finish()
    assert res.returncode == 0, res.out[-5000:]
    assert record.read_text().split()[0] == sha256(key)  # the key reached lm_eval
    assert key not in res.out
    assert not [c for c in seen["cmdlines"] if key in c], "the key is in a command line on the controller"
    lm_eval = [c for c in seen["cmdlines"] if "--model local-completions" in c]
    assert lm_eval, "the watch never saw lm_eval"
    stats = seen["stats"]
    private = private_dirs(stats, "ascend-serving-evaluate.")
    assert len(private) == 1 and stats[private[0]]["mode"] == "700", stats
    assert stats[private[0] + "/api-key.env"]["mode"] == "600"
    assert "--output_path %s/lm_eval/node0" % private[0] in lm_eval[0]
    assert not os.path.exists(private[0])  # removed after the run
    report = json.load(open(glob.glob(str(tmp_path / "reports" / "evaluate-*" / "node0-report.json"))[0]))
    assert report["passed"]


def test_evaluate_operator_workdir_refused_and_key_never_in_the_env(vault, tmp_path):
    key, args = vault
    link = tmp_path / "link"
    link.symlink_to("/etc")
    res = evaluate(tmp_path, args, evaluate_workdir=str(link), evaluate_lm_eval_venv=str(tmp_path / "none"))
    assert res.returncode != 0
    assert ("node0: evaluate_workdir %s on the controller (localhost) cannot be used: %s is a symbolic link: "
            "refusing to write through it" % (link, link)) in res.out, res.out[-3000:]
    assert not (tmp_path / "none").exists()  # refused before lm_eval is installed
    res = evaluate(tmp_path, args, evaluate_lm_eval_env={"OPENAI_API_KEY": "x"},
                   evaluate_lm_eval_venv=str(tmp_path / "none"))
    assert res.returncode != 0
    assert "node0: evaluate_lm_eval_env sets OPENAI_API_KEY" in res.out, res.out[-3000:]
