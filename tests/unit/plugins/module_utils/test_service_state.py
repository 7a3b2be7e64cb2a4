# -*- coding: utf-8 -*-
"""What a node records it runs (state.json), the difference an upgrade prints, upgrade batches and
status records."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import pytest
import yaml

from ansible_collections.ascend.serving.plugins.module_utils.plan import build_plan
from ansible_collections.ascend.serving.plugins.module_utils.profile import ProfileStore, default_profile_dir
from ansible_collections.ascend.serving.plugins.module_utils.service import ServiceError, node_state, state_diff
from ansible_collections.ascend.serving.plugins.module_utils.topology import validate
from ansible_collections.ascend.serving.plugins.module_utils.upgrade import UpgradeError, plan, status_lines, status_record

STORE = ProfileStore([default_profile_dir()], yaml.safe_load)
V011 = "deepseek-v3.2-exp-bf16-a3-v0.11.0rc0"
V012 = "deepseek-v3.2-exp-bf16-a3-v0.12.0rc1"
SUMS = {"sfa": "1" * 64, "custom_ops_wheel": "2" * 64, "mlapo": "3" * 64, "torch_npu_wheel": "4" * 64,
        "libopsproto": "5" * 64}


def plans(profile, **extra):
    hosts = {"n0": {"vllm_profile": profile, "ansible_host": "192.0.2.11", "hccl_env_nic_name": "enp1",
                    "hccl_env_local_ip": "10.0.0.11"},
             "n1": {"vllm_profile": profile, "ansible_host": "192.0.2.12", "hccl_env_nic_name": "enp1",
                    "hccl_env_local_ip": "10.0.0.12"}}
    for host in hosts.values():
        host.update(extra)
    groups = {"vllm_nodes": ["n0", "n1"], "vllm_node0": ["n0"], "vllm_headless": ["n1"]}
    return build_plan(validate(hosts, groups, STORE))


def test_state_of_the_seeds_custom_ops_install():
    rec = node_state(plans(V011, vllm_install_method="custom_ops", vllm_artifact_sha256=SUMS)["n1"])
    assert rec["release"] == "v0.11.0rc0" and rec["profile"] == V011
    assert (rec["install_method"], rec["runtime"], rec["image"]) == ("custom_ops", "host", None)
    assert rec["artifacts"] == SUMS
    assert (rec["instance"], rec["role"], rec["dp_ranks"], rec["dp_size"], rec["port"]) == ("default", "headless", [1], 2, 8000)
    assert rec["served_model_name"] == "deepseek_v3.2"
    assert len(rec["plan_digest"]) == 64 and len(rec["profile_digest"]) == 64


def test_state_of_an_image_release_names_the_image():
    rec = node_state(plans(V012)["n0"])
    assert (rec["install_method"], rec["runtime"]) == ("image", "container")
    assert rec["image"] == "quay.io/ascend/vllm-ascend:v0.12.0rc1-a3"
    assert rec["artifacts"] == {}
    # The host runtime of an image release runs no image.
    assert node_state(plans(V012)["n0"], "host")["image"] is None


def test_state_is_stable_and_changes_with_a_serving_knob():
    assert node_state(plans(V012)["n0"]) == node_state(plans(V012)["n0"])
    knob = node_state(plans(V012, vllm_max_num_seqs=8)["n0"])
    assert knob["plan_digest"] != node_state(plans(V012)["n0"])["plan_digest"]


def test_bad_runtime_is_refused():
    with pytest.raises(ServiceError, match="runtime must be auto, host or container, got 'podman'"):
        node_state(plans(V012)["n0"], "podman")


def test_diff_lines_name_each_changed_key_with_short_digests():
    old = node_state(plans(V011, vllm_install_method="custom_ops", vllm_artifact_sha256=SUMS)["n0"])
    new = node_state(plans(V012)["n0"])
    lines = state_diff(old, new)
    assert "release: v0.11.0rc0 -> v0.12.0rc1" in lines
    assert "profile: %s -> %s" % (V011, V012) in lines
    assert "install_method: custom_ops -> image" in lines
    assert "runtime: host -> container" in lines
    assert "image: none -> quay.io/ascend/vllm-ascend:v0.12.0rc1-a3" in lines
    assert ("artifacts: {custom_ops_wheel: 222222222222, libopsproto: 555555555555, mlapo: 333333333333, "
            "sfa: 111111111111, torch_npu_wheel: 444444444444} -> {}") in lines
    assert state_diff(new, dict(new)) == []
    # endpoint and other extra keys are not part of the comparison.
    assert state_diff(dict(new, endpoint="http://x:8000"), new) == []
    assert state_diff(None, new) == ["not deployed (no state file) -> v0.12.0rc1 %s" % V012]


NODES = {
    "a0": {"instance": "a", "role": "node0", "diff": ["release: v1 -> v2"]},
    "a1": {"instance": "a", "role": "headless", "diff": []},
    "b0": {"instance": "b", "role": "node0", "diff": []},
    "b1": {"instance": "b", "role": "headless", "diff": ["plan_digest: x -> y"]},
    "c0": {"instance": "c", "role": "node0", "diff": []},
}


def test_an_instance_upgrades_as_a_whole_when_any_node_differs():
    out = plan(NODES)
    assert out["batches"] == [["a"], ["b"]]
    assert out["instances"]["a"]["changes"] == ["a0: release: v1 -> v2"]
    assert out["instances"]["b"] == {"hosts": ["b0", "b1"], "node0": "b0", "changes": ["b1: plan_digest: x -> y"],
                                     "upgrade": True}
    assert out["instances"]["c"]["upgrade"] is False


def test_batches_and_selection():
    assert plan(NODES, batch_size=2)["batches"] == [["a", "b"]]
    assert plan(NODES, only=["b"])["batches"] == [["b"]]
    assert plan(NODES, only=["b"])["instances"]["a"]["upgrade"] is False
    with pytest.raises(UpgradeError, match="upgrade_instances names zz, not an instance of this inventory"):
        plan(NODES, only=["zz"])
    with pytest.raises(UpgradeError, match="upgrade_batch_size must be at least 1, got 0"):
        plan(NODES, batch_size=0)


SHOW_ACTIVE = "ActiveState=active\nSubState=running\nActiveEnterTimestampMonotonic=100000000\nMainPID=4242\n"
STATE_N0 = {"instance": "a", "role": "node0", "dp_ranks": [0], "release": "v0.12.0rc1", "profile": V012,
            "served_model_name": "deepseek_v3.2", "endpoint": "http://10.0.0.11:8000"}


def test_status_record_of_a_serving_node0():
    rec = status_record({"unit": SHOW_ACTIVE, "uptime": "160.50 300.00\n", "state": STATE_N0,
                         "models": {"object": "list", "data": [{"id": "deepseek_v3.2", "object": "model"}]},
                         "http_status": 200}, "n0")
    assert rec["unit"] == "active/running" and rec["pid"] == 4242 and rec["uptime_s"] == 60
    assert rec["health"] == "ok" and rec["served_models"] == ["deepseek_v3.2"]
    assert rec["release"] == "v0.12.0rc1" and rec["instance"] == "a"


def test_status_record_of_a_stopped_or_undeployed_node():
    stopped = status_record({"unit": "ActiveState=failed\nSubState=failed\nActiveEnterTimestampMonotonic=0\nMainPID=0\n",
                             "uptime": "10.0 1.0", "state": STATE_N0, "models": None, "http_status": None}, "n0")
    assert stopped["unit"] == "failed/failed" and stopped["uptime_s"] is None
    assert stopped["health"] == "down (no answer)"
    bare = status_record({"unit": "ActiveState=inactive\nSubState=dead\n", "uptime": "", "state": {}}, "n9")
    assert bare["deployed"] is False and bare["health"] is None and bare["release"] is None


def test_status_lines_group_by_instance_node0_first():
    n0 = status_record({"unit": SHOW_ACTIVE, "uptime": "160 0", "state": STATE_N0,
                        "models": {"data": [{"id": "deepseek_v3.2"}]}, "http_status": 200}, "n0")
    n1 = status_record({"unit": SHOW_ACTIVE, "uptime": "160 0",
                        "state": dict(STATE_N0, role="headless", dp_ranks=[1])}, "n1")
    lines = status_lines({"n1": n1, "n0": n0})
    assert lines[0] == "instance a: n0 at http://10.0.0.11:8000, health ok, serving deepseek_v3.2"
    assert lines[1].split() == ["n0", "node0", "ranks", "0", "v0.12.0rc1", "active/running", "up", "60s"]
    assert lines[2].split()[:4] == ["n1", "headless", "ranks", "1"]
