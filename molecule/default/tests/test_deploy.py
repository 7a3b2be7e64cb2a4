"""deploy.yml on the simulated A3 2-node cluster (custom-ops path), after molecule's converge.

The deployed cluster is checked as an operator would (the seed's curl, the units, the files), then
each fault case runs the collection's real playbook over SSH and checks how it fails; every case
leaves the cluster as it found it, and the last test proves a plain deploy is a no-op again.
"""
import json
import os
import re
import subprocess
import urllib.error
import urllib.request

import pytest

ROOT = os.environ["ASCEND_ROOT"]
CLUSTER = "mol-default"
INVENTORY = os.path.join(ROOT, ".work", "clusters", CLUSTER, "inventory")


def node(name, *cmd, check=True):
    res = subprocess.run(["podman", "exec", "ascsim-%s-%s" % (CLUSTER, name)] + list(cmd),
                         capture_output=True, text=True, check=False)
    if check:
        assert res.returncode == 0, "%s: %s failed: %s%s" % (name, cmd, res.stdout, res.stderr)
    return res


def deploy(*extra):
    """Run deploy.yml; ``.out`` is stdout and stderr together (ansible-core 2.19 prints errors on stderr)."""
    res = subprocess.run(["ansible-playbook", os.path.join(ROOT, "playbooks", "deploy.yml"), "-i", INVENTORY]
                         + list(extra), capture_output=True, text=True, check=False, cwd=ROOT)
    res.out = res.stdout + res.stderr
    return res


def recap_changed(output):
    return sum(int(n) for n in re.findall(r"changed=(\d+)", output.split("PLAY RECAP")[-1]))


def main_pid(name):
    return node(name, "systemctl", "show", "-p", "MainPID", "--value", "ascend-vllm.service").stdout.strip()


