# -*- coding: utf-8 -*-
"""Profiles: layering, overrides, per-hardware fragments, validation."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import os

import pytest
import yaml

from ansible_collections.ascend.serving.plugins.module_utils.profile import (
    ProfileError,
    ProfileStore,
    deep_merge,
    default_profile_dir,
    host_overrides,
    install_method,
    missing_checksums,
    missing_pins,
    profile_problems,
)

STORE = ProfileStore([default_profile_dir()], yaml.safe_load)

EXPECTED_PROFILES = sorted(
    "deepseek-v3.2-exp-%s-%s-%s" % (model, hw, release)
    for model in ("w8a8", "bf16") for hw in ("a2", "a3") for release in ("v0.11.0rc0", "v0.12.0rc1"))

OBS = "https://vllm-ascend.obs.cn-north-4.myhuaweicloud.com/vllm-ascend/"


def test_shipped_profiles_are_listed():
    assert STORE.names() == EXPECTED_PROFILES


@pytest.mark.parametrize("name", EXPECTED_PROFILES)
def test_every_shipped_profile_resolves_cleanly(name):
    profile = STORE.resolve(name)
    assert profile["profile"]["name"] == name
    assert profile_problems(profile) == []
    model, hw, release = name.split("-")[3], name.split("-")[4], name.split("-", 5)[5]
    assert profile["model"]["weights"] == model
    assert profile["hardware"]["name"] == hw
    assert profile["release"]["name"] == release
    assert profile["parallel"]["tensor_parallel_size"] == {"a2": 8, "a3": 16}[hw]
    assert "per_hardware" not in profile


def test_layers_merge_in_order_later_wins():
    profile = STORE.resolve("deepseek-v3.2-exp-w8a8-a2-v0.12.0rc1")
    # hardware/a2 sets AIV, releases/v0.12.0rc1 (later) unsets it; expandable_segments stays.
    assert profile["env"]["HCCL_OP_EXPANSION_MODE"] is None
    assert profile["env"]["PYTORCH_NPU_ALLOC_CONF"] == "expandable_segments:True"
    assert profile["env"]["OMP_NUM_THREADS"] == {"multi_node": "10"}
    assert profile["additional_config"] is None
    assert profile["profile"]["layers"] == [
        "base/default", "models/deepseek-v3.2-exp-w8a8", "hardware/a2", "releases/v0.12.0rc1"]


def test_release_v0110rc0_data():
    for hw in ("a2", "a3"):
        profile = STORE.resolve("deepseek-v3.2-exp-w8a8-%s-v0.11.0rc0" % hw)
        release = profile["release"]
        assert release["install_method"] == "image"
        assert release["cann_version"] == "8.2.RC1"
        image = release["install_methods"]["image"]["image"]
        assert release["image"] == image  # derived: the selected method's image
        assert image == {"a2": "quay.io/ascend/vllm-ascend:v0.11.0rc0-deepseek-v3.2-exp",
                         "a3": "quay.io/ascend/vllm-ascend:v0.11.0rc0-a3-deepseek-v3.2-exp"}[hw]
        ops = release["install_methods"]["custom_ops"]
        urls = dict((k, a["url"]) for k, a in ops["artifacts"].items())
        assert urls == {
            "sfa": OBS + hw + "/CANN-custom_ops-sfa-linux.aarch64.run",
            "custom_ops_wheel": OBS + hw + "/custom_ops-1.0-cp311-cp311-linux_aarch64.whl",
            "mlapo": OBS + hw + "/CANN-custom_ops-mlapo-linux.aarch64.run",
            "torch_npu_wheel": OBS + hw + "/torch_npu-2.7.1%2Bgitb7c90d0-cp311-cp311-linux_aarch64.whl",
            "libopsproto": OBS + hw + "/libopsproto_rt2.0.so",
        }
        assert sorted(ops["install_order"]) == sorted(ops["artifacts"])
        # Upstream publishes no checksums: the shipped data leaves them to the operator.
        assert all(a["sha256"] is None for a in ops["artifacts"].values())
        assert ops["artifacts"]["libopsproto"]["dest"] == (
            "/usr/local/Ascend/ascend-toolkit/8.2.RC1/opp/built-in/op_proto/lib/linux/aarch64/libopsproto_rt2.0.so")
        assert ops["artifacts"]["mlapo"]["args"] == ["--quiet", "--install-path=/vllm-workspace/CANN"]
        assert ops["env"] == {
            "ASCEND_CUSTOM_OPP_PATH":
                "/usr/local/Ascend/ascend-toolkit/latest/opp/vendors/customize:${ASCEND_CUSTOM_OPP_PATH}",
            "LD_LIBRARY_PATH":
                "/usr/local/Ascend/ascend-toolkit/latest/opp/vendors/customize/op_api/lib/:${LD_LIBRARY_PATH}",
            "LD_PRELOAD":
                "/vllm-workspace/CANN/vendors/customize/op_proto/lib/linux/aarch64/libcust_opsproto_rt2.0.so:${LD_PRELOAD}",
        }
        assert ops["source"] == ["/vllm-workspace/CANN/vendors/customize/bin/set_env.bash"]
        assert profile["additional_config"] == {
            "ascend_scheduler_config": {"enabled": True},
            "torchair_graph_config": {"enabled": True, "graph_batch_sizes": [16]},
        }


def test_release_v0120rc1_has_no_custom_ops():
    for hw in ("a2", "a3"):
        release = STORE.resolve("deepseek-v3.2-exp-bf16-%s-v0.12.0rc1" % hw)["release"]
        assert list(release["install_methods"]) == ["image"]
        assert release["install_methods"]["image"]["image"] == {
            "a2": "quay.io/ascend/vllm-ascend:v0.12.0rc1", "a3": "quay.io/ascend/vllm-ascend:v0.12.0rc1-a3"}[hw]


def test_deep_merge_semantics():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": "x"}
    merged = deep_merge(base, {"a": {"c": [3], "e": None}, "d": None})
    assert merged == {"a": {"b": 1, "c": [3], "e": None}, "d": None}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": "x"}  # untouched


def test_inventory_overrides_then_well_known_vars():
    host_vars = {
        "vllm_profile": "deepseek-v3.2-exp-w8a8-a3-v0.11.0rc0",
        "vllm_profile_overrides": {"serve": {"max_model_len": 8192, "enforce_eager": True, "port": 9000},
                                   "env": {"HCCL_CONNECT_TIMEOUT": "1200"}},
        "vllm_port": "8001",  # -e gives strings: numbers are converted
        "vllm_gpu_memory_utilization": 0.9,
        "vllm_env": {"EXTRA": "1"},
        "vllm_service_something": "ignored",
    }
    profile = STORE.resolve_for_host(host_vars)
    assert profile["serve"]["max_model_len"] == 8192
    assert profile["serve"]["enforce_eager"] is True
    assert profile["serve"]["port"] == 8001  # the well-known var beats vllm_profile_overrides
    assert profile["serve"]["gpu_memory_utilization"] == 0.9
    assert profile["env"]["HCCL_CONNECT_TIMEOUT"] == "1200"
    assert profile["env"]["EXTRA"] == "1"
    assert profile["env"]["VLLM_USE_MODELSCOPE"] == {"single_node": "true", "multi_node": "True"}
    assert len(host_overrides(host_vars)) == 2


def test_overrides_can_switch_hardware_fragments():
    profile = STORE.resolve("deepseek-v3.2-exp-w8a8-a3-v0.11.0rc0", [{"hardware": {"name": "a2"}}])
    assert profile["release"]["install_methods"]["image"]["image"].endswith(":v0.11.0rc0-deepseek-v3.2-exp")


def test_artifact_vars_fill_checksums_and_mirror():
    sums = dict((k, "%064x" % i) for i, k in enumerate(
        ("sfa", "custom_ops_wheel", "mlapo", "torch_npu_wheel", "libopsproto")))
    host_vars = {"vllm_profile": "deepseek-v3.2-exp-w8a8-a3-v0.11.0rc0", "vllm_install_method": "custom_ops",
                 "vllm_artifact_sha256": sums, "vllm_artifact_base_url": "http://mirror.example/a3",
                 "vllm_model_revision": "v1.0"}
    profile = STORE.resolve_for_host(host_vars)
    method = install_method(profile)
    assert method["artifacts"]["sfa"]["sha256"] == sums["sfa"]
    assert method["artifacts"]["torch_npu_wheel"]["url"] == (
        "http://mirror.example/a3/torch_npu-2.7.1%2Bgitb7c90d0-cp311-cp311-linux_aarch64.whl")
    assert missing_checksums(profile) == []
    assert profile_problems(profile, require_checksums=True) == []


def test_release_image_follows_the_install_method_unless_set():
    custom = STORE.resolve_for_host({"vllm_profile": "deepseek-v3.2-exp-w8a8-a3-v0.11.0rc0",
                                     "vllm_install_method": "custom_ops"})
    assert custom["release"]["image"] == "quay.io/ascend/vllm-ascend:v0.11.0rc0-a3"
    private = STORE.resolve_for_host({"vllm_profile": "deepseek-v3.2-exp-w8a8-a3-v0.11.0rc0",
                                      "vllm_profile_overrides": {"release": {"image": "registry.local/vllm:x"}}})
    assert private["release"]["image"] == "registry.local/vllm:x"


def test_missing_checksums_are_required_when_asked():
    profile = STORE.resolve_for_host({"vllm_profile": "deepseek-v3.2-exp-w8a8-a2-v0.11.0rc0",
                                      "vllm_install_method": "custom_ops", "vllm_model_revision": "v1.0"})
    assert missing_checksums(profile) == ["custom_ops_wheel", "libopsproto", "mlapo", "sfa", "torch_npu_wheel"]
    assert profile_problems(profile) == []
    problems = profile_problems(profile, require_checksums=True)
    assert len(problems) == 5
    assert all("upstream publishes no checksums" in p and "vllm_artifact_sha256" in p for p in problems)
    # The image method has no artifacts to check; its image digest (test_pins_*) is another matter.
    image = STORE.resolve_for_host({"vllm_profile": "deepseek-v3.2-exp-w8a8-a2-v0.11.0rc0",
                                    "vllm_image_digest": "sha256:" + "a" * 64, "vllm_model_revision": "v1.0"})
    assert profile_problems(image, require_checksums=True) == []


def test_unknown_artifact_name_is_refused():
    with pytest.raises(ProfileError, match="has no artifact 'sfaa'; known: custom_ops_wheel"):
        STORE.resolve_for_host({"vllm_profile": "deepseek-v3.2-exp-w8a8-a2-v0.11.0rc0",
                                "vllm_install_method": "custom_ops", "vllm_artifact_sha256": {"sfaa": "0" * 64}})


@pytest.mark.parametrize("host_vars, message", [
    ({}, "vllm_profile is not set"),
    ({"vllm_profile": "nope"}, "unknown profile 'nope': set vllm_profile to one of: deepseek-v3.2-exp-bf16-a2"),
    ({"vllm_profile": "../etc/passwd"}, "is not a profile name"),
    ({"vllm_profile": "deepseek-v3.2-exp-w8a8-a2-v0.11.0rc0", "vllm_profile_overrides": "x"},
     "vllm_profile_overrides must be a mapping"),
])
def test_resolution_errors(host_vars, message):
    with pytest.raises(ProfileError, match=message.replace(".", r"\.").replace("(", r"\(")):
        STORE.resolve_for_host(host_vars)


@pytest.mark.parametrize("overrides, message", [
    ({"serve": {"tensor_parallel_size": 4}}, "serve.tensor_parallel_size: the plan sets this option from "
                                             "parallel.tensor_parallel_size"),
    ({"serve": {"headless": True}}, "serve.headless: the plan sets this option from the vllm_headless group"),
    ({"serve": {"Max-Len": 1}}, "serve.Max-Len: option keys are vllm serve flags in snake_case"),
    ({"env": {"OMP_PROC_BIND": False}}, "env.OMP_PROC_BIND is False: environment values are strings; quote it"),
    ({"env": {"X": {"everywhere": "1"}}}, "env.X: scoped values may only use single_node / multi_node"),
    ({"env": {"1BAD": "1"}}, "env.1BAD is not a valid environment variable name"),
    ({"parallel": {"tensor_parallel_size": "eight"}}, "parallel.tensor_parallel_size is 'eight': it must be an "
                                                      "integer >= 1"),
    ({"parallel": {"data_parallel_rpc_port": 70000}}, "parallel.data_parallel_rpc_port is 70000: it must be an "
                                                      "integer 1..65535"),
    ({"release": {"install_method": "rpm"}}, "release.install_method is 'rpm' but release v0.11.0rc0 supports: "
                                             "custom_ops, image"),
    ({"additional_config": "{}"}, "additional_config must be a mapping"),
    ({"model": {"path": ""}}, "model.path is not set"),
])
def test_profile_problems_name_the_key(overrides, message):
    profile = STORE.resolve("deepseek-v3.2-exp-w8a8-a2-v0.11.0rc0", [overrides])
    problems = profile_problems(profile)
    assert len(problems) == 1, problems
    assert problems[0].startswith("profile deepseek-v3.2-exp-w8a8-a2-v0.11.0rc0: " + message), problems[0]


def test_install_method_unsupported_by_release():
    profile = STORE.resolve_for_host({"vllm_profile": "deepseek-v3.2-exp-w8a8-a2-v0.12.0rc1",
                                      "vllm_install_method": "custom_ops"})
    assert profile_problems(profile) == [
        "profile deepseek-v3.2-exp-w8a8-a2-v0.12.0rc1: release.install_method is 'custom_ops' but release "
        "v0.12.0rc1 supports: image (set vllm_install_method)"]


def test_operator_profile_dirs_come_first(tmp_path):
    own = tmp_path / "profiles"
    (own / "models").mkdir(parents=True)
    (own / "models" / "tiny.yml").write_text(
        "model: {name: tiny, path: /models/tiny, weights: bf16, min_npus: 1}\nserve: {served_model_name: tiny}\n")
    (own / "tiny-a3.yml").write_text(
        "layers: [base/default, models/tiny, hardware/a3, releases/v0.12.0rc1]\n"
        "overrides: {parallel: {tensor_parallel_size: 4}}\n")
    store = ProfileStore([str(own), default_profile_dir()], yaml.safe_load)
    assert "tiny-a3" in store.names() and "deepseek-v3.2-exp-bf16-a3-v0.11.0rc0" in store.names()
    profile = store.resolve("tiny-a3")
    assert profile["model"]["path"] == "/models/tiny"
    assert profile["parallel"]["tensor_parallel_size"] == 4
    assert profile["hardware"]["npus_per_node"] == 16
    assert profile_problems(profile) == []


def test_bad_layer_reference(tmp_path):
    (tmp_path / "broken.yml").write_text("layers: [models/nothing-here]\n")
    (tmp_path / "weird.yml").write_text("layers: [../../x]\n")
    (tmp_path / "empty.yml").write_text("description: no layers\n")
    store = ProfileStore([str(tmp_path)], yaml.safe_load)
    with pytest.raises(ProfileError, match="profile layer 'models/nothing-here' not found"):
        store.resolve("broken")
    with pytest.raises(ProfileError, match="is not of the form <kind>/<name>"):
        store.resolve("weird")
    with pytest.raises(ProfileError, match="must list its layers"):
        store.resolve("empty")


def test_default_profile_dir_is_in_the_collection():
    assert default_profile_dir().endswith(os.path.join("playbooks", "vars", "profiles"))
    assert os.path.isdir(os.path.join(default_profile_dir(), "releases"))


# -- supply-chain pins: image digest, hub revision (issue 21 item 8) --------------------------------
W8A8_A3 = "deepseek-v3.2-exp-w8a8-a3-v0.11.0rc0"
DIGEST = "sha256:" + "ab" * 32


def test_pins_are_required_under_require_checksums_and_named():
    profile = STORE.resolve_for_host({"vllm_profile": W8A8_A3})
    assert profile_problems(profile) == []
    problems = profile_problems(profile, require_checksums=True)
    assert len(problems) == 2
    image, model = problems
    assert image.startswith("profile %s: release v0.11.0rc0 install method image: image "
                            "quay.io/ascend/vllm-ascend:v0.11.0rc0-a3-deepseek-v3.2-exp is not pinned by digest" % W8A8_A3)
    for fragment in ("set vllm_image_digest: sha256:<digest>", "release.install_methods.image.digest",
                     "docker image inspect --format '{{index .RepoDigests 0}}'", "preflight_require_checksums is true"):
        assert fragment in image
    assert "model vllm-ascend/DeepSeek-V3.2-Exp-W8A8 is a hub id with no revision" in model
    assert "trust_remote_code runs that repository's Python code as root" in model
    assert "set vllm_model_revision (or model_weights_revision)" in model


def test_pins_missing_are_listed_without_failing():
    profile = STORE.resolve_for_host({"vllm_profile": W8A8_A3})
    assert [text.split(":")[0] for text in missing_pins(profile)] == [
        "release v0.11.0rc0 install method image", "model vllm-ascend/DeepSeek-V3.2-Exp-W8A8 is a hub id with no revision"]
    # BF16 serves a local directory: only the image is unpinned; custom_ops pulls no image.
    bf16 = STORE.resolve_for_host({"vllm_profile": "deepseek-v3.2-exp-bf16-a3-v0.11.0rc0"})
    assert len(missing_pins(bf16)) == 1 and "is not pinned by digest" in missing_pins(bf16)[0]
    custom = STORE.resolve_for_host({"vllm_profile": "deepseek-v3.2-exp-bf16-a3-v0.11.0rc0",
                                     "vllm_install_method": "custom_ops"})
    assert missing_pins(custom) == []


def test_pins_from_the_inventory_fill_the_profile():
    profile = STORE.resolve_for_host({"vllm_profile": W8A8_A3, "vllm_image_digest": DIGEST,
                                      "vllm_model_revision": "v1.0"})
    assert install_method(profile)["digest"] == DIGEST
    assert profile["model"]["revision"] == "v1.0"
    # A hub id is downloaded by vLLM: the revision is passed to `vllm serve --revision`.
    assert profile["serve"]["revision"] == "v1.0"
    assert missing_pins(profile) == [] and profile_problems(profile, require_checksums=True) == []
    # model_weights_revision (the model_weights role's variable) is the same pin.
    same = STORE.resolve_for_host({"vllm_profile": W8A8_A3, "model_weights_revision": "abc123"})
    assert same["model"]["revision"] == same["serve"]["revision"] == "abc123"
    # A local directory keeps the revision for the download but vllm serve gets no --revision.
    local = STORE.resolve_for_host({"vllm_profile": W8A8_A3, "vllm_model_path": "/data/w8a8",
                                    "vllm_model_revision": "v1.0"})
    assert local["model"]["revision"] == "v1.0" and "revision" not in local["serve"]
    assert [p for p in missing_pins(local) if "hub id" in p] == []


def test_pins_disagreeing_revisions_are_refused():
    with pytest.raises(ProfileError, match="vllm_model_revision and model_weights_revision disagree "
                                           r"\(vllm_model_revision=v1, model_weights_revision=v2\)"):
        STORE.resolve_for_host({"vllm_profile": W8A8_A3, "vllm_model_revision": "v1", "model_weights_revision": "v2"})


@pytest.mark.parametrize("host_vars, message", [
    ({"vllm_image_digest": "sha256:XYZ"},
     "release.install_methods.image.digest is 'sha256:XYZ': an image digest is sha256:<64 lowercase hex digits> "
     "(fix vllm_image_digest)"),
    ({"vllm_image_digest": "ab" * 32}, "an image digest is sha256:<64 lowercase hex digits>"),
    ({"vllm_model_revision": "v1 --trust-remote-code"}, "model.revision is 'v1 --trust-remote-code': a revision is"),
    ({"vllm_profile_overrides": {"serve": {"revision": "main"}}},
     "serve.revision is 'main' but model.revision is None: the pin is model.revision (vllm_model_revision)"),
])
def test_pins_malformed_are_always_refused(host_vars, message):
    profile = STORE.resolve_for_host(dict(host_vars, vllm_profile=W8A8_A3))
    problems = profile_problems(profile)
    assert len(problems) == 1 and message in problems[0], problems
