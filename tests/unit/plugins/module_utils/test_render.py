# -*- coding: utf-8 -*-
"""The plan's service part (endpoint, runtime, image, devices, mounts, unit, config dir), its
settings, the unpinned warning, and the one renderer in its two modes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import json

import pytest
import yaml

from ansible_collections.ascend.serving.plugins.module_utils.plan import build_plan, nic_query, render_script, unpinned
from ansible_collections.ascend.serving.plugins.module_utils.profile import ProfileStore, default_profile_dir
from ansible_collections.ascend.serving.plugins.module_utils.render import RenderError, render
from ansible_collections.ascend.serving.plugins.module_utils.topology import validate

STORE = ProfileStore([default_profile_dir()], yaml.safe_load)
BF16_A3 = "deepseek-v3.2-exp-bf16-a3-v0.11.0rc0"   # image install, weights in /root/.cache/Modelers_Park
W8A8_A3 = "deepseek-v3.2-exp-w8a8-a3-v0.11.0rc0"   # image install, hub id vllm-ascend/DeepSeek-V3.2-Exp-W8A8
IMAGE_A3 = "quay.io/ascend/vllm-ascend:v0.11.0rc0-a3-deepseek-v3.2-exp"


def topology(profile=BF16_A3, headless=("node1",), **node_vars):
    names = ["node0"] + list(headless)
    hosts = dict((name, {"vllm_profile": profile, "ansible_host": "192.0.2.%d" % (11 + i)})
                 for i, name in enumerate(names))
    for name, values in node_vars.items():
        hosts[name].update(values)
    groups = {"vllm_nodes": names, "vllm_node0": ["node0"], "vllm_headless": list(headless)}
    return validate(hosts, groups, STORE)


DISCOVERED = {"node0": {"nic_name": "enp1", "local_ip": "10.0.0.1"},
              "node1": {"nic_name": "enp2", "local_ip": "10.0.0.2"}}


# -- the service part of the plan -----------------------------------------------------------------

def test_service_of_a_multi_node_image_release_with_discovered_nics():
    plans = build_plan(topology(), DISCOVERED)
    for host in ("node0", "node1"):
        assert plans[host]["service"] == {
            "unit": "ascend-vllm.service",
            "config_dir": "/etc/ascend-serving",
            "runtime": "container",
            "image": IMAGE_A3,
            "npus": 16,
            "model_mount": "/root/.cache/Modelers_Park",
            "auth": False,
            # node0's data-network address, for the headless node too: one endpoint per instance.
            "endpoint": "http://10.0.0.1:8000",
        }


def test_endpoint_prefers_the_inventory_address_of_node0_over_discovery():
    plans = build_plan(topology(node0={"hccl_env_local_ip": "10.9.9.9"}), DISCOVERED)
    assert plans["node1"]["service"]["endpoint"] == "http://10.9.9.9:8000"


def test_endpoint_without_discovery_is_node0_ansible_host():
    plans = build_plan(topology())
    assert plans["node0"]["service"]["endpoint"] == "http://192.0.2.11:8000"
    assert plans["node1"]["service"]["endpoint"] == "http://192.0.2.11:8000"


def test_single_node_endpoint_is_the_discovered_address_and_a_hub_id_mounts_nothing():
    plans = build_plan(topology(W8A8_A3, headless=()), {"node0": {"nic_name": "eth0", "local_ip": "10.1.1.1"}})
    service = plans["node0"]["service"]
    assert service["endpoint"] == "http://10.1.1.1:8000"
    assert service["model_mount"] is None
    assert plans["node0"]["network"] is None


def test_settings_fill_the_service_part():
    settings = {"node0": {"config_dir": "/srv/vllm", "unit": "vllm-a.service", "runtime": "host", "auth": True}}
    plans = build_plan(topology(), DISCOVERED, settings)
    assert plans["node0"]["service"]["config_dir"] == "/srv/vllm"
    assert plans["node0"]["service"]["unit"] == "vllm-a.service"
    assert plans["node0"]["service"]["runtime"] == "host"
    assert plans["node0"]["service"]["auth"] is True
    # node1 was given nothing: the defaults.
    assert plans["node1"]["service"]["config_dir"] == "/etc/ascend-serving"
    assert plans["node1"]["service"]["runtime"] == "container"


def test_runtime_auto_is_host_for_a_custom_ops_release():
    plans = build_plan(topology(node0={"vllm_install_method": "custom_ops"},
                                node1={"vllm_install_method": "custom_ops"}), DISCOVERED)
    assert plans["node0"]["service"]["runtime"] == "host"


@pytest.mark.parametrize("settings, message", [
    ({"node0": {"runtime": "podman"}}, "node0: vllm_service_runtime is 'podman': it must be one of auto, host, container"),
    ({"node0": {"colour": "red"}}, "settings[node0]: unknown key(s) colour"),
    ({"node0": {"auth": "yes"}}, "settings[node0].auth must be true or false, got 'yes'"),
    ({"node0": {"config_dir": 7}}, "settings[node0].config_dir must be a non-empty string, got 7"),
    ({"node0": ["runtime"]}, "settings[node0] must be a mapping of config_dir, unit, runtime, auth, ops"),
    (["node0"], "settings must map hosts to {config_dir, unit, runtime, auth, ops}"),
    ({"node0": {"ops": {"mirror": "x"}}},
     "settings[node0].ops must be a mapping of root, base_url, image_digest, image_tarball, image_tarball_sha256, "
     "got {'mirror': 'x'}"),
])
def test_bad_settings_are_named(settings, message):
    with pytest.raises(ValueError) as err:
        build_plan(topology(), DISCOVERED, settings)
    assert str(err.value) == message


def test_the_plan_carries_the_operator_install_with_mirror_urls_and_sums():
    custom = {"vllm_install_method": "custom_ops", "vllm_artifact_sha256": {"sfa": "a" * 64}}
    settings = {"node0": {"ops": {"base_url": "http://mirror.example:8080", "root": "/srv/ops"}}}
    plans = build_plan(topology(node0=custom, node1=custom), DISCOVERED, settings)
    ops = plans["node0"]["ops"]
    assert ops["kind"] == "custom_ops" and ops["root"] == "/srv/ops"
    assert [step["name"] for step in ops["steps"]] == ["sfa", "custom_ops_wheel", "mlapo", "torch_npu_wheel",
                                                       "libopsproto"]
    sfa = ops["steps"][0]
    assert sfa["url"] == "http://mirror.example:8080/vllm-ascend/a3/CANN-custom_ops-sfa-linux.aarch64.run"
    assert sfa["sha256"] == "a" * 64 and sfa["problems"] == []
    assert sfa["staged"] == "/srv/ops/artifacts/v0.11.0rc0/a3/CANN-custom_ops-sfa-linux.aarch64.run"
    # the other artifacts have no sum: the plan names each, before anything is downloaded
    assert len(ops["problems"]) == 4 and all("has no sha256" in problem for problem in ops["problems"])
    # node1 has no settings: the upstream site and the default root
    assert plans["node1"]["ops"]["steps"][0]["url"] == (
        "https://vllm-ascend.obs.cn-north-4.myhuaweicloud.com/vllm-ascend/a3/CANN-custom_ops-sfa-linux.aarch64.run")
    assert plans["node1"]["ops"]["stamp"] == "/opt/ascend-serving/ops/v0.11.0rc0-a3.json"


# -- how discovery chooses the NIC: first match wins, the inventory first --------------------------

@pytest.mark.parametrize("role, given, expected", [
    ("node0", {}, {"peer": "192.0.2.11"}),
    ("headless", {}, {"peer": "10.0.0.1"}),
    ("headless", {"nic_name": "enp7"}, {"name": "enp7"}),
    ("headless", {"local_ip": "10.0.0.7"}, {"peer": "10.0.0.7"}),
    ("node0", {"local_ip": "10.0.0.9"}, {"peer": "10.0.0.9"}),
    ("headless", {"nic_name": "enp7", "local_ip": "10.0.0.7", "cidr": "10.0.0.0/24"}, {"name": "enp7"}),
    ("headless", {"cidr": "10.0.0.0/24", "pattern": "enp*"}, {"cidr": "10.0.0.0/24"}),
    ("headless", {"cidr": "10.0.0.0/24", "local_ip": "10.0.0.7"}, {"peer": "10.0.0.7"}),
    ("node0", {"pattern": "enp*"}, {"name": "enp*"}),
    ("headless", {"pattern": "enp*", "local_ip": "10.0.0.7"}, {"peer": "10.0.0.7"}),
])
def test_nic_query_first_match_wins(role, given, expected):
    assert nic_query(role, own_address="192.0.2.11", node0_address="10.0.0.1", **given) == expected


def test_nic_query_needs_a_route_target():
    with pytest.raises(ValueError) as err:
        nic_query("headless", own_address="192.0.2.12")
    assert str(err.value) == "nic_query: a headless host needs node0's address to find its NIC by route"


# -- unpinned: the plan step's warning ------------------------------------------------------------

def test_unpinned_names_the_image_and_the_hub_id_with_their_hosts():
    lines = unpinned(topology(W8A8_A3))
    assert lines == [
        "hosts node0, node1: image %s is not pinned by digest (a tag can move to another build): set "
        "vllm_image_digest: sha256:<its registry digest> (preflight_require_checksums: true refuses this; "
        "docs/profiles.md, Pins)" % IMAGE_A3,
        "hosts node0, node1: model vllm-ascend/DeepSeek-V3.2-Exp-W8A8 is a hub id with no revision: vLLM downloads "
        "whatever its default branch holds and runs its code as root (trust_remote_code); set vllm_model_revision "
        "(or model_weights_revision) to a commit or tag (preflight_require_checksums: true refuses this; "
        "docs/profiles.md, Pins)",
    ]


def test_pinned_image_and_local_weights_are_not_named():
    digest = "sha256:" + "a" * 64
    assert unpinned(topology(node0={"vllm_image_digest": digest}, node1={"vllm_image_digest": digest})) == []
    assert unpinned(topology(node1={"vllm_image_digest": digest})) == [
        "host node0: image %s is not pinned by digest (a tag can move to another build): set vllm_image_digest: "
        "sha256:<its registry digest> (preflight_require_checksums: true refuses this; docs/profiles.md, Pins)"
        % IMAGE_A3]


# -- the renderer -----------------------------------------------------------------------------------

def test_review_mode_is_the_seed_shaped_script():
    plan = build_plan(topology())["node1"]
    assert render(plan, "review") == {"node1.sh": render_script(plan)}
    # nothing discovered: the script finds node0's address at run time
    assert "node0_ip=192.0.2.11" in render(plan, "review")["node1.sh"]


def test_deploy_mode_writes_the_service_files_from_the_plan():
    plan = build_plan(topology(), DISCOVERED)["node1"]
    files = render(plan, "deploy", image_id="sha256:" + "b" * 64, managed_comment="managed here")
    assert sorted(files) == ["ascend-vllm.service", "hccl.env", "launch.sh", "state.json"]
    launch = files["launch.sh"].splitlines()
    assert launch[0] == "#!/bin/sh"
    assert launch[2] == "# image: %s (sha256:%s)" % (IMAGE_A3, "b" * 64)
    assert ". /etc/ascend-serving/hccl.env" in launch
    assert ". /etc/ascend-serving/secret.env" not in launch
    assert launch[-1].startswith("exec docker run --rm --pull=never --name vllm-ascend --net=host")
    assert "-v /root/.cache/Modelers_Park:/root/.cache/Modelers_Park" in launch[-1]
    assert "--device /dev/davinci15 --device /dev/davinci_manager" in launch[-1]
    assert " sha256:%s vllm serve /root/.cache/Modelers_Park/DeepSeek-V3.2-Exp " % ("b" * 64) in launch[-1]
    assert "--data-parallel-address 10.0.0.1" in launch[-1]
    unit = files["ascend-vllm.service"].splitlines()
    assert unit[0] == "# managed here"
    assert "ExecStart=/etc/ascend-serving/launch.sh" in unit
    state = json.loads(files["state.json"])
    assert state["endpoint"] == "http://10.0.0.1:8000"
    assert state["runtime"] == "container" and state["image"] == IMAGE_A3 and state["image_id"] == "sha256:" + "b" * 64
    assert files["state.json"].endswith("}\n") and files["state.json"].startswith('{\n    "artifacts": {},\n')
    assert "export HCCL_IF_IP=10.0.0.2" in files["hccl.env"] and "export GLOO_SOCKET_IFNAME=enp2" in files["hccl.env"]


def test_deploy_mode_follows_config_dir_unit_and_auth():
    settings = {"node0": {"config_dir": "/srv/vllm", "unit": "vllm-a.service", "runtime": "host", "auth": True}}
    files = render(build_plan(topology(), DISCOVERED, settings)["node0"], "deploy")
    assert sorted(files) == ["hccl.env", "launch.sh", "state.json", "vllm-a.service"]
    launch = files["launch.sh"].splitlines()
    assert launch[3:5] == [". /srv/vllm/hccl.env", ". /srv/vllm/secret.env"]
    assert ': "${VLLM_API_KEY:?is not set: the API key file did not export it}"' in launch
    assert any(line.endswith("> /run/ascend-serving/vllm-a.service.digest") for line in launch)
    assert launch[-1].startswith("exec vllm serve /root/.cache/Modelers_Park/DeepSeek-V3.2-Exp --host 0.0.0.0 ")
    assert "ExecStart=/srv/vllm/launch.sh" in files["vllm-a.service"].splitlines()
    assert json.loads(files["state.json"])["auth"] is True


def test_deploy_mode_refuses_addresses_left_to_run_time():
    plan = build_plan(topology())["node1"]
    with pytest.raises(RenderError) as err:
        render(plan, "deploy")
    assert str(err.value).startswith("node1: deploy mode needs every address known, but local_ip, nic_name "
                                     "are left to run time: discover the NICs first")


def test_unknown_mode_and_a_plan_without_service_part():
    plan = build_plan(topology(), DISCOVERED)["node0"]
    with pytest.raises(RenderError) as err:
        render(plan, "preview")
    assert str(err.value) == "render mode must be one of review, deploy, got 'preview'"
    del plan["service"]
    with pytest.raises(RenderError) as err:
        render(plan, "deploy")
    assert "the plan of node0 has no service part" in str(err.value)
