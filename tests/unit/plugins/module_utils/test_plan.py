# -*- coding: utf-8 -*-
"""The launch plan reproduces the seed's scripts; every flag exists in vLLM 0.11.0; the script runs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import json
import os
import shlex
import stat
import string
import subprocess

import pytest
import yaml

from ansible_collections.ascend.serving.plugins.module_utils.plan import (
    build_plan,
    option_args,
    plan_table,
    render_script,
)
from ansible_collections.ascend.serving.plugins.module_utils.profile import ProfileStore, default_profile_dir
from ansible_collections.ascend.serving.plugins.module_utils.topology import validate

STORE = ProfileStore([default_profile_dir()], yaml.safe_load)
FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "vllm-0.11.0-serve-args.json")

# ---------------------------------------------------------------------------------------------
# The seed's scripts, copied by hand from docs deepseek-v3.2-exp-vllm-ascend.md (vllm-ascend
# v0.11.0rc0). $nic_name / $local_ip / $node0_ip are filled in with the test inventory's values.
# ---------------------------------------------------------------------------------------------
ADDITIONAL_CONFIG = ('{"ascend_scheduler_config":{"enabled":true},'
                     '"torchair_graph_config":{"enabled":true,"graph_batch_sizes":[16]}}')

SEED_A3_SINGLE = {
    "env": """
export VLLM_USE_MODELSCOPE=true
""",
    "cmd": """