def http(url, body=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, json.loads(resp.read() or b"null")


def test_seed_completion_request_from_the_controller():
    # node0 serves on 0.0.0.0: the management address is reachable from the controller.
    mgmt = "http://%s:8000" % node("node0", "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1").stdout.strip()
    status, models = http(mgmt + "/v1/models")
    assert status == 200 and [m["id"] for m in models["data"]] == ["deepseek_v3.2"]
    status, out = http(mgmt + "/v1/completions", {"model": "deepseek_v3.2", "prompt": "The future of AI is",
                                                  "max_tokens": 50, "temperature": 0})
    assert status == 200 and out["choices"][0]["text"].strip()
    assert out["usage"]["completion_tokens"] <= 50


@pytest.mark.parametrize("name", ["node0", "node1"])
def test_units_and_files(name):
    assert node(name, "systemctl", "is-active", "ascend-vllm.service").stdout.strip() == "active"
    assert node(name, "systemctl", "is-enabled", "ascend-vllm.service").stdout.strip() == "enabled"
    for path, mode in (("/etc/ascend-serving", "700"), ("/etc/ascend-serving/hccl.env", "600"),
                       ("/etc/ascend-serving/launch.sh", "700"), ("/etc/ascend-serving/state.json", "600")):
        assert node(name, "stat", "-c", "%a %U", path).stdout.split() == [mode, "root"], path
    env = node(name, "cat", "/etc/ascend-serving/hccl.env").stdout
    assert "export LD_PRELOAD=" in env and "libcust_opsproto_rt2.0.so" in env
    assert re.search(r"^export HCCL_SOCKET_IFNAME=eth1$", env, re.M)
    # LD_PRELOAD never system-wide (it breaks apt and other programs).
    leaked = node(name, "sh", "-c", "grep -rl LD_PRELOAD /etc/profile /etc/profile.d /etc/environment /etc/bash.bashrc "
                  "2>/dev/null || true").stdout.strip()
    assert leaked == ""
    state = json.loads(node(name, "cat", "/etc/ascend-serving/state.json").stdout)
    assert state["release"] == "v0.11.0rc0" and state["install_method"] == "custom_ops"
    assert state["dp_ranks"] == ([0] if name == "node0" else [1])


def test_headless_registered_its_rank():
    journal = node("node1", "journalctl", "-u", "ascend-vllm", "--no-pager", "-o", "cat").stdout
    assert "Registered ranks [1]" in journal


def test_wrong_start_rank_is_refused_before_anything_changes():
    pids = (main_pid("node0"), main_pid("node1"))
    res = deploy("-e", "vllm_dp_start_rank=5")
    assert res.returncode != 0
    assert "vllm_dp_start_rank" in res.out
    assert (main_pid("node0"), main_pid("node1")) == pids


def test_bad_checksum_fails_with_both_digests_and_changes_nothing(tmp_path):
    sums = json.loads(subprocess.run(["ansible-inventory", "-i", INVENTORY, "--host", "node0"],
                                     capture_output=True, text=True, check=True).stdout)["sim_artifact_sha256"]
    bad = dict(sums, sfa="0" * 64)
    before = node("node1", "sh", "-c", "ls -la --time-style=+%s /vllm-workspace/CANN /opt/ascend-serving 2>&1").stdout
    pids = (main_pid("node0"), main_pid("node1"))
    res = deploy("-e", json.dumps({"vllm_artifact_sha256": bad}))
    assert res.returncode != 0
    assert "0" * 64 in res.out and sums["sfa"] in res.out, res.out[-3000:]
    assert node("node1", "sh", "-c", "ls -la --time-style=+%s /vllm-workspace/CANN /opt/ascend-serving 2>&1").stdout == before
    assert (main_pid("node0"), main_pid("node1")) == pids


def test_vllm_never_healthy_times_out_with_every_nodes_journal():
    res = deploy("-e", json.dumps({"vllm_env": {"ASCEND_SIM_STARTUP_DELAY_S": "900"},
                                   "vllm_service_health_timeout": 20, "vllm_service_health_progress": 5}))
    assert res.returncode != 0
    assert "did not answer 200 within 20s" in res.out, res.out[-3000:]
    assert "node0 | " in res.out and "node1 | " in res.out  # journal lines of both nodes


def test_crash_at_start_fails_fast_with_the_journal():
    res = deploy("-e", json.dumps({"vllm_env": {"ASCEND_SIM_FAIL_AT": "startup"},
                                   "vllm_service_health_timeout": 600}))
    assert res.returncode != 0
    assert "ascend-vllm.service is" in res.out and "it exited" in res.out, res.out[-3000:]
    assert "simulated crash" in res.out


def test_api_key_from_vault_is_required_never_logged_and_root_only(tmp_path):
    key = "sk-ascend-" + os.urandom(12).hex()
    password = tmp_path / "vault-pass"
    password.write_text("molecule-vault-password\n")
    secrets = tmp_path / "secrets.yml"
    secrets.write_text("vllm_service_api_key: %s\n" % key)
    subprocess.run(["ansible-vault", "encrypt", "--vault-password-file", str(password), str(secrets)],
                   check=True, capture_output=True, cwd=ROOT)
    assert key not in secrets.read_text()  # encrypted at rest
    res = deploy("-e", "@%s" % secrets, "--vault-password-file", str(password))
    assert res.returncode == 0, res.out[-3000:]
    assert key not in res.out  # never logged
    for name in ("node0", "node1"):
        assert node(name, "stat", "-c", "%a %U", "/etc/ascend-serving/secret.env").stdout.split() == ["600", "root"]
        assert key not in node(name, "cat", "/etc/ascend-serving/launch.sh").stdout
        assert key not in node(name, "sh", "-c", "cat /etc/systemd/system/ascend-vllm.service; "
                                                 "systemctl show ascend-vllm.service -p Environment").stdout
    mgmt = "http://%s:8000" % node("node0", "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1").stdout.strip()
    with pytest.raises(urllib.error.HTTPError) as denied:
        http(mgmt + "/v1/models")
    assert denied.value.code == 401
    req = urllib.request.Request(mgmt + "/v1/models", headers={"Authorization": "Bearer " + key})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 200
    # A run without the vault file is refused before anything changes: the endpoint keeps its key.
    launch = node("node0", "cat", "/etc/ascend-serving/launch.sh").stdout
    refused = deploy()
    assert refused.returncode != 0
    assert "the deployed endpoint requires an API key (state.json auth: true) but this run has none" in refused.out
    assert node("node0", "cat", "/etc/ascend-serving/launch.sh").stdout == launch
    assert node("node0", "test", "-e", "/etc/ascend-serving/secret.env").returncode == 0
    with pytest.raises(urllib.error.HTTPError) as still:
        http(mgmt + "/v1/models")
    assert still.value.code == 401
    # Dropping the key on purpose: the secret file goes, the endpoint is open again.
    back = deploy("-e", "vllm_service_allow_unauthenticated=true")
    assert back.returncode == 0, back.out[-3000:]
    assert node("node0", "test", "!", "-e", "/etc/ascend-serving/secret.env").returncode == 0
    assert http(mgmt + "/v1/models")[0] == 200


def test_check_mode_shows_a_knob_change_and_changes_nothing():
    repaired = deploy()
    assert repaired.returncode == 0, repaired.out[-3000:]
    pids = (main_pid("node0"), main_pid("node1"))
    scripts = [node(name, "cat", "/etc/ascend-serving/launch.sh").stdout for name in ("node0", "node1")]
    res = deploy("--check", "--diff", "-e", "vllm_max_num_seqs=8")
    assert res.returncode == 0, res.out[-3000:]
    added = [line for line in res.stdout.splitlines() if line.startswith("+exec vllm serve ")]
    assert len(added) == 2 and all("--max-num-seqs 8" in line for line in added), res.stdout[-3000:]
    assert "instance default would (re)start; run without --check to start it and check its endpoint" in res.stdout
    assert "/v1/completions" not in res.stdout.split("would (re)start")[-1]  # the endpoint is not checked
    assert (main_pid("node0"), main_pid("node1")) == pids
    assert [node(name, "cat", "/etc/ascend-serving/launch.sh").stdout for name in ("node0", "node1")] == scripts


def test_knob_change_restarts_the_whole_instance_once():
    repaired = deploy()
    assert repaired.returncode == 0, repaired.stdout[-3000:]
    pids = (main_pid("node0"), main_pid("node1"))
    res = deploy("-e", "vllm_max_num_seqs=8")
    assert res.returncode == 0, res.stdout[-3000:]
    new = (main_pid("node0"), main_pid("node1"))
    assert new[0] != pids[0] and new[1] != pids[1]
    assert "--max-num-seqs 8" in node("node1", "cat", "/etc/ascend-serving/launch.sh").stdout
    assert res.stdout.count("RUNNING HANDLER [ascend.serving.vllm_service : Stop the vLLM instance]") == 1


def test_back_to_the_inventory_then_a_second_run_changes_nothing():
    first = deploy()
    assert first.returncode == 0, first.stdout[-3000:]
    second = deploy()
    assert second.returncode == 0
    assert recap_changed(second.stdout) == 0, second.stdout[-4000:]
