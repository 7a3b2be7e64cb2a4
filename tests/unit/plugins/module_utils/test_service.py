# -*- coding: utf-8 -*-
"""The files of a node's vLLM service (module_utils/service.py), run for real where they are
programs: the launch script is executed with stand-in ``vllm`` / ``docker`` commands on PATH, the
environment file is sourced by /bin/sh."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import os
import stat
import subprocess

import pytest
import yaml

from ansible_collections.ascend.serving.plugins.module_utils import service
from ansible_collections.ascend.serving.plugins.module_utils.plan import build_plan, sh_expanding
from ansible_collections.ascend.serving.plugins.module_utils.profile import (
    ProfileStore,
    default_profile_dir,
    env_problems,
    profile_problems,
)
from ansible_collections.ascend.serving.plugins.module_utils.topology import TopologyError, validate

STORE = ProfileStore([default_profile_dir()], yaml.safe_load)
V011 = "deepseek-v3.2-exp-bf16-a3-v0.11.0rc0"
V012 = "deepseek-v3.2-exp-bf16-a3-v0.12.0rc1"
KEY = "s3cret-key-0123"


def plans(profile, instance=None, **extra):
    hosts = {"n0": {"vllm_profile": profile, "ansible_host": "192.0.2.11", "hccl_env_nic_name": "enp1",
                    "hccl_env_local_ip": "10.0.0.11"},
             "n1": {"vllm_profile": profile, "ansible_host": "192.0.2.12", "hccl_env_nic_name": "enp1",
                    "hccl_env_local_ip": "10.0.0.12"}}
    for host in hosts.values():
        host.update(extra)
        if instance is not None:
            host["vllm_instance"] = instance
    groups = {"vllm_nodes": ["n0", "n1"], "vllm_node0": ["n0"], "vllm_headless": ["n1"]}
    return build_plan(validate(hosts, groups, STORE))


def _exe(path, text):
    path.write_text(text)
    path.chmod(0o755)


@pytest.fixture
def sandbox(tmp_path):
    """A config dir with hccl.env and secret.env, and a bin dir whose vllm / docker print what they
    got: their argv and the VLLM_API_KEY of their environment."""
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "hccl.env").write_text("export HCCL_IF_IP=10.0.0.11\n")
    (cfg / "secret.env").write_text("export VLLM_API_KEY='%s'\n" % KEY)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    report = 'printf "argv=%s\\n" "$*"; printf "key=%s\\n" "${VLLM_API_KEY-unset}"; printf "ifip=%s\\n" "${HCCL_IF_IP-unset}"\n'
    _exe(bindir / "vllm", "#!/bin/sh\n" + report)
    _exe(bindir / "docker", "#!/bin/sh\n" + report)
    return cfg, bindir


def run_script(text, directory, bindir, env=None):
    path = directory / "launch.sh"
    _exe(path, text)
    run_env = {"PATH": "%s:/usr/bin:/bin" % bindir}
    run_env.update(env or {})
    return subprocess.run([str(path)], capture_output=True, text=True, env=run_env, check=False)


def test_container_launch_hands_the_key_to_vllm_by_name_only(sandbox, tmp_path):
    cfg, bindir = sandbox
    plan = plans(V012)["n0"]
    text = service.launch_script(plan, [str(cfg / "hccl.env"), str(cfg / "secret.env")], runtime="container",
                                 image="quay.io/ascend/vllm-ascend:v0.12.0rc1-a3", npus=16, auth=True)
    assert KEY not in text
    res = run_script(text, tmp_path, bindir)
    assert res.returncode == 0, res.stderr
    out = dict(line.split("=", 1) for line in res.stdout.splitlines())
    # docker gets `-e VLLM_API_KEY` (the name) and the value through its environment, never its argv.
    assert " -e VLLM_API_KEY " in " %s " % out["argv"]
    assert KEY not in out["argv"]
    assert out["key"] == KEY
    assert "--pull=never" in out["argv"].split()


def test_container_launch_without_auth_passes_no_key(sandbox, tmp_path):
    cfg, bindir = sandbox
    plan = plans(V012)["n0"]
    text = service.launch_script(plan, [str(cfg / "hccl.env")], runtime="container",
                                 image="quay.io/ascend/vllm-ascend:v0.12.0rc1-a3", npus=16)
    res = run_script(text, tmp_path, bindir, env={"VLLM_API_KEY": "from-the-caller"})
    assert res.returncode == 0, res.stderr
    assert "VLLM_API_KEY" not in res.stdout.split("key=")[0]


def test_host_launch_exports_the_key_to_vllm(sandbox, tmp_path):
    cfg, bindir = sandbox
    # the custom-ops set_env.bash files do not exist here: a plan without them
    plan = dict(plans(V011, vllm_install_method="custom_ops")["n1"], source=[])
    text = service.launch_script(plan, [str(cfg / "hccl.env"), str(cfg / "secret.env")], auth=True)
    res = run_script(text, tmp_path, bindir)
    assert res.returncode == 0, res.stderr
    assert "key=%s" % KEY in res.stdout and "ifip=10.0.0.11" in res.stdout


@pytest.mark.parametrize("missing", ["hccl.env", "secret.env"])
def test_a_missing_environment_file_stops_the_start(sandbox, tmp_path, missing):
    cfg, bindir = sandbox
    (cfg / missing).unlink()
    plan = plans(V012)["n0"]
    text = service.launch_script(plan, [str(cfg / "hccl.env"), str(cfg / "secret.env")], runtime="container",
                                 image="img:1", npus=16, auth=True)
    res = run_script(text, tmp_path, bindir)
    assert res.returncode != 0
    assert "argv=" not in res.stdout, "docker ran without %s" % missing


def test_an_empty_key_stops_the_start(sandbox, tmp_path):
    cfg, bindir = sandbox
    (cfg / "secret.env").write_text("export VLLM_API_KEY=''\n")
    text = service.launch_script(plans(V012)["n0"], [str(cfg / "hccl.env"), str(cfg / "secret.env")],
                                 runtime="container", image="img:1", npus=16, auth=True)
    res = run_script(text, tmp_path, bindir)
    assert res.returncode != 0 and "argv=" not in res.stdout
    assert "VLLM_API_KEY" in res.stderr


def test_launch_records_the_run_digest_before_exec(sandbox, tmp_path, monkeypatch):
    cfg, bindir = sandbox
    monkeypatch.setattr(service, "RUN_DIGEST_DIR", str(tmp_path / "run"))
    text = service.launch_script(plans(V012)["n0"], [str(cfg / "hccl.env")], runtime="container", image="img:1",
                                 npus=16, run_digest="a" * 64, unit="ascend-vllm.service")
    res = run_script(text, tmp_path, bindir)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "run" / "ascend-vllm.service.digest").read_text() == "a" * 64 + "\n"
    assert stat.S_IMODE(os.stat(str(tmp_path / "run")).st_mode) == 0o700


def test_launch_refuses_env_paths_that_break_out():
    with pytest.raises(service.ServiceError, match="environment file"):
        service.launch_script(plans(V012)["n0"], ["/etc/ascend serving/hccl.env"], runtime="container",
                              image="img:1", npus=16)


def test_launch_names_the_image_it_was_fetched_as():
    text = service.launch_script(plans(V012)["n0"], ["/etc/a/hccl.env"], runtime="container",
                                 image="sha256:" + "b" * 64, image_name="quay.io/ascend/vllm-ascend:v0.12.0rc1-a3",
                                 npus=16)
    assert "# image: quay.io/ascend/vllm-ascend:v0.12.0rc1-a3 (sha256:%s)" % ("b" * 64) in text
    assert text.splitlines()[-1].split("--pull=never")[1].count("sha256:" + "b" * 64) == 1


# -- the environment file: values never run commands when sourced -------------------------------

@pytest.mark.parametrize("value", [
    "$(touch {marker})", "x`touch {marker}`", "${{X:-$(touch {marker})}}", "a\"; touch {marker}; \"",
    "$HOME/$(touch {marker})",
])
def test_sourcing_the_env_file_runs_no_command(tmp_path, value):
    marker = tmp_path / "ran"
    plan = {"host": "n0", "role": "node0", "instance": "default", "env": [["VALUE", value.format(marker=marker)]]}
    envfile = tmp_path / "x.env"
    envfile.write_text(service.env_file(plan))
    res = subprocess.run(["/bin/sh", "-c", '. "$1" && printf %s "$VALUE"', "sh", str(envfile)],
                         capture_output=True, text=True, env={"HOME": "/home/h", "PATH": "/usr/bin:/bin"}, check=False)
    assert res.returncode == 0, res.stderr
    assert not marker.exists()
    assert "touch" in res.stdout


def test_known_names_still_expand():
    word = sh_expanding("/opt/customize:${LD_PRELOAD}:$ASCEND_HOME/lib")
    res = subprocess.run(["/bin/sh", "-c", "printf %s " + word], capture_output=True, text=True,
                         env={"LD_PRELOAD": "/a.so", "ASCEND_HOME": "/asc", "PATH": "/usr/bin:/bin"}, check=False)
    assert res.stdout == "/opt/customize:/a.so:/asc/lib"
    # The shipped profiles' values are rendered as before.
    assert sh_expanding("/x/op_api/lib/:${LD_LIBRARY_PATH}") == '"/x/op_api/lib/:${LD_LIBRARY_PATH}"'


def test_env_values_that_could_run_commands_are_refused():
    problems = env_problems("env", {"A": "$(id)", "B": "`id`", "C": "x\ny", "OK": "${LD_PRELOAD}:/x", "1BAD": "v"})
    text = "\n".join(problems)
    assert "env.A contains command substitution" in text
    assert "env.B contains a backtick" in text
    assert "env.C contains a line break" in text
    assert "env.1BAD is not a valid environment variable name" in text
    assert "env.OK" not in text


def test_install_method_env_is_validated_like_profile_env():
    profile = STORE.resolve_for_host({"vllm_profile": V011})
    profile["release"]["install_methods"]["custom_ops"]["env"]["BAD NAME"] = "x"
    profile["release"]["install_methods"]["custom_ops"]["env"]["LD_PRELOAD"] = "$(curl evil)"
    text = "\n".join(profile_problems(profile))
    assert "release.install_methods.custom_ops.env.BAD NAME is not a valid environment variable name" in text
    assert "release.install_methods.custom_ops.env.LD_PRELOAD contains command substitution" in text


# -- the unit: nothing from the inventory can add a directive ------------------------------------

def test_unit_refuses_a_newline_in_a_name():
    plan = dict(plans(V012)["n0"], served_model_name="m\n[Service]\nExecStartPre=/bin/touch /pwned")
    with pytest.raises(service.ServiceError, match="control character"):
        service.unit_file(plan, "/etc/ascend-serving/launch.sh", "managed")


def test_unit_escapes_specifiers_and_checks_the_launch_path():
    plan = dict(plans(V012)["n0"], served_model_name="model%n")
    unit = service.unit_file(plan, "/etc/ascend-serving/launch.sh", "managed")
    assert "vLLM-Ascend model%%n (" in unit
    with pytest.raises(service.ServiceError, match="launch script path"):
        service.unit_file(plan, "/etc/ascend serving/launch.sh", "managed")
    with pytest.raises(service.ServiceError, match="launch script path"):
        service.unit_file(plan, "/etc/%h/launch.sh", "managed")


def test_container_unit_owns_the_container_lifecycle():
    plan = plans(V012)["n0"]
    unit = service.unit_file(plan, "/etc/ascend-serving/launch.sh", "managed", stop_timeout=120, runtime="container")
    lines = unit.splitlines()
    assert lines.index("ExecStartPre=-docker rm -f vllm-ascend") < lines.index("ExecStart=/etc/ascend-serving/launch.sh")
    assert "ExecStop=-docker stop -t 90 vllm-ascend" in lines
    assert "ExecStopPost=-docker rm -f vllm-ascend" in lines
    host = service.unit_file(plan, "/etc/ascend-serving/launch.sh", "managed")
    assert "docker" not in host


def test_names_are_validated_before_any_host_is_touched():
    with pytest.raises(TopologyError) as info:
        plans(V012, instance="a\nExecStartPre=/bin/true")
    assert "is not a valid instance name" in str(info.value)
    with pytest.raises(TopologyError) as info:
        plans(V012, vllm_served_model_name="x y")
    assert "serve.served_model_name is 'x y'" in str(info.value)
    with pytest.raises(TopologyError) as info:
        plans(V012, vllm_model_path="/data/my model")
    assert "model.path is '/data/my model'" in str(info.value)


# -- the state record: auth and what runs ---------------------------------------------------------

def test_state_records_auth_but_never_the_key():
    on = service.node_state(plans(V012)["n0"], auth=True)
    off = service.node_state(plans(V012)["n0"])
    assert on["auth"] is True and off["auth"] is False
    assert on["run_digest"] != off["run_digest"]
    assert service.state_diff(on, off) == ["auth: True -> False"]
    with pytest.raises(service.ServiceError):
        service.node_state(plans(V012)["n0"], auth="yes")


def test_run_digest_follows_what_runs():
    base = service.node_state(plans(V012)["n0"])
    assert service.node_state(plans(V012)["n0"])["run_digest"] == base["run_digest"]
    with_id = service.node_state(plans(V012)["n0"], image_id="sha256:" + "c" * 64)
    assert with_id["image_id"] == "sha256:" + "c" * 64 and with_id["run_digest"] != base["run_digest"]
    knob = service.node_state(plans(V012, vllm_max_num_seqs=8)["n0"])
    assert knob["run_digest"] != base["run_digest"]
    sums = dict((k, "1" * 64) for k in ("sfa", "custom_ops_wheel", "mlapo", "torch_npu_wheel", "libopsproto"))
    ops = service.node_state(plans(V011, vllm_install_method="custom_ops", vllm_artifact_sha256=sums)["n0"])
    sums2 = dict(sums, sfa="2" * 64)
    ops2 = service.node_state(plans(V011, vllm_install_method="custom_ops", vllm_artifact_sha256=sums2)["n0"])
    assert ops["run_digest"] != ops2["run_digest"], "a new artifact sha256 must restart the service"
    # The host runtime runs no image: an image id given anyway is not recorded.
    assert service.node_state(plans(V012)["n0"], "host", image_id="sha256:" + "c" * 64)["image_id"] is None


def test_install_changes_name_what_the_operators_would_replace():
    sums = dict((k, "1" * 64) for k in ("sfa", "custom_ops_wheel", "mlapo", "torch_npu_wheel", "libopsproto"))
    plan = plans(V011, vllm_install_method="custom_ops", vllm_artifact_sha256=sums)["n0"]
    recorded = service.node_state(plan)
    assert service.install_changes(plan["profile"], recorded) == []
    assert service.install_changes(plan["profile"], None) == []
    newer = plans(V011, vllm_install_method="custom_ops", vllm_artifact_sha256=dict(sums, sfa="2" * 64))["n0"]
    changes = service.install_changes(newer["profile"], recorded)
    assert changes == ["artifacts: {custom_ops_wheel: 111111111111, libopsproto: 111111111111, mlapo: 111111111111, "
                       "sfa: 111111111111, torch_npu_wheel: 111111111111} -> {custom_ops_wheel: 111111111111, "
                       "libopsproto: 111111111111, mlapo: 111111111111, sfa: 222222222222, "
                       "torch_npu_wheel: 111111111111}"]
    image = service.node_state(plans(V012)["n0"])
    assert service.install_changes(plans(V012)["n0"]["profile"], image) == []
    assert service.install_changes(plan["profile"], image) == [
        "artifacts: {} -> {custom_ops_wheel: 111111111111, libopsproto: 111111111111, mlapo: 111111111111, "
        "sfa: 111111111111, torch_npu_wheel: 111111111111}",
        "image: quay.io/ascend/vllm-ascend:v0.12.0rc1-a3 -> quay.io/ascend/vllm-ascend:v0.11.0rc0-a3",
        "install_method: image -> custom_ops",
        "release: v0.12.0rc1 -> v0.11.0rc0"]


def test_state_diff_compares_image_ids_only_when_both_are_known():
    recorded = service.node_state(plans(V012)["n0"], image_id="sha256:" + "c" * 64)
    assert service.state_diff(recorded, service.node_state(plans(V012)["n0"])) == []
    other = service.node_state(plans(V012)["n0"], image_id="sha256:" + "d" * 64)
    assert service.state_diff(recorded, other) == ["image_id: sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
                                                   " -> sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"]


def test_state_records_the_model_revision_pin():
    assert service.node_state(plans(V012)["n0"])["model_revision"] is None
    pinned = service.node_state(plans(V012, vllm_model_revision="v1.0")["n0"])
    assert pinned["model_revision"] == "v1.0"
    # A revision given as model_weights_revision reaches the plan too (the topology keeps that variable).
    assert service.node_state(plans(V012, model_weights_revision="v1.0")["n0"])["model_revision"] == "v1.0"