vllm serve vllm-ascend/DeepSeek-V3.2-Exp-W8A8 \\
--host 0.0.0.0 \\
--port 8000 \\
--tensor-parallel-size 16 \\
--seed 1024 \\
--quantization ascend \\
--served-model-name deepseek_v3.2 \\
--max-num-seqs 16 \\
--max-model-len 17450 \\
--max-num-batched-tokens 17450 \\
--enable-expert-parallel \\
--trust-remote-code \\
--no-enable-prefix-caching \\
--gpu-memory-utilization 0.92 \\
--additional-config '{"ascend_scheduler_config":{"enabled":true},"torchair_graph_config":{"enabled":true,"graph_batch_sizes":[16]}}'
""",
}

SEED_MULTI_ENV = """
export VLLM_USE_MODELSCOPE=True
export HCCL_IF_IP=$local_ip
export GLOO_SOCKET_IFNAME=$nic_name
export TP_SOCKET_IFNAME=$nic_name
export HCCL_SOCKET_IFNAME=$nic_name
export OMP_PROC_BIND=false
export OMP_NUM_THREADS=100
export HCCL_BUFFSIZE=1024
"""

SEED_A3_NODE0_CMD = """
vllm serve /root/.cache/Modelers_Park/DeepSeek-V3.2-Exp \\
--host 0.0.0.0 \\
--port 8000 \\
--data-parallel-size 2 \\
--data-parallel-size-local 1 \\
--data-parallel-address $local_ip \\
--data-parallel-rpc-port 13389 \\
--tensor-parallel-size 16 \\
--seed 1024 \\
--served-model-name deepseek_v3.2 \\
--enable-expert-parallel \\
--max-num-seqs 16 \\
--max-model-len 17450 \\
--max-num-batched-tokens 17450 \\
--trust-remote-code \\
--no-enable-prefix-caching \\
--gpu-memory-utilization 0.9 \\
--additional-config '{"ascend_scheduler_config":{"enabled":true},"torchair_graph_config":{"enabled":true,"graph_batch_sizes":[16]}}'
"""

SEED_A3_NODE1_CMD = """
vllm serve /root/.cache/Modelers_Park/DeepSeek-V3.2-Exp \\
--host 0.0.0.0 \\
--port 8000 \\
--headless \\
--data-parallel-size 2 \\
--data-parallel-size-local 1 \\
--data-parallel-start-rank 1 \\
--data-parallel-address $node0_ip \\
--data-parallel-rpc-port 13389 \\
--tensor-parallel-size 16 \\
--seed 1024 \\
--served-model-name deepseek_v3.2 \\
--max-num-seqs 16 \\
--max-model-len 17450 \\
--max-num-batched-tokens 17450 \\
--enable-expert-parallel \\
--trust-remote-code \\
--no-enable-prefix-caching \\
--gpu-memory-utilization 0.92 \\
--additional-config '{"ascend_scheduler_config":{"enabled":true},"torchair_graph_config":{"enabled":true,"graph_batch_sizes":[16]}}'
"""

SEED_A2_EXTRA_ENV = """
export HCCL_OP_EXPANSION_MODE="AIV"
export PYTORCH_NPU_ALLOC_CONF="expandable_segments:True"
"""

SEED_A2_NODE0_CMD = """
vllm serve vllm-ascend/DeepSeek-V3.2-Exp-W8A8 \\
--host 0.0.0.0 \\
--port 8000 \\
--data-parallel-size 2 \\
--data-parallel-size-local 1 \\
--data-parallel-address $local_ip \\
--data-parallel-rpc-port 13389 \\
--tensor-parallel-size 8 \\
--seed 1024 \\
--served-model-name deepseek_v3.2 \\
--enable-expert-parallel \\
--max-num-seqs 16 \\
--max-model-len 17450 \\
--max-num-batched-tokens 17450 \\
--trust-remote-code \\
--quantization ascend \\
--no-enable-prefix-caching \\
--gpu-memory-utilization 0.9 \\
--additional-config '{"ascend_scheduler_config":{"enabled":true},"torchair_graph_config":{"enabled":true,"graph_batch_sizes":[16]}}'
"""

SEED_A2_NODE1_CMD = """
vllm serve vllm-ascend/DeepSeek-V3.2-Exp-W8A8 \\
--host 0.0.0.0 \\
--port 8000 \\
--headless \\
--data-parallel-size 2 \\
--data-parallel-size-local 1 \\
--data-parallel-start-rank 1 \\
--data-parallel-address $node0_ip \\
--data-parallel-rpc-port 13389 \\
--tensor-parallel-size 8 \\
--seed 1024 \\
--served-model-name deepseek_v3.2 \\
--max-num-seqs 16 \\
--max-model-len 17450 \\
--max-num-batched-tokens 17450 \\
--enable-expert-parallel \\
--trust-remote-code \\
--quantization ascend \\
--no-enable-prefix-caching \\
--gpu-memory-utilization 0.92 \\
--additional-config '{"ascend_scheduler_config":{"enabled":true},"torchair_graph_config":{"enabled":true,"graph_batch_sizes":[16]}}'
"""

NET = {
    "node0": {"nic_name": "enp189s0f0", "local_ip": "10.20.0.11"},
    "node1": {"nic_name": "enp189s0f1", "local_ip": "10.20.0.12"},
}


def seed_env(text, host=None):
    """{NAME: value} of the seed's export lines (shell-parsed, variables filled in)."""
    values = dict(NET[host], node0_ip=NET["node0"]["local_ip"]) if host else {}
    env = {}
    for line in string.Template(text).substitute(values).strip().splitlines():
        if not line.strip():
            continue
        name, value = shlex.split(line)[1].split("=", 1)
        env[name] = value
    return env


def seed_argv(text, host=None):
    values = dict(NET[host], node0_ip=NET["node0"]["local_ip"]) if host else {}
    # As sh does: backslash-newline continues the line.
    return shlex.split(string.Template(text).substitute(values).replace("\\\n", " "))


def options(argv):
    """(model, {(flag, value-or-None)}) of a `vllm serve MODEL --flag [value] ...` argv."""
    assert argv[:2] == ["vllm", "serve"]
    pairs = set()
    items = argv[3:]
    index = 0
    while index < len(items):
        flag = items[index]
        assert flag.startswith("--"), flag
        if index + 1 < len(items) and not items[index + 1].startswith("--"):
            pairs.add((flag, items[index + 1]))
            index += 2
        else:
            pairs.add((flag, None))
            index += 1
    return argv[2], pairs


def seed_inventory(profile, headless=(), with_net=True, node0_vars=None):
    names = ["node0"] + list(headless)
    hosts = {}
    for index, name in enumerate(names):
        hosts[name] = {"vllm_profile": profile, "ansible_host": "192.0.2.%d" % (11 + index)}
        if with_net:
            hosts[name].update({"hccl_env_nic_name": NET[name]["nic_name"], "hccl_env_local_ip": NET[name]["local_ip"]})
    hosts["node0"].update(node0_vars or {})
    groups = {"vllm_nodes": names, "vllm_node0": ["node0"], "vllm_headless": list(headless)}
    return hosts, groups


