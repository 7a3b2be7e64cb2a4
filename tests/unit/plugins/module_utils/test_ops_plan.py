# -*- coding: utf-8 -*-
"""The operator-install plan of role ascend_ops: the bundled releases' plans written out by hand,
every invalid artifact with its own message, and the decisions taken from a node's probe."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import copy
import json

import pytest
import yaml

from ansible_collections.ascend.serving.plugins.filter.ops_plan import FilterModule
from ansible_collections.ascend.serving.plugins.module_utils.ops_plan import (
    UPSTREAM,
    backups,
    build_ops_plan,
    missing_after_install,
    needed_steps,
    node_problems,
)
from ansible_collections.ascend.serving.plugins.module_utils.profile import ProfileStore, default_profile_dir

STORE = ProfileStore([default_profile_dir()], yaml.safe_load)

W8A8_A3 = "deepseek-v3.2-exp-w8a8-a3-v0.11.0rc0"
BF16_A2 = "deepseek-v3.2-exp-bf16-a2-v0.11.0rc0"
W8A8_A3_012 = "deepseek-v3.2-exp-w8a8-a3-v0.12.0rc1"
MIRROR = "http://mirror.example:8080/obs/"
SUMS = {"sfa": "1" * 64, "custom_ops_wheel": "2" * 64, "mlapo": "3" * 64, "torch_npu_wheel": "4" * 64,
        "libopsproto": "5" * 64}
TOOLKIT = "/usr/local/Ascend/ascend-toolkit"
OPP = TOOLKIT + "/latest/opp"
LIB_DEST = TOOLKIT + "/8.2.RC1/opp/built-in/op_proto/lib/linux/aarch64/libopsproto_rt2.0.so"
STAGING = "/srv/ops/artifacts/v0.11.0rc0/a3"
DIGEST = "sha256:" + "a" * 64


def profile(name=W8A8_A3, method="custom_ops", **host_vars):
    host_vars.update({"vllm_profile": name, "vllm_install_method": method})
    return STORE.resolve_for_host(host_vars)


def seed_custom_ops(**host_vars):
    host_vars.setdefault("vllm_artifact_sha256", dict(SUMS))
    return profile(**host_vars)


# -- valid: the seed's custom_ops release, written out from the bundled profiles ------------------

def test_seed_custom_ops_steps_after_the_mirror_rewrite():
    plan = build_ops_plan(seed_custom_ops(), root="/srv/ops", base_url=MIRROR)
    assert plan["problems"] == []
    assert (plan["kind"], plan["release"], plan["hardware"], plan["method_name"]) == (
        "custom_ops", "v0.11.0rc0", "a3", "custom_ops")
    assert [s["name"] for s in plan["steps"]] == ["sfa", "custom_ops_wheel", "mlapo", "torch_npu_wheel", "libopsproto"]
    sfa, wheel, mlapo, torch_npu, lib = plan["steps"]
    assert sfa == {
        "name": "sfa", "kind": "run", "file": "CANN-custom_ops-sfa-linux.aarch64.run", "sha256": "1" * 64,
        "url": "http://mirror.example:8080/obs/vllm-ascend/a3/CANN-custom_ops-sfa-linux.aarch64.run",
        "args": ["--quiet"], "staged": STAGING + "/CANN-custom_ops-sfa-linux.aarch64.run", "install_path": "",
        "creates": "/usr/local/Ascend/ascend-toolkit/latest/opp/vendors/customize/op_api",
        "dist": "", "version": "", "python_tag": "", "dest": "", "backup": "", "problems": []}
    assert wheel == {
        "name": "custom_ops_wheel", "kind": "wheel", "file": "custom_ops-1.0-cp311-cp311-linux_aarch64.whl",
        "sha256": "2" * 64,
        "url": "http://mirror.example:8080/obs/vllm-ascend/a3/custom_ops-1.0-cp311-cp311-linux_aarch64.whl",
        "args": [], "staged": STAGING + "/custom_ops-1.0-cp311-cp311-linux_aarch64.whl", "install_path": "",
        "creates": "", "dist": "custom_ops", "version": "1.0", "python_tag": "cp311", "dest": "", "backup": "",
        "problems": []}
    assert (mlapo["install_path"], mlapo["creates"], mlapo["args"]) == (
        "/vllm-workspace/CANN", "/vllm-workspace/CANN/vendors/customize/bin/set_env.bash",
        ["--quiet", "--install-path=/vllm-workspace/CANN"])
    # The URL keeps the profile's %2B; the staged file name is the real one.
    assert torch_npu["url"] == ("http://mirror.example:8080/obs/vllm-ascend/a3/"
                                "torch_npu-2.7.1%2Bgitb7c90d0-cp311-cp311-linux_aarch64.whl")
    assert torch_npu["staged"] == STAGING + "/torch_npu-2.7.1+gitb7c90d0-cp311-cp311-linux_aarch64.whl"
    assert (torch_npu["dist"], torch_npu["version"], torch_npu["python_tag"]) == ("torch_npu", "2.7.1+gitb7c90d0", "cp311")
    assert (lib["kind"], lib["dest"], lib["backup"], lib["creates"]) == (
        "file", LIB_DEST, "/srv/ops/backup" + LIB_DEST, "")
    assert lib["url"] == "http://mirror.example:8080/obs/vllm-ascend/a3/libopsproto_rt2.0.so"


def test_seed_custom_ops_paths_probe_and_snapshot():
    plan = build_ops_plan(seed_custom_ops(), root="/srv/ops", base_url=MIRROR)
    assert (plan["toolkit"], plan["opp"], plan["staging"]) == (TOOLKIT, OPP, STAGING)
    assert plan["stamp"] == "/srv/ops/ops/v0.11.0rc0-a3.json"
    assert (plan["backup_root"], plan["snapshot_root"]) == ("/srv/ops/backup", "/srv/ops/backup")
    assert (plan["cann_version"], plan["vllm_ascend_version"], plan["mlapo_install_path"]) == (
        "8.2.RC1", "0.11.0rc0", "/vllm-workspace/CANN")
    env = ["/usr/local/Ascend/ascend-toolkit/latest/opp/vendors/customize",
           "/usr/local/Ascend/ascend-toolkit/latest/opp/vendors/customize/op_api/lib/",
           "/vllm-workspace/CANN/vendors/customize/op_proto/lib/linux/aarch64/libcust_opsproto_rt2.0.so",
           "/vllm-workspace/CANN/vendors/customize/bin/set_env.bash"]
    assert plan["env_paths"] == env
    assert plan["probe_spec"] == {
        "dists": ["custom_ops", "torch_npu"],
        "exists": ["/usr/local/Ascend/ascend-toolkit/latest/opp/vendors/customize/op_api",
                   "/vllm-workspace/CANN/vendors/customize/bin/set_env.bash",
                   TOOLKIT + "/8.2.RC1/opp/built-in/op_proto/lib/linux/aarch64",
                   "/srv/ops/backup" + LIB_DEST, OPP] + env,
        "sha256": [LIB_DEST],
        "stamp": "/srv/ops/ops/v0.11.0rc0-a3.json"}
    assert plan["snapshot_dists"] == ["custom_ops", "torch_npu"]
    assert plan["snapshot_run_paths"] == [
        "/usr/local/Ascend/ascend-toolkit/latest/opp/vendors/customize",
        "/usr/local/Ascend/ascend-toolkit/latest/opp/vendors/config.ini",
        "/vllm-workspace/CANN/vendors/customize", "/vllm-workspace/CANN/vendors/config.ini"]
    assert plan["snapshot_file_paths"] == [LIB_DEST]
    assert plan["stamp_steps"]["mlapo"] == {"kind": "run", "file": "CANN-custom_ops-mlapo-linux.aarch64.run",
                                            "sha256": "3" * 64}
    assert plan["uses_root"] is True
    # Self-contained: the plan goes through JSON unchanged (the plan step hands it over as data).
    assert json.loads(json.dumps(plan)) == plan


def test_upstream_default_and_other_urls():
    prof = seed_custom_ops(name=BF16_A2)
    method = prof["release"]["install_methods"]["custom_ops"]
    method["artifacts"]["sfa"]["url"] = "https://elsewhere.example/sfa.run"
    del method["artifacts"]["mlapo"]["url"]  # url_path alone: the upstream layout
    plan = build_ops_plan(prof)
    urls = dict((s["name"], s["url"]) for s in plan["steps"])
    assert urls["sfa"] == "https://elsewhere.example/sfa.run"
    assert urls["mlapo"] == UPSTREAM + "/vllm-ascend/a2/CANN-custom_ops-mlapo-linux.aarch64.run"
    assert urls["libopsproto"] == "https://vllm-ascend.obs.cn-north-4.myhuaweicloud.com/vllm-ascend/a2/libopsproto_rt2.0.so"
    assert plan["staging"] == "/opt/ascend-serving/artifacts/v0.11.0rc0/a2"


def test_inventory_base_url_and_upper_case_sums():
    sums = dict(SUMS, sfa="ABCDEF" + "0" * 58)
    plan = build_ops_plan(seed_custom_ops(vllm_artifact_base_url="http://other.example/a3",
                                          vllm_artifact_sha256=sums), base_url=MIRROR)
    assert plan["steps"][0]["url"] == "http://other.example/a3/CANN-custom_ops-sfa-linux.aarch64.run"
    assert plan["steps"][0]["sha256"] == "abcdef" + "0" * 58
    assert plan["problems"] == []


def test_image_method_pinned_and_offline():
    prof = profile(method="image")
    plan = build_ops_plan(prof, root="/srv/ops", base_url=MIRROR, image_digest=DIGEST,
                          image_tarball="/images/v0.11.tar.gz", image_tarball_sha256="B" * 64)
    assert plan["kind"] == "image"
    assert plan["steps"] == [] and plan["problems"] == [] and plan["image_problems"] == []
    assert plan["image"] == "quay.io/ascend/vllm-ascend:v0.11.0rc0-a3-deepseek-v3.2-exp"
    assert plan["image_digest"] == DIGEST
    assert plan["pull_ref"] == "quay.io/ascend/vllm-ascend@" + DIGEST
    assert plan["tarball_url"] == "http://mirror.example:8080/obs/images/v0.11.tar.gz"
    assert plan["tarball_path"] == "/srv/ops/images/v0.11.tar.gz"
    assert plan["images_dir"] == "/srv/ops/images"
    assert plan["uses_root"] is True


def test_image_method_by_tag_with_the_profile_digest_and_a_full_archive_url():
    prof = profile(W8A8_A3_012, method="image", vllm_image_digest=DIGEST)
    plan = build_ops_plan(prof, image_tarball="file:///srv/mirror/x.tar.gz", image_tarball_sha256="c" * 64)
    assert (plan["image"], plan["image_digest"]) == ("quay.io/ascend/vllm-ascend:v0.12.0rc1-a3", DIGEST)
    assert plan["tarball_url"] == "file:///srv/mirror/x.tar.gz"
    assert plan["tarball_path"] == "/opt/ascend-serving/images/x.tar.gz"
    unpinned = build_ops_plan(profile(W8A8_A3_012, method="image"))
    assert (unpinned["image_digest"], unpinned["pull_ref"]) == ("", "quay.io/ascend/vllm-ascend:v0.12.0rc1-a3")
    assert unpinned["uses_root"] is False  # no archive: nothing is kept under the root


def test_a_method_with_nothing_to_install():
    prof = profile(W8A8_A3_012, method="image")
    prof["release"]["install_methods"]["image"]["image"] = None
    plan = build_ops_plan(prof)
    assert (plan["kind"], plan["steps"], plan["uses_root"]) == ("none", [], False)


def test_install_order_defaults_to_the_sorted_names_and_creates_can_be_given():
    prof = seed_custom_ops()
    method = prof["release"]["install_methods"]["custom_ops"]
    method["install_order"] = None
    method["cann_toolkit_path"] = "/opt/cann"
    method["artifacts"]["sfa"]["creates"] = "/opt/cann/latest/opp/vendors/sfa/op_api"
    plan = build_ops_plan(prof)
    assert [s["name"] for s in plan["steps"]] == ["custom_ops_wheel", "libopsproto", "mlapo", "sfa", "torch_npu_wheel"]
    assert plan["opp"] == "/opt/cann/latest/opp"
    assert plan["steps"][3]["creates"] == "/opt/cann/latest/opp/vendors/sfa/op_api"
    assert plan["snapshot_run_paths"] == ["/vllm-workspace/CANN/vendors/customize", "/vllm-workspace/CANN/vendors/config.ini",
                                          "/opt/cann/latest/opp/vendors/sfa", "/opt/cann/latest/opp/vendors/config.ini"]


def test_env_paths_are_absolute_parts_without_variables_once_each():
    prof = seed_custom_ops()
    method = prof["release"]["install_methods"]["custom_ops"]
    method["env"] = {"A": "/a:/b/$HOME/c:relative:${A}", "B": {"multi_node": "/b:/a", "single_node": None}, "C": None}
    method["source"] = ["/s.sh", "/a"]
    assert build_ops_plan(prof)["env_paths"] == ["/a", "/b", "/s.sh"]


def test_the_filter_is_the_planner():
    filters = FilterModule().filters()
    prof = seed_custom_ops()
    assert filters["vllm_ops_plan"](prof, root="/srv/ops", base_url=MIRROR) == build_ops_plan(
        prof, root="/srv/ops", base_url=MIRROR)
    assert set(filters) == {"vllm_ops_plan", "vllm_ops_needed", "vllm_ops_node_problems", "vllm_ops_missing",
                            "vllm_ops_backups"}


# -- invalid: one fault per row, the message names the artifact and the fix ------------------------

def _artifact(name, **changes):
    def change(method):
        for key, value in changes.items():
            if value is None:
                method["artifacts"][name].pop(key, None)
            else:
                method["artifacts"][name][key] = value
    return change


def _method(**changes):
    def change(method):
        method.update(changes)
    return change


SFA_URL = UPSTREAM + "/vllm-ascend/a3/CANN-custom_ops-sfa-linux.aarch64.run"

INVALID = [
    ("missing sha256", {"sfa": None}, _artifact("sfa"),
     ["artifact sfa (%s) has no sha256: upstream publishes none, so download it once from a trusted network, run "
      "sha256sum on it, and set vllm_artifact_sha256: {sfa: <sum>} in the inventory (profile key "
      "release.install_methods.custom_ops.artifacts.sfa.sha256)" % SFA_URL]),
    ("bad sha256", {"sfa": "12ab"}, _artifact("sfa"),
     ["artifact sfa sha256 '12ab' is not 64 hexadecimal digits: fix vllm_artifact_sha256.sfa"]),
    ("sha256 with a non-hex digit", {"mlapo": "g" * 64}, _artifact("mlapo"),
     ["artifact mlapo sha256 '%s' is not 64 hexadecimal digits: fix vllm_artifact_sha256.mlapo" % ("g" * 64)]),
    ("bad kind", {}, _artifact("sfa", kind="tar"),
     ["artifact sfa kind is 'tar': it must be run, wheel or file"]),
    ("no kind", {}, _artifact("sfa", kind=None),
     ["artifact sfa kind is '': it must be run, wheel or file"]),
    ("file with a slash", {}, _artifact("sfa", file="sub/CANN-custom_ops-sfa-linux.aarch64.run"),
     ["artifact sfa file 'sub/CANN-custom_ops-sfa-linux.aarch64.run' must be a plain file name"]),
    ("no file", {}, _artifact("sfa", file=None),
     ["artifact sfa file '' must be a plain file name"]),
    ("no url", {}, _artifact("sfa", url=None, url_path=None),
     ["artifact sfa has no url nor url_path"]),
    ("file without an absolute dest", {}, _artifact("libopsproto", dest="opp/libopsproto_rt2.0.so"),
     ["artifact libopsproto of kind file needs dest: the absolute path it replaces"]),
    ("file without dest", {}, _artifact("libopsproto", dest=None),
     ["artifact libopsproto of kind file needs dest: the absolute path it replaces"]),
    ("not a wheel name", {}, _artifact("custom_ops_wheel", file="custom_ops-1.0.whl"),
     ["artifact custom_ops_wheel file custom_ops-1.0.whl is not a wheel name (dist-version-python-abi-platform.whl)"]),
    ("wheel name without its abi tag", {}, _artifact("custom_ops_wheel", file="custom_ops-1.0-cp311-linux_aarch64.whl"),
     ["artifact custom_ops_wheel file custom_ops-1.0-cp311-linux_aarch64.whl is not a wheel name "
      "(dist-version-python-abi-platform.whl)"]),
    ("mlapo install path disagrees", {}, _artifact("mlapo", args=["--quiet", "--install-path=/opt/mlapo"]),
     ["artifact mlapo installs with --install-path=/opt/mlapo but mlapo_install_path is /vllm-workspace/CANN: the "
      "launch plan loads MLAPO from the latter; make them agree"]),
    ("install_order names a missing artifact", {}, _method(install_order=["sfa", "sfa2"]),
     ["install_order names sfa2 but artifacts has no such entry",
      "artifact sfa2 () has no sha256: upstream publishes none, so download it once from a trusted network, run "
      "sha256sum on it, and set vllm_artifact_sha256: {sfa2: <sum>} in the inventory (profile key "
      "release.install_methods.custom_ops.artifacts.sfa2.sha256)",
      "artifact sfa2 kind is '': it must be run, wheel or file",
      "artifact sfa2 file '' must be a plain file name",
      "artifact sfa2 has no url nor url_path"]),
]


@pytest.mark.parametrize("sums, change, expected", [row[1:] for row in INVALID], ids=[row[0] for row in INVALID])
def test_invalid_artifacts(sums, change, expected):
    given = dict((name, value) for name, value in dict(SUMS, **sums).items() if value is not None)
    prof = seed_custom_ops(vllm_artifact_sha256=given)
    if any(value is None for value in sums.values()):
        for name in sums:
            prof["release"]["install_methods"]["custom_ops"]["artifacts"][name]["sha256"] = None
    change(prof["release"]["install_methods"]["custom_ops"])
    plan = build_ops_plan(prof)
    assert plan["problems"] == expected
    # Each problem sits on its step too (the role names the step), and nothing is raised.
    assert [p for s in plan["steps"] for p in s["problems"]] == expected


def test_mlapo_install_path_agreeing_up_to_a_slash_is_fine():
    prof = seed_custom_ops()
    _artifact("mlapo", args=["--install-path=/vllm-workspace/CANN/"])(prof["release"]["install_methods"]["custom_ops"])
    assert build_ops_plan(prof)["problems"] == []


def test_the_bundled_release_without_sums_names_every_artifact():
    problems = build_ops_plan(profile())["problems"]
    assert [p.split(" ")[1] for p in problems] == ["sfa", "custom_ops_wheel", "mlapo", "torch_npu_wheel", "libopsproto"]
    assert all("has no sha256" in p and "vllm_artifact_sha256" in p for p in problems)


IMAGE_INVALID = [
    ("bad digest", dict(image_digest="sha256:abc"),
     ["image digest 'sha256:abc' must be sha256:<64 hex digits> (vllm_image_digest / ascend_ops_image_digest, "
      "profile key release.install_methods.image.digest)"]),
    ("archive without sha256", dict(image_tarball="images/x.tar.gz"),
     ["ascend_ops_image_tarball images/x.tar.gz has no sha256: set ascend_ops_image_tarball_sha256 (sha256sum of the "
      "archive where it was made)"]),
    ("archive with a bad sha256", dict(image_tarball="images/x.tar.gz", image_tarball_sha256="xyz"),
     ["ascend_ops_image_tarball_sha256 'xyz' is not 64 hexadecimal digits"]),
]


@pytest.mark.parametrize("kwargs, expected", [row[1:] for row in IMAGE_INVALID], ids=[row[0] for row in IMAGE_INVALID])
def test_invalid_image_pins(kwargs, expected):
    assert build_ops_plan(profile(method="image"), **kwargs)["image_problems"] == expected


# -- decisions from what the probe found ----------------------------------------------------------

def _probe(plan, installed=True, **changes):
    spec = plan["probe_spec"]
    found = {
        "python": "/usr/bin/python3", "version": "3.11", "venv": True, "externally_managed": False, "pip": True,
        "dists": dict((d, {"custom_ops": "1.0", "torch_npu": "2.7.1+gitb7c90d0"}[d] if installed else None)
                      for d in spec["dists"]),
        "exists": dict((path, installed) for path in spec["exists"]),
        "sha256": dict((path, "5" * 64 if installed else None) for path in spec["sha256"]),
        "stat": {},
        "stamp": {"python": "/usr/bin/python3",
                  "steps": dict((name, {"sha256": s}) for name, s in SUMS.items())} if installed else {},
    }
    found.update(changes)
    return found


def test_an_installed_node_needs_nothing():
    plan = build_ops_plan(seed_custom_ops())
    probe = _probe(plan)
    assert needed_steps(plan, probe) == []
    assert node_problems(plan, probe) == []
    assert missing_after_install(plan, probe) == []
    assert backups(plan, probe) == {LIB_DEST: "/opt/ascend-serving/backup" + LIB_DEST}


def test_a_fresh_node_needs_everything_and_misses_everything():
    plan = build_ops_plan(seed_custom_ops())
    probe = _probe(plan, installed=False, exists=dict((p, p == OPP or p.endswith("/aarch64"))
                                                      for p in plan["probe_spec"]["exists"]))
    assert needed_steps(plan, probe) == ["sfa", "custom_ops_wheel", "mlapo", "torch_npu_wheel", "libopsproto"]
    assert node_problems(plan, probe) == []
    assert backups(plan, probe) == {}
    missing = missing_after_install(plan, probe)
    assert missing[:3] == [
        "CANN-custom_ops-sfa-linux.aarch64.run ran but /usr/local/Ascend/ascend-toolkit/latest/opp/vendors/customize/op_api "
        "does not exist (a different package layout? set artifacts.sfa.creates)",
        "/usr/bin/python3 has custom_ops (none), not 1.0 from custom_ops-1.0-cp311-cp311-linux_aarch64.whl",
        "CANN-custom_ops-mlapo-linux.aarch64.run ran but /vllm-workspace/CANN/vendors/customize/bin/set_env.bash does not "
        "exist (a different package layout? set artifacts.mlapo.creates)"]
    assert missing[4] == "%s has sha256 None, not the release's %s" % (LIB_DEST, "5" * 64)
    assert missing[5] == ("the launch plan's environment names /usr/local/Ascend/ascend-toolkit/latest/opp/vendors/customize "
                          "but it does not exist: the profile's mlapo_install_path, env and source must agree with the "
                          "installers' --install-path")
    assert len(missing) == 9


def test_a_changed_sum_or_another_python_reinstalls_only_those_steps():
    plan = build_ops_plan(seed_custom_ops(vllm_artifact_sha256=dict(SUMS, mlapo="9" * 64)))
    assert needed_steps(plan, _probe(plan)) == ["mlapo"]
    plan = build_ops_plan(seed_custom_ops())
    other = _probe(plan, stamp={"python": "/opt/venv/bin/python", "steps": dict((n, {"sha256": s}) for n, s in SUMS.items())})
    assert needed_steps(plan, other) == ["custom_ops_wheel", "torch_npu_wheel"]
    # CANN's file is judged by its sha256 alone (another tool may have put it back).
    replaced = _probe(plan, sha256={LIB_DEST: "0" * 64})
    assert needed_steps(plan, replaced) == ["libopsproto"]


def test_node_problems_name_the_python_and_the_fix():
    plan = build_ops_plan(seed_custom_ops())
    probe = _probe(plan, installed=False, pip=False, version="3.10", venv=False, externally_managed=True,
                   exists={})
    assert node_problems(plan, probe) == [
        "/usr/bin/python3 has no pip: install it for that Python (python3 -m ensurepip, or the python3-pip package)",
        "custom_ops-1.0-cp311-cp311-linux_aarch64.whl is built for CPython 3.11 (cp311) but vLLM runs on Python 3.10 "
        "(/usr/bin/python3): run vLLM on Python 3.11, or set ascend_ops_python",
        "torch_npu-2.7.1+gitb7c90d0-cp311-cp311-linux_aarch64.whl is built for CPython 3.11 (cp311) but vLLM runs on "
        "Python 3.10 (/usr/bin/python3): run vLLM on Python 3.11, or set ascend_ops_python",
        "/usr/bin/python3 is an externally managed system Python (PEP 668): pip refuses to install the wheels into it. "
        "Either run vLLM from a virtualenv (ascend_ops_python: <venv>/bin/python), or accept installing into the "
        "system Python with ascend_ops_pip_break_system_packages: true",
        "/usr/local/Ascend/ascend-toolkit/8.2.RC1/opp/built-in/op_proto/lib/linux/aarch64 is missing: "
        "libopsproto_rt2.0.so replaces the file of CANN 8.2.RC1 there, so CANN 8.2.RC1 must be installed "
        "(release.cann_version)",
        "/usr/local/Ascend/ascend-toolkit/latest/opp is missing: the SFA package installs into CANN's opp directory "
        "(ASCEND_OPP_PATH); install the CANN toolkit at /usr/local/Ascend/ascend-toolkit"]
    allowed = node_problems(plan, probe, break_system_packages=True)
    assert not [p for p in allowed if "PEP 668" in p] and len(allowed) == 5


def test_decision_filters_are_the_functions():
    filters = FilterModule().filters()
    plan = build_ops_plan(seed_custom_ops())
    probe = _probe(plan, installed=False)
    assert filters["vllm_ops_needed"](plan, probe) == needed_steps(plan, probe)
    assert filters["vllm_ops_node_problems"](plan, copy.deepcopy(probe), break_system_packages=True) == node_problems(
        plan, probe, True)
    assert filters["vllm_ops_missing"](plan, probe) == missing_after_install(plan, probe)
    assert filters["vllm_ops_backups"](plan, _probe(plan)) == backups(plan, _probe(plan))
