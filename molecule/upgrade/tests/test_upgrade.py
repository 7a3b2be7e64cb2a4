"""upgrade.yml, rollback, status.yml and undeploy.yml on two simulated instances of two A3 nodes.

Instance a is node0 + node1, instance b is node2 + node3 (prepare.yml). Converge deployed
vllm-ascend v0.11.0rc0 with the custom operators. The tests run in order: each leaves the
cluster in the state the next one starts from.
"""
import json
import os
import re
import subprocess
import threading
import time
import urllib.request

ROOT = os.environ["ASCEND_ROOT"]
CLUSTER = "mol-upgrade"
INVENTORY = os.path.join(ROOT, ".work", "clusters", CLUSTER, "inventory")
NODES = ("node0", "node1", "node2", "node3")
HEADS = {"a": "node0", "b": "node2"}
V012 = {"vllm_profile": "deepseek-v3.2-exp-bf16-a3-v0.12.0rc1", "vllm_install_method": "image",
        "vllm_artifact_sha256": {}, "vllm_profile_overrides": {}}


def node(name, *cmd, check=True):
    res = subprocess.run(["podman", "exec", "ascsim-%s-%s" % (CLUSTER, name)] + list(cmd),
                         capture_output=True, text=True, check=False)
    if check:
        assert res.returncode == 0, "%s: %s failed: %s%s" % (name, cmd, res.stdout, res.stderr)
    return res


def playbook(name, extra=None, *args):
    argv = ["ansible-playbook", os.path.join(ROOT, "playbooks", name), "-i", INVENTORY] + list(args)
    if extra:
        argv += ["-e", json.dumps(extra)]
    res = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=ROOT)
    res.out = res.stdout + res.stderr
    return res


def recap_changed(output):
    return sum(int(n) for n in re.findall(r"changed=(\d+)", output.split("PLAY RECAP")[-1]))


def state(name):
    return json.loads(node(name, "cat", "/etc/ascend-serving/state.json").stdout)


def main_pid(name):
    return node(name, "systemctl", "show", "-p", "MainPID", "--value", "ascend-vllm.service").stdout.strip()


def mgmt_url(name):
    addr = node(name, "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1").stdout.strip()
    return "http://%s:8000" % addr