def plan_for(hosts, groups, discovered=None):
    return build_plan(validate(hosts, groups, STORE), discovered)


# The seed's node0 scripts use --gpu-memory-utilization 0.9: reproduced with the host var.
SEED_NODE0 = {"vllm_gpu_memory_utilization": 0.9}

SEED_CASES = [
    ("a3-1node-w8a8", "deepseek-v3.2-exp-w8a8-a3-v0.11.0rc0", (), {
        "node0": (seed_env(SEED_A3_SINGLE["env"]), seed_argv(SEED_A3_SINGLE["cmd"])),
    }, {}),
    ("a3-2node-bf16", "deepseek-v3.2-exp-bf16-a3-v0.11.0rc0", ("node1",), {
        "node0": (seed_env(SEED_MULTI_ENV, "node0"), seed_argv(SEED_A3_NODE0_CMD, "node0")),
        "node1": (seed_env(SEED_MULTI_ENV, "node1"), seed_argv(SEED_A3_NODE1_CMD, "node1")),
    }, SEED_NODE0),
    ("a2-2node-w8a8", "deepseek-v3.2-exp-w8a8-a2-v0.11.0rc0", ("node1",), {
        "node0": (seed_env(SEED_MULTI_ENV + SEED_A2_EXTRA_ENV, "node0"), seed_argv(SEED_A2_NODE0_CMD, "node0")),
        "node1": (seed_env(SEED_MULTI_ENV + SEED_A2_EXTRA_ENV, "node1"), seed_argv(SEED_A2_NODE1_CMD, "node1")),
    }, SEED_NODE0),
]


def test_seed_texts_parse_as_expected():
    # Guard the hand-copied expectations themselves.
    env = seed_env(SEED_MULTI_ENV + SEED_A2_EXTRA_ENV, "node1")
    assert env["HCCL_IF_IP"] == "10.20.0.12" and env["HCCL_OP_EXPANSION_MODE"] == "AIV"
    model, pairs = options(seed_argv(SEED_A3_NODE1_CMD, "node1"))
    assert model == "/root/.cache/Modelers_Park/DeepSeek-V3.2-Exp"
    assert ("--data-parallel-address", "10.20.0.11") in pairs and ("--headless", None) in pairs
    assert ("--additional-config", ADDITIONAL_CONFIG) in pairs
    assert len(pairs) == 19


@pytest.mark.parametrize("name, profile, headless, expected, node0_vars", SEED_CASES, ids=[c[0] for c in SEED_CASES])
def test_plan_reproduces_the_seed(name, profile, headless, expected, node0_vars):
    plans = plan_for(*seed_inventory(profile, headless, node0_vars=node0_vars))
    assert sorted(plans) == sorted(expected), name
    for host, (env, argv) in expected.items():
        plan = plans[host]
        assert dict(plan["env"]) == env, host
        assert len(plan["env"]) == len(env), "no variable exported twice"
        assert options(plan["argv"]) == options(argv), host
        assert len(plan["argv"]) == len(argv), "no flag given twice"
        assert plan["source"] == []


def test_plan_env_is_in_the_seed_order():
    plans = plan_for(*seed_inventory("deepseek-v3.2-exp-w8a8-a2-v0.11.0rc0", ("node1",), node0_vars=SEED_NODE0))
    assert [k for k, _v in plans["node1"]["env"]] == [
        "VLLM_USE_MODELSCOPE", "HCCL_IF_IP", "GLOO_SOCKET_IFNAME", "TP_SOCKET_IFNAME", "HCCL_SOCKET_IFNAME",
        "OMP_PROC_BIND", "OMP_NUM_THREADS", "HCCL_BUFFSIZE", "HCCL_OP_EXPANSION_MODE", "PYTORCH_NPU_ALLOC_CONF"]


def test_single_node_has_no_dp_flags_and_no_network():
    plan = plan_for(*seed_inventory("deepseek-v3.2-exp-w8a8-a3-v0.11.0rc0"))["node0"]
    assert not [a for a in plan["argv"] if a.startswith("--data-parallel") or a == "--headless"]
    assert plan["network"] is None
    assert plan["dp_ranks"] == [0] and plan["role"] == "node0"


