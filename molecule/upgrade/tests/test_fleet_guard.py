"""deploy.yml on a fleet of two serving instances (a: node0+node1, b: node2+node3, as converge left
them): a change that would restart, or reinstall the operators under, every serving instance at
once is refused before anything changes; upgrade.yml is the batched path. Runs first in the
scenario and leaves the cluster as it found it."""
import json
import os
import subprocess

ROOT = os.environ["ASCEND_ROOT"]
CLUSTER = "mol-upgrade"
INVENTORY = os.path.join(ROOT, ".work", "clusters", CLUSTER, "inventory")
NODES = ("node0", "node1", "node2", "node3")


def node(name, *cmd):
    res = subprocess.run(["podman", "exec", "ascsim-%s-%s" % (CLUSTER, name)] + list(cmd),
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, "%s: %s failed: %s%s" % (name, cmd, res.stdout, res.stderr)
    return res.stdout


def deploy(extra=None):
    argv = ["ansible-playbook", os.path.join(ROOT, "playbooks", "deploy.yml"), "-i", INVENTORY]
    if extra:
        argv += ["-e", json.dumps(extra)]
    res = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=ROOT)
    res.out = res.stdout + res.stderr
    return res


def snapshot():
    return dict((name, (node(name, "systemctl", "show", "-p", "MainPID", "--value", "ascend-vllm.service").strip(),
                        node(name, "cat", "/etc/ascend-serving/launch.sh"),
                        node(name, "cat", "/etc/ascend-serving/state.json"))) for name in NODES)


def test_a_knob_change_for_the_whole_fleet_is_refused_before_anything_changes():
    before = snapshot()
    res = deploy({"vllm_max_num_seqs": 8})
    assert res.returncode != 0
    assert "this run would restart every serving instance at once (a, b)" in res.out, res.out[-3000:]
    assert "vllm_service_allow_restart=true" in res.out and "upgrade.yml" in res.out
    assert snapshot() == before


def test_a_new_release_for_the_whole_fleet_is_refused_before_the_operators_are_touched():
    before = snapshot()
    res = deploy({"vllm_profile": "deepseek-v3.2-exp-bf16-a3-v0.12.0rc1", "vllm_install_method": "image",
                  "vllm_artifact_sha256": {}, "vllm_profile_overrides": {}})
    assert res.returncode != 0
    assert "would install a new release / image / operators under every serving instance at once (a, b" in res.out, \
        res.out[-3000:]
    # Stopped in the preflight play: the operators / weights play never ran.
    assert "PLAY [Operators and model weights]" not in res.out
    assert snapshot() == before