def completes(url):
    body = json.dumps({"model": "deepseek_v3.2", "prompt": "The future of AI is", "max_tokens": 5,
                       "temperature": 0}).encode()
    req = urllib.request.Request(url + "/v1/completions", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status == 200 and bool(json.loads(resp.read())["choices"][0]["text"])
    except Exception:  # pylint: disable=broad-except
        return False


class Probe(threading.Thread):
    """Keeps asking both instances for a completion; one sample = (time, {instance: answered})."""

    def __init__(self):
        super().__init__(daemon=True)
        self.urls = {inst: mgmt_url(head) for inst, head in HEADS.items()}
        self.samples = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            answered = {}
            for inst, url in self.urls.items():
                answered[inst] = completes(url)
            self.samples.append((time.time(), answered))
            time.sleep(0.3)


def test_noop_upgrade_changes_nothing():
    res = playbook("upgrade.yml")
    assert res.returncode == 0, res.out[-3000:]
    assert "instance a (node0, node1): up to date, nothing to do" in res.out
    assert "instance b (node2, node3): up to date, nothing to do" in res.out
    assert recap_changed(res.stdout) == 0, res.stdout[-3000:]


def test_check_mode_prints_the_rollout_and_changes_nothing():
    pids = {n: main_pid(n) for n in NODES}
    res = playbook("upgrade.yml", V012, "--check")
    assert res.returncode == 0, res.out[-3000:]
    assert "would upgrade, batch by batch: a, then b" in res.out
    assert "node2: release: v0.11.0rc0 -> v0.12.0rc1" in res.out
    assert recap_changed(res.stdout) == 0
    assert {n: main_pid(n) for n in NODES} == pids
    assert all(state(n)["release"] == "v0.11.0rc0" for n in NODES)


def test_upgrade_to_v0120rc1_one_instance_at_a_time_while_serving():
    pids = {n: main_pid(n) for n in NODES}
    probe = Probe()
    probe.start()
    try:
        res = playbook("upgrade.yml", V012)
    finally:
        probe.stop.set()
        probe.join(30)
    assert res.returncode == 0, res.out[-4000:]
    # The difference was printed per instance before acting.
    assert "node0: release: v0.11.0rc0 -> v0.12.0rc1" in res.out
    assert "node3: install_method: custom_ops -> image" in res.out
    for name in NODES:
        rec = state(name)
        assert (rec["release"], rec["install_method"], rec["runtime"]) == ("v0.12.0rc1", "image", "container")
        assert main_pid(name) != pids[name]  # every node restarted
        env = node(name, "cat", "/etc/ascend-serving/hccl.env").stdout
        assert "LD_PRELOAD" not in env and "OMP_NUM_THREADS=10" in env
        assert "--additional-config" not in node(name, "cat", "/etc/ascend-serving/launch.sh").stdout
        # The previous release's files are kept.
        assert json.loads(node(name, "cat", "/etc/ascend-serving/previous/state.json").stdout)["release"] == "v0.11.0rc0"
    samples = probe.samples
    assert len(samples) > 20, samples
    gaps = [s for s in samples if not any(s[1].values())]
    assert not gaps, "no instance answered at %s" % [time.strftime("%H:%M:%S", time.gmtime(gap[0])) for gap in gaps]
    # Each instance was down at some point (it was restarted), never both at once.
    for inst in HEADS:
        assert any(not sample[1][inst] for sample in samples), "instance %s never went down" % inst
    assert all(sample[1]["a"] and sample[1]["b"] for sample in samples[-2:])


def test_broken_release_is_rolled_back_and_stops_the_rollout():
    pids_b = (main_pid("node2"), main_pid("node3"))
    broken = dict(V012, vllm_max_num_seqs=8, vllm_env={"ASCEND_SIM_FAIL_AT": "startup"})
    res = playbook("upgrade.yml", broken)
    assert res.returncode != 0
    assert "instance a: the upgrade to v0.12.0rc1" in res.out
    assert "it was rolled back to v0.12.0rc1" in res.out and "which answers again" in res.out, res.out[-4000:]
    assert "simulated crash" in res.out  # the journal excerpt says why
    # Instance a serves the recorded release again; instance b was never touched.
    for name in ("node0", "node1"):
        rec = state(name)
        assert rec["release"] == "v0.12.0rc1" and "--max-num-seqs 8" not in node(name, "cat", "/etc/ascend-serving/launch.sh").stdout
    assert completes(mgmt_url("node0"))
    # The failed upgrade did not replace the files kept from the last successful one.
    for name in ("node0", "node1"):
        kept = json.loads(node(name, "cat", "/etc/ascend-serving/previous/state.json").stdout)
        assert kept["release"] == "v0.11.0rc0"
        assert node(name, "test", "!", "-e", "/etc/ascend-serving/previous.pending").returncode == 0
    assert (main_pid("node2"), main_pid("node3")) == pids_b
    assert completes(mgmt_url("node2"))


def test_operator_rolls_instance_b_back_by_hand():
    pids_a = (main_pid("node0"), main_pid("node1"))
    res = playbook("rollback.yml", {"upgrade_instances": ["b"]})
    assert res.returncode == 0, res.out[-4000:]
    for name in ("node2", "node3"):
        rec = state(name)
        assert (rec["release"], rec["install_method"]) == ("v0.11.0rc0", "custom_ops")
    assert completes(mgmt_url("node2"))
    assert (main_pid("node0"), main_pid("node1")) == pids_a and state("node0")["release"] == "v0.12.0rc1"


SLOW_START = "/etc/systemd/system/ascend-vllm.service.d/zz-test-slow-start.conf"


def kept_release(name, where):
    return json.loads(node(name, "cat", "/etc/ascend-serving/%s/state.json" % where).stdout)["release"]


def test_upgrade_interrupted_in_its_health_wait_is_not_up_to_date_and_is_repaired():
    # Instance a runs v0.12.0rc1 (previous/ keeps v0.11.0rc0), b v0.11.0rc0. Upgrade a to the
    # inventory's v0.11.0rc0 while node0's vLLM loads its weights for 120 s (a systemd drop-in: not
    # part of the inventory, so not of the desired state) and the health wait is 4 s without
    # rollback: the run dies in the health wait, after the switch.
    node("node0", "sh", "-c", "mkdir -p %s && printf '[Service]\nEnvironment=ASCEND_SIM_STARTUP_DELAY_S=120\n' > %s"
         " && systemctl daemon-reload" % (os.path.dirname(SLOW_START), SLOW_START))
    try:
        res = playbook("upgrade.yml", {"upgrade_instances": ["a"], "upgrade_rollback": False,
                                       "vllm_service_health_timeout": 4, "vllm_service_health_progress": 4})
    finally:
        node("node0", "sh", "-c", "rm -f %s && { rmdir %s 2>/dev/null || true; } && systemctl daemon-reload"
             % (SLOW_START, os.path.dirname(SLOW_START)))
    assert res.returncode != 0
    assert "did not answer 200 within 4s" in res.out and "left as it is for inspection" in res.out, res.out[-4000:]
    for name in ("node0", "node1"):
        rec = state(name)
        # Switched, but marked as not proven; what ran before is kept, so is the release before it.
        assert rec["release"] == "v0.11.0rc0" and rec["pending"] is True, rec
        assert rec["replaces"]["release"] == "v0.12.0rc1"
        assert kept_release(name, "previous.pending") == "v0.12.0rc1"
        assert kept_release(name, "previous") == "v0.11.0rc0"
    # A different upgrade on top of the unfinished one is refused before anything changes.
    pids = {n: main_pid(n) for n in NODES}
    refused = playbook("upgrade.yml", V012)
    assert refused.returncode != 0
    assert "node0: /etc/ascend-serving/previous.pending holds v0.12.0rc1" in refused.out, refused.out[-4000:]
    assert "playbooks/rollback.yml" in refused.out and "playbooks/deploy.yml" in refused.out
    assert {n: main_pid(n) for n in NODES} == pids
    assert state("node0")["pending"] is True and kept_release("node0", "previous.pending") == "v0.12.0rc1"
    # The same inventory again: not "up to date" - the pending switch (and a unit that is not
    # running) are differences; the upgrade is finished and committed.
    node("node1", "systemctl", "stop", "ascend-vllm.service")
    res = playbook("upgrade.yml")
    assert res.returncode == 0, res.out[-4000:]
    assert "instance a (node0, node1): up to date" not in res.out
    assert "node0: pending: switched to v0.11.0rc0" in res.out, res.out[-4000:]
    assert "node1: unit: inactive/dead -> active" in res.out
    assert "instance b (node2, node3): up to date, nothing to do" in res.out
    for name in ("node0", "node1"):
        rec = state(name)
        assert rec["release"] == "v0.11.0rc0" and "pending" not in rec and "replaces" not in rec
        assert node(name, "test", "!", "-e", "/etc/ascend-serving/previous.pending").returncode == 0
        assert kept_release(name, "previous") == "v0.12.0rc1"
        assert node(name, "systemctl", "is-active", "ascend-vllm.service", check=False).stdout.strip() == "active"
    assert completes(mgmt_url("node0"))


def test_back_to_v0110rc0_with_the_custom_operators():
    # Instance a came back to v0.11.0rc0 (custom operators) when the interrupted upgrade above was
    # finished; instance b was rolled back by hand to exactly what the inventory says.
    res = playbook("upgrade.yml")
    assert res.returncode == 0, res.out[-4000:]
    assert "instance b (node2, node3): up to date, nothing to do" in res.out
    for name in NODES:
        rec = state(name)
        assert (rec["release"], rec["install_method"], rec["runtime"]) == ("v0.11.0rc0", "custom_ops", "host")
        assert "export LD_PRELOAD=" in node(name, "cat", "/etc/ascend-serving/hccl.env").stdout
    assert completes(mgmt_url("node0")) and completes(mgmt_url("node2"))
    again = playbook("upgrade.yml")
    assert again.returncode == 0 and recap_changed(again.stdout) == 0, again.stdout[-3000:]


def test_status_per_instance_and_node(tmp_path):
    out = tmp_path / "status.json"
    res = playbook("status.yml", {"vllm_service_status_json": str(out)})
    assert res.returncode == 0, res.out[-3000:]
    records = json.loads(out.read_text())
    assert sorted(records) == list(NODES)
    for name in NODES:
        rec = records[name]
        assert rec["release"] == "v0.11.0rc0" and rec["unit"] == "active/running" and rec["uptime_s"] >= 0
        assert rec["instance"] == ("a" if name in ("node0", "node1") else "b")
    assert records["node0"]["role"] == "node0" and records["node1"]["role"] == "headless"
    assert records["node2"]["health"] == "ok" and records["node2"]["served_models"] == ["deepseek_v3.2"]
    assert records["node3"]["dp_ranks"] == [1]
    assert "instance b: node2 at http://" in res.out


def test_undeploy_leaves_no_unit_and_keeps_weights_and_operators():
    res = playbook("undeploy.yml")
    assert res.returncode == 0, res.out[-3000:]
    for name in NODES:
        assert node(name, "systemctl", "is-active", "ascend-vllm.service", check=False).stdout.strip() in ("inactive", "unknown")
        assert node(name, "test", "!", "-e", "/etc/systemd/system/ascend-vllm.service").returncode == 0
        assert node(name, "test", "!", "-e", "/etc/ascend-serving").returncode == 0
        assert node(name, "test", "-d", "/root/.cache/Modelers_Park/DeepSeek-V3.2-Exp").returncode == 0
        assert node(name, "test", "-d", "/vllm-workspace/CANN").returncode == 0
        assert node(name, "sh", "-c", "pgrep -f '[v]llm serve' || true").stdout.strip() == ""
    again = playbook("undeploy.yml")
    assert again.returncode == 0 and recap_changed(again.stdout) == 0, again.stdout[-3000:]


STAMPS = ("import glob, json; print(json.dumps([json.load(open(p)) "
          "for p in sorted(glob.glob('/opt/ascend-serving/ops/*.json'))]))")


def sha256(name, path):
    return node(name, "sha256sum", path).stdout.split()[0]


def test_undeploy_purge_restores_cann_and_removes_the_operators():
    # After the plain undeploy above: the operators' stamps, backups and MLAPO install are still there.
    before = {}
    for name in NODES:
        stamps = json.loads(node(name, "python3", "-c", STAMPS).stdout)
        backups = dict(item for stamp in stamps for item in (stamp.get("backups") or {}).items())
        mlapo = sorted({stamp["mlapo_install_path"] for stamp in stamps if stamp.get("mlapo_install_path")})
        assert backups and mlapo, (name, stamps)
        originals = dict((dest, sha256(name, backup)) for dest, backup in backups.items())
        # The custom operators replaced each of these files: the purge has something to restore.
        assert all(sha256(name, dest) != original for dest, original in originals.items()), originals
        assert all(node(name, "test", "-d", path).returncode == 0 for path in mlapo)
        before[name] = (originals, mlapo)
    res = playbook("undeploy.yml", {"undeploy_purge": True})
    assert res.returncode == 0, res.out[-3000:]
    for name, (originals, mlapo) in before.items():
        assert dict((dest, sha256(name, dest)) for dest in originals) == originals
        assert all(node(name, "test", "!", "-e", path).returncode == 0 for path in mlapo)
        assert node(name, "test", "!", "-e", "/opt/ascend-serving").returncode == 0
        # The plain undeploy removed state.json, which named the weights: a later purge keeps them.
        assert node(name, "test", "-d", "/root/.cache/Modelers_Park/DeepSeek-V3.2-Exp").returncode == 0
    again = playbook("undeploy.yml", {"undeploy_purge": True})
    assert again.returncode == 0 and recap_changed(again.stdout) == 0, again.stdout[-3000:]