def test_a2_four_node_bf16_is_derived_like_the_seed():
    hosts, groups = seed_inventory("deepseek-v3.2-exp-bf16-a2-v0.11.0rc0", ("node1", "node2", "node3"),
                                   with_net=False, node0_vars=SEED_NODE0)
    discovered = dict(("node%d" % i, {"nic_name": "eth1", "local_ip": "10.30.0.%d" % (i + 1)}) for i in range(4))
    plans = plan_for(hosts, groups, discovered)
    for index in range(4):
        plan = plans["node%d" % index]
        model, pairs = options(plan["argv"])
        assert model == "/root/.cache/Modelers_Park/DeepSeek-V3.2-Exp"
        assert ("--tensor-parallel-size", "8") in pairs and ("--data-parallel-size", "4") in pairs
        assert ("--data-parallel-address", "10.30.0.1") in pairs
        assert not [p for p in pairs if p[0] == "--quantization"]
        assert (("--data-parallel-start-rank", str(index)) in pairs) == (index > 0)
        assert (("--headless", None) in pairs) == (index > 0)
        env = dict(plan["env"])
        assert env["HCCL_IF_IP"] == "10.30.0.%d" % (index + 1)
        assert env["HCCL_OP_EXPANSION_MODE"] == "AIV"
        assert env["PYTORCH_NPU_ALLOC_CONF"] == "expandable_segments:True"
        assert plan["network"]["sources"] == {"node0_ip": "discovered", "local_ip": "discovered",
                                              "nic_name": "discovered"}


def test_v0120rc1_drops_torchair_aiv_and_lowers_omp():
    plans = plan_for(*seed_inventory("deepseek-v3.2-exp-w8a8-a2-v0.12.0rc1", ("node1",)))
    env = dict(plans["node1"]["env"])
    assert env["OMP_NUM_THREADS"] == "10"
    assert "HCCL_OP_EXPANSION_MODE" not in env
    assert env["PYTORCH_NPU_ALLOC_CONF"] == "expandable_segments:True"
    assert "--additional-config" not in plans["node1"]["argv"]


def test_custom_ops_install_adds_the_seed_environment():
    hosts, groups = seed_inventory("deepseek-v3.2-exp-w8a8-a3-v0.11.0rc0")
    hosts["node0"]["vllm_install_method"] = "custom_ops"
    plan = plan_for(hosts, groups)["node0"]
    assert plan["env"] == [
        ["VLLM_USE_MODELSCOPE", "true"],
        ["ASCEND_CUSTOM_OPP_PATH", "/usr/local/Ascend/ascend-toolkit/latest/opp/vendors/customize:${ASCEND_CUSTOM_OPP_PATH}"],
        ["LD_LIBRARY_PATH", "/usr/local/Ascend/ascend-toolkit/latest/opp/vendors/customize/op_api/lib/:${LD_LIBRARY_PATH}"],
        ["LD_PRELOAD", "/vllm-workspace/CANN/vendors/customize/op_proto/lib/linux/aarch64/libcust_opsproto_rt2.0.so:"
                       "${LD_PRELOAD}"],
    ]
    assert plan["source"] == ["/vllm-workspace/CANN/vendors/customize/bin/set_env.bash"]
    assert any("no sha256 for custom_ops_wheel, libopsproto, mlapo, sfa, torch_npu_wheel" in n for n in plan["notes"])


def test_inventory_beats_discovery_and_node0_is_discovered_for_headless():
    hosts, groups = seed_inventory("deepseek-v3.2-exp-bf16-a3-v0.11.0rc0", ("node1",), with_net=False)
    hosts["node1"]["hccl_env_nic_name"] = "bond0"
    discovered = {"node0": {"nic_name": "eth9", "local_ip": "10.9.9.1"},
                  "node1": {"nic_name": "eth9", "local_ip": "10.9.9.2"}}
    plan = plan_for(hosts, groups, discovered)["node1"]
    env = dict(plan["env"])
    assert env["HCCL_SOCKET_IFNAME"] == "bond0" and env["HCCL_IF_IP"] == "10.9.9.2"
    assert plan["argv"][plan["argv"].index("--data-parallel-address") + 1] == "10.9.9.1"
    assert plan["network"]["sources"] == {"node0_ip": "discovered", "local_ip": "discovered", "nic_name": "inventory"}
    assert plan["network"]["runtime"] == []


