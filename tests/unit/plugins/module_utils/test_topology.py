# -*- coding: utf-8 -*-
"""Topology validation: valid shapes, and every invalid inventory with its own message."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import pytest
import yaml

from ansible_collections.ascend.serving.plugins.module_utils.profile import ProfileStore, default_profile_dir
from ansible_collections.ascend.serving.plugins.module_utils import topology
from ansible_collections.ascend.serving.plugins.module_utils.topology import (
    INSTANCE_CHECKS,
    INVENTORY_CHECKS,
    TopologyError,
    host_vars_subset,
    inventory_hosts,
    problems,
    validate,
)

STORE = ProfileStore([default_profile_dir()], yaml.safe_load)

W8A8_A3 = "deepseek-v3.2-exp-w8a8-a3-v0.11.0rc0"
BF16_A3 = "deepseek-v3.2-exp-bf16-a3-v0.11.0rc0"
W8A8_A2 = "deepseek-v3.2-exp-w8a8-a2-v0.11.0rc0"
BF16_A2 = "deepseek-v3.2-exp-bf16-a2-v0.11.0rc0"


def inventory(profile, node0, headless=(), **host_vars):
    """(hosts, groups) like Ansible gives them: group vars flattened into every host."""
    names = list(node0) + list(headless)
    hosts = {}
    for index, name in enumerate(names):
        hosts[name] = {"vllm_profile": profile, "ansible_host": "192.0.2.%d" % (10 + index)}
        hosts[name].update(host_vars.get(name.replace("-", "_"), {}))
    groups = {"vllm_nodes": names, "vllm_node0": list(node0), "vllm_headless": list(headless)}
    return hosts, groups


def errors_of(hosts, groups, **kwargs):
    with pytest.raises(TopologyError) as info:
        validate(hosts, groups, STORE, **kwargs)
    return info.value.errors


# -- valid ------------------------------------------------------------------

def test_a3_single_node_w8a8():
    topo = validate(*inventory(W8A8_A3, ["n0"]), store=STORE)
    assert topo["instances"]["default"] == {
        "name": "default", "node0": "n0", "hosts": ["n0"], "headless": [], "dp_size": 1, "tp_size": 16,
        "multi_node": False, "npus_used": 16, "profile_name": W8A8_A3}
    host = topo["hosts"]["n0"]
    assert (host["role"], host["dp_start_rank"], host["dp_local"], host["dp_ranks"]) == ("node0", 0, 1, [0])


def test_a3_two_node_bf16():
    topo = validate(*inventory(BF16_A3, ["n0"], ["n1"]), store=STORE)
    assert topo["instances"]["default"]["dp_size"] == 2
    assert topo["hosts"]["n1"]["role"] == "headless"
    assert topo["hosts"]["n1"]["dp_start_rank"] == 1
    assert topo["hosts"]["n1"]["dp_ranks"] == [1]
    assert topo["hosts"]["n1"]["node0"] == "n0"
    assert topo["hosts"]["n1"]["address"] == "192.0.2.11"
    assert topo["order"] == ["n0", "n1"]


def test_a2_four_node_bf16_ranks_follow_inventory_order():
    topo = validate(*inventory(BF16_A2, ["n0"], ["n1", "n2", "n3"]), store=STORE)
    assert [topo["hosts"][h]["dp_start_rank"] for h in ("n0", "n1", "n2", "n3")] == [0, 1, 2, 3]
    assert topo["instances"]["default"]["npus_used"] == 32


def test_explicit_start_ranks_in_any_order():
    hosts, groups = inventory(BF16_A2, ["n0"], ["n1", "n2", "n3"],
                              n1={"vllm_dp_start_rank": 3}, n2={"vllm_dp_start_rank": "1"},
                              n3={"vllm_dp_start_rank": 2})
    topo = validate(hosts, groups, STORE)
    assert [topo["hosts"][h]["dp_start_rank"] for h in ("n1", "n2", "n3")] == [3, 1, 2]


def test_several_dp_ranks_per_node():
    # A3 with TP8 x 2 local ranks on each of 2 nodes: DP4.
    hosts, groups = inventory(W8A8_A3, ["n0"], ["n1"], vllm_tensor_parallel_size=8)
    for host in hosts.values():
        host.update({"vllm_tensor_parallel_size": 8, "vllm_dp_size_local": 2})
    topo = validate(hosts, groups, STORE)
    assert topo["hosts"]["n0"]["dp_ranks"] == [0, 1]
    assert topo["hosts"]["n1"]["dp_ranks"] == [2, 3]
    assert topo["hosts"]["n1"]["dp_start_rank"] == 2
    assert topo["instances"]["default"]["dp_size"] == 4


def test_two_instances():
    hosts, groups = inventory(W8A8_A3, ["a0", "b0"], ["a1", "b1"],
                              a0={"vllm_instance": "blue"}, a1={"vllm_instance": "blue"},
                              b0={"vllm_instance": "green"}, b1={"vllm_instance": "green"})
    topo = validate(hosts, groups, STORE)
    assert topo["instances"]["blue"]["hosts"] == ["a0", "a1"]
    assert topo["instances"]["green"]["hosts"] == ["b0", "b1"]
    assert topo["hosts"]["b1"]["node0"] == "b0"
    assert topo["hosts"]["b1"]["dp_start_rank"] == 1


def test_declared_dp_size_that_matches():
    hosts, groups = inventory(BF16_A3, ["n0"], ["n1"])
    for host in hosts.values():
        host["vllm_dp_size"] = 2
    assert validate(hosts, groups, STORE)["instances"]["default"]["dp_size"] == 2


def test_inventory_nic_and_ip_are_carried():
    hosts, groups = inventory(BF16_A3, ["n0"], ["n1"], n0={"hccl_env_nic_name": "eth1", "hccl_env_local_ip": "10.0.0.1"})
    topo = validate(hosts, groups, STORE)
    assert (topo["hosts"]["n0"]["nic_name"], topo["hosts"]["n0"]["local_ip"]) == ("eth1", "10.0.0.1")
    assert (topo["hosts"]["n1"]["nic_name"], topo["hosts"]["n1"]["local_ip"]) == (None, None)


# -- invalid: one fault, its own message ---------------------------------------

INVALID = [
    ("two node0s",
     inventory(BF16_A3, ["n0", "n1"]),
     ["instance 'default' has 2 node0 hosts (n0, n1): an instance has exactly one; move all but one to vllm_headless, "
      "or give them different vllm_instance values"]),
    ("duplicate rank",
     inventory(BF16_A2, ["n0"], ["n1", "n2", "n3"], n1={"vllm_dp_start_rank": 1}, n2={"vllm_dp_start_rank": 1},
               n3={"vllm_dp_start_rank": 3}),
     ["instance 'default': DP rank 1 is claimed by n1 (ranks 1), n2 (ranks 1): fix vllm_dp_start_rank so every rank "
      "has one owner",
      "instance 'default': DP ranks must be contiguous from 0 to 3 (data_parallel_size 4) but rank 2 is served by no "
      "host: fix vllm_dp_start_rank (each headless host starts where the previous one ends)"]),
    ("rank gap",
     inventory(BF16_A3, ["n0"], ["n1"], n1={"vllm_dp_start_rank": 2}),
     ["instance 'default': DP ranks must be contiguous from 0 to 1 (data_parallel_size 2) but rank 1 is served by no "
      "host: fix vllm_dp_start_rank (each headless host starts where the previous one ends)"]),
    ("node0 start rank not 0",
     inventory(BF16_A3, ["n0"], ["n1"], n0={"vllm_dp_start_rank": 1}),
     ["host n0: vllm_dp_start_rank is 1 but node0 always serves DP ranks from 0: remove it or set it to 0"]),
    ("start rank on some headless hosts only",
     inventory(BF16_A2, ["n0"], ["n1", "n2", "n3"], n2={"vllm_dp_start_rank": 2}),
     ["instance 'default': vllm_dp_start_rank is set on n2 but not on n1, n3: set it on every headless host of the "
      "instance or on none (then it is derived from the inventory order)"]),
    ("start rank not a number",
     inventory(BF16_A3, ["n0"], ["n1"], n1={"vllm_dp_start_rank": "one"}),
     ["host n1: vllm_dp_start_rank is 'one': it must be an integer >= 0"]),
    ("TP too large",
     inventory(W8A8_A2, ["n0"], ["n1"], n0={"vllm_tensor_parallel_size": 16}, n1={"vllm_tensor_parallel_size": 16}),
     ["host n0: tensor_parallel_size 16 x data_parallel_size_local 1 = 16 NPUs but an a2 node has 8: lower "
      "vllm_tensor_parallel_size or vllm_dp_size_local so that their product is at most 8",
      "host n1: tensor_parallel_size 16 x data_parallel_size_local 1 = 16 NPUs but an a2 node has 8: lower "
      "vllm_tensor_parallel_size or vllm_dp_size_local so that their product is at most 8"]),
    ("BF16 on one A2 node",
     inventory(BF16_A2, ["n0"]),
     ["instance 'default': model deepseek-v3.2-exp-bf16 needs at least 32 NPUs (4 a2 nodes of 8) but the instance "
      "uses 8 (tp 8 x dp 1 on 1 node): add headless nodes or choose a profile with smaller weights (W8A8)"]),
    ("BF16 on one A3 node",
     inventory(BF16_A3, ["n0"]),
     ["instance 'default': model deepseek-v3.2-exp-bf16 needs at least 32 NPUs (2 a3 nodes of 16) but the instance "
      "uses 16 (tp 16 x dp 1 on 1 node): add headless nodes or choose a profile with smaller weights (W8A8)"]),
    ("W8A8 on one A2 node",
     inventory(W8A8_A2, ["n0"]),
     ["instance 'default': model deepseek-v3.2-exp-w8a8 needs at least 16 NPUs (2 a2 nodes of 8) but the instance "
      "uses 8 (tp 8 x dp 1 on 1 node): add headless nodes or choose a profile with smaller weights (W8A8)"]),
    ("unknown profile",
     inventory("deepseek-v4", ["n0"], ["n1"]),
     ["hosts n0, n1: unknown profile 'deepseek-v4': set vllm_profile to one of: deepseek-v3.2-exp-bf16-a2-v0.11.0rc0, "
      "deepseek-v3.2-exp-bf16-a2-v0.12.0rc1, deepseek-v3.2-exp-bf16-a3-v0.11.0rc0, deepseek-v3.2-exp-bf16-a3-v0.12.0rc1, "
      "deepseek-v3.2-exp-w8a8-a2-v0.11.0rc0, deepseek-v3.2-exp-w8a8-a2-v0.12.0rc1, deepseek-v3.2-exp-w8a8-a3-v0.11.0rc0, "
      "deepseek-v3.2-exp-w8a8-a3-v0.12.0rc1 (or add deepseek-v4.yml to a vllm_profile_dirs directory)"]),
    ("no profile",
     inventory(None, ["n0"]),
     ["host n0: vllm_profile is not set: set it in group_vars (e.g. inventories/<name>/group_vars/all.yml) to one of: "
      "deepseek-v3.2-exp-bf16-a2-v0.11.0rc0, deepseek-v3.2-exp-bf16-a2-v0.12.0rc1, deepseek-v3.2-exp-bf16-a3-v0.11.0rc0, "
      "deepseek-v3.2-exp-bf16-a3-v0.12.0rc1, deepseek-v3.2-exp-w8a8-a2-v0.11.0rc0, deepseek-v3.2-exp-w8a8-a2-v0.12.0rc1, "
      "deepseek-v3.2-exp-w8a8-a3-v0.11.0rc0, deepseek-v3.2-exp-w8a8-a3-v0.12.0rc1"]),
    ("headless host in an instance without node0",
     inventory(W8A8_A3, ["n0"], ["n1"], n1={"vllm_instance": "green"}),
     ["instance 'green' has no node0 host (headless: n1): add one of its hosts to vllm_node0, or set vllm_instance of "
      "n1 to an instance that has one (default)"]),
    ("hosts of one instance disagree",
     inventory(BF16_A3, ["n0"], ["n1"], n1={"vllm_dp_rpc_port": 13390}),
     ["instance 'default': its hosts disagree on parallel.data_parallel_rpc_port (n0: 13389; n1: 13390): set it for "
      "the whole instance (group_vars), not per host"]),
    ("different profiles in one instance",
     inventory(BF16_A3, ["n0"], ["n1"], n1={"vllm_profile": BF16_A2}),
     ["instance 'default': its hosts disagree on profile.name (n0: 'deepseek-v3.2-exp-bf16-a3-v0.11.0rc0'; "
      "n1: 'deepseek-v3.2-exp-bf16-a2-v0.11.0rc0'): set it for the whole instance (group_vars), not per host",
      "instance 'default': its hosts disagree on hardware.name (n0: 'a3'; n1: 'a2'): set it for the whole instance "
      "(group_vars), not per host",
      "instance 'default': its hosts disagree on parallel.tensor_parallel_size (n0: 16; n1: 8): set it for the whole "
      "instance (group_vars), not per host"]),
    ("declared dp size differs",
     inventory(BF16_A3, ["n0"], ["n1"], n0={"vllm_dp_size": 4}, n1={"vllm_dp_size": 4}),
     ["instance 'default': data_parallel_size is 4 but its hosts provide 2 DP ranks (n0: 1, n1: 1): add or remove "
      "hosts, or set vllm_dp_size to 2"]),
    ("bad profile value on one host",
     inventory(BF16_A3, ["n0"], ["n1"], n1={"vllm_env": {"OMP_PROC_BIND": False}}),
     ["host n1: profile deepseek-v3.2-exp-bf16-a3-v0.11.0rc0: env.OMP_PROC_BIND is False: environment values are "
      "strings; quote it (e.g. \"true\" or \"True\")"]),
]


@pytest.mark.parametrize("hosts_groups, expected", [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_inventories(hosts_groups, expected):
    hosts, groups = hosts_groups
    assert errors_of(hosts, groups) == expected


@pytest.mark.parametrize("groups, expected", [
    ({}, "group vllm_nodes is empty or missing: the inventory must define vllm_nodes with children vllm_node0"),
    ({"vllm_nodes": ["n0", "n1"], "vllm_node0": ["n0", "n1"], "vllm_headless": ["n1"]},
     "host n1 is in both vllm_node0 and vllm_headless: keep it in one"),
    ({"vllm_nodes": ["n0", "n1"], "vllm_node0": ["n0"], "vllm_headless": []},
     "host n1 is in vllm_nodes but in neither vllm_node0 nor vllm_headless: put it in one of them"),
    ({"vllm_nodes": ["n0"], "vllm_node0": ["n0"], "vllm_headless": ["n1"]},
     "host n1 is in vllm_headless but not in vllm_nodes: make vllm_node0 and vllm_headless children of vllm_nodes"),
])
def test_group_structure_errors(groups, expected):
    hosts, _groups = inventory(W8A8_A3, ["n0", "n1"])
    assert any(e.startswith(expected) for e in errors_of(hosts, groups)), errors_of(hosts, groups)


def test_all_problems_are_reported_together():
    hosts, groups = inventory(BF16_A3, ["a0", "a1", "b0"], ["b1", "c1"],
                              b0={"vllm_instance": "green"}, b1={"vllm_instance": "green", "vllm_dp_start_rank": 5},
                              c1={"vllm_instance": "green", "vllm_dp_start_rank": 1, "vllm_profile": "nope"})
    with pytest.raises(TopologyError) as info:
        validate(hosts, groups, STORE)
    message = str(info.value)
    assert message.startswith("the inventory is not a valid vLLM topology (")
    for fragment in ("host c1: unknown profile 'nope'",
                     "instance 'default' has 2 node0 hosts (a0, a1)",
                     "instance 'green': DP ranks must be contiguous from 0 to 2 (data_parallel_size 3) but ranks 2, 3, "
                     "4 are served by no host"):
        assert fragment in message
    assert message.count("\n  - ") == len(info.value.errors) == 3


def test_checksums_are_required_only_when_asked():
    hosts, groups = inventory(W8A8_A3, ["n0"], vllm_install_method="custom_ops")
    hosts["n0"]["vllm_install_method"] = "custom_ops"
    hosts["n0"]["vllm_model_revision"] = "v1.0"  # the hub id's pin (test_profile.py test_pins_*)
    assert validate(hosts, groups, STORE)["hosts"]["n0"]["profile"]["release"]["install_method"] == "custom_ops"
    errors = errors_of(hosts, groups, require_checksums=True)
    assert len(errors) == 5
    assert errors[0].startswith("host n0: profile deepseek-v3.2-exp-w8a8-a3-v0.11.0rc0: release v0.11.0rc0 artifact")


def test_inventory_hosts_reads_only_what_it_needs():
    hostvars = {"n0": {"vllm_profile": W8A8_A3, "ansible_host": "192.0.2.1", "hccl_env_nic_name": "eth0",
                       "ansible_password": "secret", "other": 1},
                "elsewhere": {"vllm_profile": "x"}}
    hosts, groups = inventory_hosts(hostvars, {"vllm_nodes": ["n0"], "vllm_node0": ["n0"], "all": ["n0", "elsewhere"]})
    assert hosts == {"n0": {"vllm_profile": W8A8_A3, "ansible_host": "192.0.2.1", "hccl_env_nic_name": "eth0"}}
    assert groups == {"vllm_nodes": ["n0"], "vllm_node0": ["n0"], "vllm_headless": []}
    assert host_vars_subset({"vllm_x": [1, {"a": 2}]}) == {"vllm_x": [1, {"a": 2}]}


# -- the checks: named, one rule each, run from INVENTORY_CHECKS / INSTANCE_CHECKS -------------------

CHECK_NAMES = [name for name, _check in INVENTORY_CHECKS + INSTANCE_CHECKS]
GROUP_CASES = {
    "nodes_group": {},
    "children_of_nodes": {"vllm_nodes": ["n0"], "vllm_node0": ["n0"], "vllm_headless": ["n1"]},
    "one_role_per_host": {"vllm_nodes": ["n0", "n1"], "vllm_node0": ["n0"], "vllm_headless": []},
}

# One inventory per check, and exactly the problems that check finds in it.
CHECK_CASES = [
    ("nodes_group", (inventory(W8A8_A3, ["n0"])[0], GROUP_CASES["nodes_group"]),
     ["group vllm_nodes is empty or missing: the inventory must define vllm_nodes with children vllm_node0 (the host "
      "running the API server) and vllm_headless (engine-only hosts)"]),
    ("children_of_nodes", (inventory(W8A8_A3, ["n0", "n1"])[0], GROUP_CASES["children_of_nodes"]),
     ["host n1 is in vllm_headless but not in vllm_nodes: make vllm_node0 and vllm_headless children of vllm_nodes"]),
    ("one_role_per_host", (inventory(W8A8_A3, ["n0", "n1"])[0], GROUP_CASES["one_role_per_host"]),
     ["host n1 is in vllm_nodes but in neither vllm_node0 nor vllm_headless: put it in one of them"]),
    ("profiles", inventory(W8A8_A3, ["n0"], ["n1", "n2"], n1={"vllm_profile": "nope"}, n2={"vllm_profile": "nope"}),
     ["hosts n1, n2: unknown profile 'nope': set vllm_profile to one of: deepseek-v3.2-exp-bf16-a2-v0.11.0rc0, "
      "deepseek-v3.2-exp-bf16-a2-v0.12.0rc1, deepseek-v3.2-exp-bf16-a3-v0.11.0rc0, deepseek-v3.2-exp-bf16-a3-v0.12.0rc1, "
      "deepseek-v3.2-exp-w8a8-a2-v0.11.0rc0, deepseek-v3.2-exp-w8a8-a2-v0.12.0rc1, deepseek-v3.2-exp-w8a8-a3-v0.11.0rc0, "
      "deepseek-v3.2-exp-w8a8-a3-v0.12.0rc1 (or add nope.yml to a vllm_profile_dirs directory)"]),
    ("instance_name", inventory(W8A8_A3, ["n0"], n0={"vllm_instance": "blue/green"}),
     ["hosts n0: vllm_instance 'blue/green' is not a valid instance name: use letters, digits and ._- only, starting "
      "with a letter or digit, at most 63 characters (it names the instance in units, reports and file names)"]),
    ("one_node0", inventory(BF16_A3, ["n0", "n1"]),
     ["instance 'default' has 2 node0 hosts (n0, n1): an instance has exactly one; move all but one to vllm_headless, "
      "or give them different vllm_instance values"]),
    ("instance_keys_agree", inventory(BF16_A3, ["n0"], ["n1"], n1={"vllm_port": 8001}),
     ["instance 'default': its hosts disagree on serve.port (n0: 8000; n1: 8001): set it for the whole instance "
      "(group_vars), not per host"]),
    ("start_rank_is_integer", inventory(BF16_A3, ["n0"], ["n1"], n0={"vllm_dp_start_rank": "1.5"}),
     ["host n0: vllm_dp_start_rank is '1.5': it must be an integer >= 0"]),
    ("node0_starts_at_0", inventory(BF16_A3, ["n0"], ["n1"], n0={"vllm_dp_start_rank": "2"}),
     ["host n0: vllm_dp_start_rank is 2 but node0 always serves DP ranks from 0: remove it or set it to 0"]),
    ("start_ranks_all_or_none",
     inventory(BF16_A2, ["n0"], ["n1", "n2", "n3"], n1={"vllm_dp_start_rank": 1}, n3={"vllm_dp_start_rank": 3}),
     ["instance 'default': vllm_dp_start_rank is set on n1, n3 but not on n2: set it on every headless host of the "
      "instance or on none (then it is derived from the inventory order)"]),
    ("rank_has_one_owner", inventory(BF16_A3, ["n0"], ["n1"], n1={"vllm_dp_start_rank": 0}),
     ["instance 'default': DP rank 0 is claimed by n0 (ranks 0), n1 (ranks 0): fix vllm_dp_start_rank so every rank "
      "has one owner"]),
    ("ranks_contiguous", inventory(BF16_A3, ["n0"], ["n1"], n1={"vllm_dp_start_rank": 3}),
     ["instance 'default': DP ranks must be contiguous from 0 to 1 (data_parallel_size 2) but ranks 1, 2 are served "
      "by no host: fix vllm_dp_start_rank (each headless host starts where the previous one ends)"]),
    ("dp_size_matches", inventory(W8A8_A3, ["n0"], n0={"vllm_dp_size": 2}),
     ["instance 'default': data_parallel_size is 2 but its hosts provide 1 DP rank (n0: 1): add or remove hosts, or "
      "set vllm_dp_size to 1"]),
    ("npus_per_node",
     inventory(W8A8_A3, ["n0"], ["n1"], n0={"vllm_dp_size_local": 2}, n1={"vllm_dp_size_local": 2}),
     ["host n0: tensor_parallel_size 16 x data_parallel_size_local 2 = 32 NPUs but an a3 node has 16: lower "
      "vllm_tensor_parallel_size or vllm_dp_size_local so that their product is at most 16",
      "host n1: tensor_parallel_size 16 x data_parallel_size_local 2 = 32 NPUs but an a3 node has 16: lower "
      "vllm_tensor_parallel_size or vllm_dp_size_local so that their product is at most 16"]),
    ("model_fits", inventory(BF16_A2, ["n0"], ["n1"]),
     ["instance 'default': model deepseek-v3.2-exp-bf16 needs at least 32 NPUs (4 a2 nodes of 8) but the instance "
      "uses 16 (tp 8 x dp 2 on 2 nodes): add headless nodes or choose a profile with smaller weights (W8A8)"]),
]


@pytest.mark.parametrize("name, hosts_groups, expected", CHECK_CASES, ids=[c[0] for c in CHECK_CASES])
def test_each_check_finds_its_own_problem(name, hosts_groups, expected):
    hosts, groups = hosts_groups
    found = problems(hosts, groups, STORE)
    assert [problem for check, problem in found if check == name] == expected, found
    # validate() reports exactly what the checks found, in the same order.
    assert errors_of(hosts, groups) == [problem for _check, problem in found]


def test_every_check_function_is_in_a_table_once():
    functions = sorted(name for name in dir(topology) if name.startswith("check_") and callable(getattr(topology, name)))
    assert sorted(check.__name__ for _name, check in INVENTORY_CHECKS + INSTANCE_CHECKS) == functions
    assert sorted(set(CHECK_NAMES)) == sorted(CHECK_NAMES) == sorted(f[len("check_"):] for f in functions)
    assert all(check.__doc__ for _name, check in INVENTORY_CHECKS + INSTANCE_CHECKS)


def test_the_tables_run_every_check():
    """Every named check reports the problem it owns on some invalid inventory - none is dead or skipped."""
    assert [c[0] for c in CHECK_CASES] == CHECK_NAMES  # one case per check, in table order
    fired = set()
    for _id, (hosts, groups), _expected in INVALID:
        fired.update(check for check, _problem in problems(hosts, groups, STORE))
    for name, (hosts, groups), _expected in CHECK_CASES:
        fired.update(check for check, _problem in problems(hosts, groups, STORE))
    assert sorted(fired) == sorted(CHECK_NAMES)


@pytest.mark.parametrize("hosts_groups, expected", [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_rows_are_what_the_checks_find(hosts_groups, expected):
    hosts, groups = hosts_groups
    assert [problem for _check, problem in problems(hosts, groups, STORE)] == expected


def test_a_missing_nodes_group_ends_the_checks():
    hosts, _groups = inventory(W8A8_A3, ["n0"])
    # vllm_node0 alone: children_of_nodes would also report n0, but nothing runs after nodes_group.
    assert [check for check, _problem in problems(hosts, {"vllm_node0": ["n0"]}, STORE)] == ["nodes_group"]


def test_a_valid_inventory_has_no_problems():
    hosts, groups = inventory(BF16_A2, ["n0"], ["n1", "n2", "n3"])
    assert problems(hosts, groups, STORE) == []
