# -*- coding: utf-8 -*-
"""playbooks/render.yml, run for real with ansible-playbook on the controller (touches no node)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import os
import shutil
import subprocess
import sys

import pytest
import yaml

from ansible_collections.ascend.serving.plugins.module_utils import plan as plan_utils
from ansible_collections.ascend.serving.plugins.module_utils.plan import build_plan, render_script
from ansible_collections.ascend.serving.plugins.module_utils.profile import ProfileStore, default_profile_dir
from ansible_collections.ascend.serving.plugins.module_utils.topology import validate

# .../ansible_collections/ascend/serving/plugins/module_utils/plan.py -> the collection and its parent path
COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(plan_utils.__file__))))
COLLECTIONS_PATH = os.path.dirname(os.path.dirname(os.path.dirname(COLLECTION)))
PLAYBOOK = os.path.join(COLLECTION, "playbooks", "render.yml")


def ansible_playbook():
    """ansible-playbook next to this Python, else on PATH, else the module (ansible-test venvs)."""
    beside = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    if os.access(beside, os.X_OK):
        return [beside]
    found = shutil.which("ansible-playbook")
    return [found] if found else [sys.executable, "-m", "ansible.cli.playbook"]


def run_render(inventory, cwd, *extra):
    env = dict(os.environ)
    env.update({"ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_PATH, "ANSIBLE_FORCE_COLOR": "false", "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_LOCAL_TEMP": str(cwd / ".ansible-tmp"), "ANSIBLE_RETRY_FILES_ENABLED": "false",
                "PWD": str(cwd)})
    env.pop("ANSIBLE_CONFIG", None)
    cmd = ansible_playbook() + [PLAYBOOK, "-i", str(inventory)] + list(extra)
    return subprocess.run(cmd, cwd=str(cwd), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False,
                          universal_newlines=True, timeout=300)


SHIPPED = {
    "a3-1node-w8a8": {"a3-node0": ("node0", "vllm-ascend/DeepSeek-V3.2-Exp-W8A8", None)},
    "a3-2node": {"a3-node0": ("node0", "/root/.cache/Modelers_Park/DeepSeek-V3.2-Exp", None),
                 "a3-node1": ("headless", "/root/.cache/Modelers_Park/DeepSeek-V3.2-Exp", 1)},
    "a2-2node-w8a8": {"a2-node0": ("node0", "vllm-ascend/DeepSeek-V3.2-Exp-W8A8", None),
                      "a2-node1": ("headless", "vllm-ascend/DeepSeek-V3.2-Exp-W8A8", 1)},
    "a2-4node-bf16": dict([("a2-node0", ("node0", "/root/.cache/Modelers_Park/DeepSeek-V3.2-Exp", None))] + [
        ("a2-node%d" % i, ("headless", "/root/.cache/Modelers_Park/DeepSeek-V3.2-Exp", i)) for i in (1, 2, 3)]),
}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_render_shipped_inventory(tmp_path, name):
    out = tmp_path / "out"
    result = run_render(os.path.join(COLLECTION, "inventories", name), tmp_path, "-e", "render_dir=%s" % out)
    assert result.returncode == 0, result.stdout
    assert sorted(os.listdir(str(out))) == sorted("%s.sh" % h for h in SHIPPED[name])
    for host, (role, model, start_rank) in SHIPPED[name].items():
        path = out / ("%s.sh" % host)
        assert os.access(str(path), os.X_OK)
        text = path.read_text()
        assert text.startswith("#!/bin/sh\n")
        assert "\nvllm serve %s \\\n" % model in text
        assert ("\n--headless \\\n" in text) == (role == "headless")
        assert ("--data-parallel-start-rank %s \\" % start_rank in text) == (start_rank is not None)
        if len(SHIPPED[name]) > 1:
            # No NIC / IP in the shipped inventories: the scripts find them at run time.
            assert "discovered here at run time" in text
            assert "--gpu-memory-utilization %s \\" % ("0.9" if role == "node0" else "0.92") in text
        else:
            assert "--data-parallel" not in text and "--gpu-memory-utilization 0.92 \\" in text
        subprocess.run(["sh", "-n", str(path)], check=True)
        assert host in result.stdout
    assert "host" in result.stdout and "dp ranks" in result.stdout and "Launch scripts in %s" % out in result.stdout


INVENTORY_WITH_NET = """
all:
  children:
    vllm_nodes:
      children:
        vllm_node0:
          hosts:
            node0:
              ansible_host: 192.0.2.11
              hccl_env_nic_name: enp189s0f0
              hccl_env_local_ip: 10.20.0.11
              vllm_gpu_memory_utilization: 0.9
        vllm_headless:
          hosts:
            node1:
              ansible_host: 192.0.2.12
              hccl_env_nic_name: enp189s0f1
              hccl_env_local_ip: 10.20.0.12
  vars:
    vllm_profile: deepseek-v3.2-exp-w8a8-a2-v0.11.0rc0
"""


def test_render_is_the_plan(tmp_path):
    """The playbook writes exactly render_script(plan) (test_plan.py checks the plan against the seed)."""
    inventory = tmp_path / "site"
    inventory.mkdir()
    (inventory / "hosts.yml").write_text(INVENTORY_WITH_NET)
    result = run_render(inventory, tmp_path)  # default render_dir: ./rendered/<inventory name>
    assert result.returncode == 0, result.stdout
    out = tmp_path / "rendered" / "site"
    data = yaml.safe_load(INVENTORY_WITH_NET)["all"]
    hosts = {}
    for group in ("vllm_node0", "vllm_headless"):
        for host, values in data["children"]["vllm_nodes"]["children"][group]["hosts"].items():
            hosts[host] = dict(values, **data["vars"])
    groups = {"vllm_nodes": ["node0", "node1"], "vllm_node0": ["node0"], "vllm_headless": ["node1"]}
    plans = build_plan(validate(hosts, groups, ProfileStore([default_profile_dir()], yaml.safe_load)))
    for host in ("node0", "node1"):
        assert (out / ("%s.sh" % host)).read_text() == render_script(plans[host])
    text = (out / "node1.sh").read_text()
    assert "export HCCL_IF_IP=10.20.0.12\n" in text and "export GLOO_SOCKET_IFNAME=enp189s0f1\n" in text
    assert "--data-parallel-address 10.20.0.11 \\" in text and "discovered" not in text
    assert "enp189s0f1 (inventory)" in result.stdout


def test_render_fails_with_every_topology_problem(tmp_path):
    inventory = tmp_path / "bad"
    (inventory / "group_vars").mkdir(parents=True)
    (inventory / "hosts.yml").write_text(
        "all:\n  children:\n    vllm_nodes:\n      children:\n"
        "        vllm_node0:\n          hosts:\n            n0: {ansible_host: 192.0.2.1}\n"
        "            n1: {ansible_host: 192.0.2.2}\n")
    (inventory / "group_vars" / "all.yml").write_text("vllm_profile: deepseek-v3.2-exp-bf16-a2-v0.11.0rc0\n")
    result = run_render(inventory, tmp_path, "-e", "render_dir=%s" % (tmp_path / "out"))
    assert result.returncode != 0
    assert "the inventory is not a valid vLLM topology (2 problems)" in result.stdout
    assert "instance 'default' has 2 node0 hosts (n0, n1)" in result.stdout
    assert "model deepseek-v3.2-exp-bf16 needs at least 32 NPUs (4 a2 nodes of 8)" in result.stdout
    assert not (tmp_path / "out").exists()