def test_unknown_nic_and_ip_are_left_to_run_time():
    plans = plan_for(*seed_inventory("deepseek-v3.2-exp-bf16-a3-v0.11.0rc0", ("node1",), with_net=False))
    node0, node1 = plans["node0"], plans["node1"]
    # node0's address falls back to its ansible_host; its NIC is found at run time.
    assert node0["network"]["node0_ip"] == "192.0.2.11"
    assert node0["network"]["runtime"] == ["nic_name"]
    assert dict(node0["env"])["HCCL_IF_IP"] == "192.0.2.11"
    assert dict(node0["env"])["GLOO_SOCKET_IFNAME"] == "$nic_name"
    assert node1["network"]["runtime"] == ["local_ip", "nic_name"]
    assert dict(node1["env"])["HCCL_IF_IP"] == "$local_ip"
    assert node1["argv"][node1["argv"].index("--data-parallel-address") + 1] == "192.0.2.11"
    assert any("ansible_host" in n for n in node1["notes"])


def test_node0_by_name_is_resolved_at_run_time():
    hosts, groups = seed_inventory("deepseek-v3.2-exp-bf16-a3-v0.11.0rc0", ("node1",), with_net=False)
    hosts["node0"]["ansible_host"] = "node0.example.test"
    plans = plan_for(hosts, groups)
    assert plans["node1"]["network"]["runtime"] == ["node0_ip", "local_ip", "nic_name"]
    assert plans["node1"]["argv"][plans["node1"]["argv"].index("--data-parallel-address") + 1] == "$node0_ip"
    assert "getent ahostsv4 node0.example.test" in render_script(plans["node1"])


def test_option_args_rules():
    assert option_args("enforce_eager", True) == ["--enforce-eager"]
    assert option_args("enable_prefix_caching", False) == ["--no-enable-prefix-caching"]
    assert option_args("seed", None) == []
    assert option_args("served_model_name", ["a", "b"]) == ["--served-model-name", "a", "b"]
    assert option_args("gpu_memory_utilization", 0.9) == ["--gpu-memory-utilization", "0.9"]
    assert option_args("additional_config", {"a": {"b": [1]}}) == ["--additional-config", '{"a":{"b":[1]}}']


# -- every flag the plan can emit exists in vLLM 0.11.0 ------------------------------------------

def _option_table():
    with open(FIXTURE) as handle:
        table = json.load(handle)
    assert table["vllm_version"] == "0.11.0" and table["command"] == "vllm serve"
    return dict((opt, action) for action in table["actions"] for opt in action["option_strings"])


OPTIONS = _option_table()


def check_argv(argv):
    """Problems of a `vllm serve` argv against vLLM 0.11.0's own argument table."""
    problems = []
    items = argv[3:]
    index = 0
    while index < len(items):
        flag = items[index]
        action = OPTIONS.get(flag)
        values = []
        index += 1
        while index < len(items) and not items[index].startswith("--"):
            values.append(items[index])
            index += 1
        if action is None:
            problems.append("%s: not a vllm serve option" % flag)
            continue
        nargs, kind = action["nargs"], action["kind"]
        if flag.startswith("--no-") and kind != "BooleanOptionalAction":
            problems.append("%s: only BooleanOptionalAction options have a --no- form" % flag)
        if nargs == 0 and values:
            problems.append("%s takes no value, got %s" % (flag, values))
        elif nargs is None and len(values) != 1:
            problems.append("%s takes one value, got %s" % (flag, values))
        elif nargs == "+" and not values:
            problems.append("%s takes values" % flag)
        for value in values:
            if action["choices"] and value not in action["choices"]:
                problems.append("%s: %s not in %s" % (flag, value, action["choices"]))
            if action["type"] in ("int", "human_readable_int"):
                int(value)
            if action["type"] == "float":
                float(value)
            if action["type"] == "union_dict_and_str" and value.startswith("{"):
                json.loads(value)
    return problems


