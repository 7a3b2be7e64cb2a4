# -*- coding: utf-8 -*-
"""The filters: thin wrappers over module_utils, with Ansible errors."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.ascend.serving.plugins.filter.plan import FilterModule as PlanFilters
from ansible_collections.ascend.serving.plugins.filter.profile import FilterModule as ProfileFilters
from ansible_collections.ascend.serving.plugins.filter.topology import FilterModule as TopologyFilters

FILTERS = {}
for module in (PlanFilters, ProfileFilters, TopologyFilters):
    FILTERS.update(module().filters())

PROFILE = "deepseek-v3.2-exp-bf16-a3-v0.11.0rc0"


def inventory(**extra):
    hostvars = {
        "node0": {"vllm_profile": PROFILE, "ansible_host": "192.0.2.11", "vllm_gpu_memory_utilization": 0.9,
                  "inventory_dir": "/x", "ansible_connection": "ssh"},
        "node1": {"vllm_profile": PROFILE, "ansible_host": "192.0.2.12"},
        "localhost": {},
    }
    for host, values in extra.items():
        hostvars[host].update(values)
    groups = {"all": ["node0", "node1"], "ungrouped": [], "vllm_nodes": ["node0", "node1"],
              "vllm_node0": ["node0"], "vllm_headless": ["node1"]}
    return hostvars, groups


def test_filter_names():
    assert sorted(FILTERS) == ["vllm_launch_script", "vllm_nic_query", "vllm_plan", "vllm_plan_table", "vllm_profile",
                               "vllm_profile_names", "vllm_render", "vllm_topology", "vllm_unpinned"]


def test_vllm_topology():
    topology = FILTERS["vllm_topology"](*inventory())
    assert topology["instances"]["default"]["hosts"] == ["node0", "node1"]
    assert topology["hosts"]["node1"]["dp_ranks"] == [1]


def test_vllm_topology_error_lists_every_problem():
    hostvars, groups = inventory(node1={"vllm_dp_start_rank": 3, "vllm_tensor_parallel_size": 32})
    with pytest.raises(AnsibleFilterError) as info:
        FILTERS["vllm_topology"](hostvars, groups)
    message = str(info.value)
    assert "not a valid vLLM topology (" in message
    assert "disagree on parallel.tensor_parallel_size" in message
    assert "host node1: tensor_parallel_size 32 x data_parallel_size_local 1 = 32 NPUs" in message
    assert "ranks 1, 2 are served by no host" in message


def test_vllm_plan_with_discovered_values():
    hostvars, groups = inventory(node1={"hccl_env_nic_name": "bond0"})
    discovered = {"node0": {"nic_name": "eth1", "local_ip": "10.0.0.1"},
                  "node1": {"nic_name": "eth1", "local_ip": "10.0.0.2"}}
    plans = FILTERS["vllm_plan"](hostvars, groups, discovered)
    assert sorted(plans) == ["node0", "node1"]
    env1 = dict(plans["node1"]["env"])
    assert env1["HCCL_IF_IP"] == "10.0.0.2" and env1["GLOO_SOCKET_IFNAME"] == "bond0"
    argv0 = plans["node0"]["argv"]
    assert argv0[argv0.index("--data-parallel-address") + 1] == "10.0.0.1"
    assert argv0[argv0.index("--gpu-memory-utilization") + 1] == "0.9"


def test_vllm_plan_accepts_nic_info_selected():
    discovered = {"node0": {"name": "eth1", "address": "10.0.0.1", "prefixlen": 24, "reason": "..."},
                  "node1": {"name": "eth2", "address": "10.0.0.2", "prefixlen": 24, "reason": "..."}}
    plans = FILTERS["vllm_plan"](*inventory(), discovered=discovered)
    assert dict(plans["node1"]["env"])["HCCL_SOCKET_IFNAME"] == "eth2"
    argv = plans["node1"]["argv"]
    assert argv[argv.index("--data-parallel-address") + 1] == "10.0.0.1"


@pytest.mark.parametrize("discovered, message", [
    (["eth0"], "discovered must map hosts"),
    ({"node0": "eth0"}, "discovered\\[node0\\] must be a mapping"),
    ({"node0": {"nic": "eth0"}}, "discovered\\[node0\\] must be a mapping with nic_name / local_ip"),
])
def test_vllm_plan_rejects_malformed_discovery(discovered, message):
    with pytest.raises(AnsibleFilterError, match=message):
        FILTERS["vllm_plan"](*inventory(), discovered=discovered)


def test_vllm_plan_surfaces_checksum_requirement():
    hostvars, groups = inventory(node0={"vllm_install_method": "custom_ops"}, node1={"vllm_install_method": "custom_ops"})
    assert FILTERS["vllm_plan"](hostvars, groups)["node0"]["notes"]
    with pytest.raises(AnsibleFilterError, match="upstream publishes no checksums"):
        FILTERS["vllm_plan"](hostvars, groups, require_checksums=True)


def test_vllm_launch_script_and_table():
    plans = FILTERS["vllm_plan"](*inventory())
    script = FILTERS["vllm_launch_script"](plans["node1"])
    assert script.startswith("#!/bin/sh\n") and "--headless" in script
    assert FILTERS["vllm_launch_script"](plans["node1"], exec_command=True).count("\nexec vllm serve ") == 1
    table = FILTERS["vllm_plan_table"](plans)
    assert len(table) == 3 and table[2].startswith("node1")
    with pytest.raises(AnsibleFilterError, match="expects one host's plan"):
        FILTERS["vllm_launch_script"](plans)
    with pytest.raises(AnsibleFilterError, match="expects the output of vllm_plan"):
        FILTERS["vllm_plan_table"]([])


def test_vllm_profile_by_name_and_by_host_vars():
    by_name = FILTERS["vllm_profile"](PROFILE)
    assert by_name["serve"]["gpu_memory_utilization"] == 0.92
    hostvars, _groups = inventory()
    by_host = FILTERS["vllm_profile"](hostvars["node0"])
    assert by_host["serve"]["gpu_memory_utilization"] == 0.9
    merged = FILTERS["vllm_profile"](hostvars["node0"], {"serve": {"max_model_len": 4096}})
    assert merged["serve"]["max_model_len"] == 4096 and merged["serve"]["gpu_memory_utilization"] == 0.9
    with pytest.raises(AnsibleFilterError, match="unknown profile 'nope'"):
        FILTERS["vllm_profile"]("nope")
    with pytest.raises(AnsibleFilterError, match="expects a profile name or a host's variables"):
        FILTERS["vllm_profile"](3)
    with pytest.raises(AnsibleFilterError, match="invalid profile:\n  - profile .*: serve.headless"):
        FILTERS["vllm_profile"](PROFILE, {"serve": {"headless": True}})


def test_vllm_profile_names_with_operator_dir(tmp_path):
    (tmp_path / "mine.yml").write_text("layers: [base/default]\n")
    names = FILTERS["vllm_profile_names"]([str(tmp_path)])
    assert "mine" in names and PROFILE in names
    assert len(FILTERS["vllm_profile_names"]()) == 8


def test_profile_dirs_from_inventory(tmp_path):
    (tmp_path / "site.yml").write_text(
        "layers: [base/default, models/deepseek-v3.2-exp-bf16, hardware/a3, releases/v0.11.0rc0]\n"
        "overrides: {serve: {max_model_len: 8192}}\n")
    hostvars, groups = inventory(node0={"vllm_profile": "site", "vllm_profile_dirs": [str(tmp_path)]},
                                 node1={"vllm_profile": "site", "vllm_profile_dirs": str(tmp_path)})
    plans = FILTERS["vllm_plan"](hostvars, groups)
    argv = plans["node1"]["argv"]
    assert argv[argv.index("--max-model-len") + 1] == "8192"