def _shapes():
    """(id, hosts, groups) covering every code path of the plan for every shipped profile."""
    shapes = []
    for name in STORE.names():
        hw_npus = 16 if "-a3-" in name else 8
        nodes = 2 if "bf16" in name and hw_npus == 16 else (4 if "bf16" in name else (1 if hw_npus == 16 else 2))
        for method in (["image", "custom_ops"] if "v0.11.0rc0" in name else ["image"]):
            headless = tuple("node%d" % i for i in range(1, nodes))
            hosts, groups = seed_inventory(name, headless, with_net=False)
            for host in hosts.values():
                host["vllm_install_method"] = method
            shapes.append(("%s-%s-%dnode" % (name, method, nodes), hosts, groups))
            # The same with several DP ranks per node (TP halved) and one more node.
            hosts2, groups2 = seed_inventory(name, headless + ("node%d" % nodes,), with_net=False)
            for host in hosts2.values():
                host.update({"vllm_install_method": method, "vllm_tensor_parallel_size": hw_npus // 2,
                             "vllm_dp_size_local": 2})
            shapes.append(("%s-%s-%dnode-dp2local" % (name, method, nodes + 1), hosts2, groups2))
    return shapes


SHAPES = _shapes()


@pytest.mark.parametrize("hosts, groups", [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES])
def test_every_emitted_flag_exists_in_vllm_0_11_0(hosts, groups):
    for plan in plan_for(hosts, groups).values():
        assert check_argv(plan["argv"]) == [], plan["argv"]


def test_single_node_with_local_dp_ranks_is_valid_too():
    hosts, groups = seed_inventory("deepseek-v3.2-exp-w8a8-a3-v0.11.0rc0")
    hosts["node0"].update({"vllm_tensor_parallel_size": 8, "vllm_dp_size_local": 2})
    plan = plan_for(hosts, groups)["node0"]
    _model, pairs = options(plan["argv"])
    assert ("--data-parallel-size", "2") in pairs and ("--data-parallel-size-local", "2") in pairs
    assert not [p for p in pairs if p[0] in ("--data-parallel-address", "--headless", "--data-parallel-start-rank")]
    assert check_argv(plan["argv"]) == []


def test_the_checker_catches_bad_flags():
    assert check_argv(["vllm", "serve", "m", "--no-such-flag", "1"]) == ["--no-such-flag: not a vllm serve option"]
    assert check_argv(["vllm", "serve", "m", "--no-headless"]) == [
        "--no-headless: not a vllm serve option"]
    assert check_argv(["vllm", "serve", "m", "--headless", "1"]) == ["--headless takes no value, got ['1']"]
    assert check_argv(["vllm", "serve", "m", "--port"]) == ["--port takes one value, got []"]


# -- the script renders the same plan -------------------------------------------------------------

STUB_VLLM = """#!/usr/bin/env python3
import json, os, sys
with open(os.environ["STUB_OUT"], "w") as handle:
    json.dump({"argv": sys.argv[1:], "env": dict(os.environ)}, handle)
"""

STUB_IP = """#!/bin/sh
# ip -o route get X / ip -o addr show to Y, as iproute2 prints them.
case "$*" in
  "-o route get "*) echo "$4 via 10.30.0.254 dev bond1 src 10.30.0.2 uid 0 \\    cache " ;;
  "-o addr show to "*) echo "7: bond1    inet $5/24 brd 10.30.0.255 scope global bond1\\       valid_lft forever" ;;
  *) echo "unexpected ip $*" >&2; exit 2 ;;
esac
"""


def run_script(tmp_path, text):
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    for name, body in (("vllm", STUB_VLLM), ("ip", STUB_IP)):
        (bindir / name).write_text(body)
        (bindir / name).chmod(stat.S_IRWXU)
    script = tmp_path / "launch.sh"
    script.write_text(text)
    out = tmp_path / "out.json"
    env = {"PATH": "%s:%s" % (bindir, os.environ.get("PATH", "/usr/bin:/bin")), "STUB_OUT": str(out),
           "LD_PRELOAD": "", "LD_LIBRARY_PATH": "/opt/lib", "ASCEND_CUSTOM_OPP_PATH": ""}
    subprocess.run(["sh", str(script)], env=env, check=True, cwd=str(tmp_path))
    with open(str(out)) as handle:
        return json.load(handle)


@pytest.mark.parametrize("name, profile, headless, expected, node0_vars", SEED_CASES, ids=[c[0] for c in SEED_CASES])
def test_rendered_script_runs_the_seed_command(tmp_path, name, profile, headless, expected, node0_vars):
    plans = plan_for(*seed_inventory(profile, headless, node0_vars=node0_vars))
    for host, (env, argv) in expected.items():
        text = render_script(plans[host])
        assert text.startswith("#!/bin/sh\n")
        assert "\nvllm serve " in text
        ran = run_script(tmp_path, text)
        assert options(["vllm"] + ran["argv"]) == options(argv), (name, host)
        for key, value in env.items():
            assert ran["env"][key] == value, (name, host, key)


def test_rendered_script_discovers_nic_and_ip_at_run_time(tmp_path):
    plans = plan_for(*seed_inventory("deepseek-v3.2-exp-w8a8-a2-v0.11.0rc0", ("node1",), with_net=False))
    text = render_script(plans["node1"])
    assert "ip -o route get" in text and "discovered here at run time" in text
    ran = run_script(tmp_path, text)
    assert ran["env"]["HCCL_IF_IP"] == "10.30.0.2"
    assert ran["env"]["GLOO_SOCKET_IFNAME"] == ran["env"]["HCCL_SOCKET_IFNAME"] == "bond1"
    assert ran["argv"][ran["argv"].index("--data-parallel-address") + 1] == "192.0.2.11"


def test_rendered_custom_ops_script_prepends_to_the_inherited_environment(tmp_path):
    hosts, groups = seed_inventory("deepseek-v3.2-exp-w8a8-a3-v0.11.0rc0")
    hosts["node0"]["vllm_install_method"] = "custom_ops"
    plan = plan_for(hosts, groups)["node0"]
    plan["source"] = []  # set_env.bash only exists on a node with MLAPO installed
    ran = run_script(tmp_path, render_script(plan, exec_command=True))
    assert ran["env"]["LD_LIBRARY_PATH"] == "/usr/local/Ascend/ascend-toolkit/latest/opp/vendors/customize/op_api/lib/:/opt/lib"
    assert ran["env"]["LD_PRELOAD"] == "/vllm-workspace/CANN/vendors/customize/op_proto/lib/linux/aarch64/libcust_opsproto_rt2.0.so:"
    text = render_script(plan_for(hosts, groups)["node0"], exec_command=True)
    assert ". /vllm-workspace/CANN/vendors/customize/bin/set_env.bash\n" in text
    assert "\nexec vllm serve " in text


def test_plan_table():
    plans = plan_for(*seed_inventory("deepseek-v3.2-exp-bf16-a3-v0.11.0rc0", ("node1",)))
    lines = plan_table(plans)
    assert lines[0].split() == ["host", "instance", "role", "dp", "ranks", "tp", "nic", "local", "ip", "node0", "ip"]
    assert lines[1].split() == ["node0", "default", "node0", "0/2", "16", "enp189s0f0", "(inventory)", "10.20.0.11",
                                "(inventory)", "10.20.0.11", "(inventory)"]
    assert lines[2].split()[:5] == ["node1", "default", "headless", "1/2", "16"]
    single = plan_table(plan_for(*seed_inventory("deepseek-v3.2-exp-w8a8-a3-v0.11.0rc0")))
    assert "(single node)" in single[1]


def test_plan_notes_unpinned_image_and_hub_id_and_records_the_revision():
    plan = plan_for(*seed_inventory("deepseek-v3.2-exp-w8a8-a3-v0.11.0rc0"))["node0"]
    pins = [n for n in plan["notes"] if "is not pinned by digest" in n or "is a hub id with no revision" in n]
    assert len(pins) == 2 and "vllm_image_digest" in pins[0] and "trust_remote_code" in pins[1]
    assert plan["model_revision"] is None and "--revision" not in plan["argv"]
    pinned = plan_for(*seed_inventory("deepseek-v3.2-exp-w8a8-a3-v0.11.0rc0", node0_vars={
        "vllm_image_digest": "sha256:" + "0" * 64, "vllm_model_revision": "8f3c2a1"}))["node0"]
    assert [n for n in pinned["notes"] if "pinned" in n or "revision" in n] == []
    assert pinned["model_revision"] == "8f3c2a1"
    assert pinned["argv"][pinned["argv"].index("--revision") + 1] == "8f3c2a1"
    assert check_argv(pinned["argv"]) == []
