# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The strict fake docker (tests/sim/fakes/docker) and the image archives it loads
(tests/sim/artifacts/image_tarball.py), on the developer machine: no node, no network."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import json
import os
import signal
import tarfile
import time
from importlib.machinery import SourceFileLoader

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.dirname(HERE)


def load(name, path):
    loader = SourceFileLoader(name, path)
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


docker = load("fake_docker", os.path.join(SIM, "fakes", "docker"))
image_tarball = load("image_tarball", os.path.join(SIM, "artifacts", "image_tarball.py"))
A3 = "quay.io/ascend/vllm-ascend:v0.11.0rc0-a3-deepseek-v3.2-exp"


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    out = tmp_path_factory.mktemp("mirror")
    index = image_tarball.build(str(out), os.uname().machine if os.uname().machine in image_tarball.ARCH else "x86_64")
    return out, index


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A store, a 16-chip node state, driver mount sources under tmp_path, signal handlers restored."""
    monkeypatch.setenv("ASCEND_SIM_DOCKER_ROOT", str(tmp_path / "store"))
    monkeypatch.delenv("ASCEND_SIM_DOCKER_REGISTRY", raising=False)
    monkeypatch.setenv("ASCEND_SIM_DOCKER_CONFIG", str(tmp_path / "no-config.json"))
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"schema": 1, "chips": [{"phy_id": i} for i in range(16)]}))
    monkeypatch.setenv("ASCEND_SIM_STATE", str(state))
    mounts = []
    for src, _dst, mode in docker.DRIVER_MOUNTS:
        path = tmp_path / "host" / src.strip("/")
        if src.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("x")
        mounts.append((str(path), str(path), mode))
    monkeypatch.setattr(docker, "DRIVER_MOUNTS", tuple(mounts))
    saved = dict((s, signal.getsignal(s)) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT,
                                                    signal.SIGUSR1, signal.SIGUSR2))
    yield tmp_path
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def run_args(npus=16, net="--net=host", skip_mount=None, extra=()):
    args = ["run", "--rm", "--name", "vllm-ascend", net, "--shm-size=1g"]
    for i in range(npus):
        args += ["--device", "/dev/davinci%d" % i]
    for dev in docker.CONTROL_DEVICES:
        args += ["--device", dev]
    for src, dst, mode in docker.DRIVER_MOUNTS:
        if src != skip_mount:
            args += ["-v", "%s:%s%s" % (src, dst, (":" + mode) if mode else "")]
    return [a for a in args if a] + list(extra)


def call(capfd, argv):
    code = docker.main(argv)
    out, err = capfd.readouterr()
    return code, out, err


def load_a3(capfd, mirror):
    out_dir, index = mirror
    code, out, err = call(capfd, ["load", "-i", str(out_dir / "images" / index[A3]["file"])])
    assert code == 0, err
    return index[A3]


# -- the lists the fake enforces are the collection's --------------------------------------------

def test_mounts_and_devices_are_service_py_s():
    from ansible_collections.ascend.serving.plugins.module_utils import service
    assert tuple(docker.DRIVER_MOUNTS) == tuple(service.DRIVER_MOUNTS)
    assert tuple(docker.CONTROL_DEVICES) == tuple(service.CONTROL_DEVICES)


# -- image_tarball.py --------------------------------------------------------------------------

def test_archives_are_deterministic_and_summed(tmp_path, mirror):
    out_dir, index = mirror
    host_arch = next(k for k, v in image_tarball.ARCH.items() if v == index[A3]["architecture"])
    again = image_tarball.build(str(tmp_path), host_arch)
    assert again == index
    for entry in index.values():
        a = (out_dir / "images" / entry["file"]).read_bytes()
        assert a == (tmp_path / "images" / entry["file"]).read_bytes()
        assert hashlib.sha256(a).hexdigest() == entry["sha256"]
    sums = dict(reversed(line.split()) for line in (out_dir / "SHA256SUMS-images").read_text().splitlines())
    assert sums == dict(("images/" + e["file"], e["sha256"]) for e in index.values())
    assert {"quay.io/ascend/vllm-ascend:v0.11.0rc0-deepseek-v3.2-exp", A3} <= set(index)


def test_archive_is_docker_save_format(mirror):
    out_dir, index = mirror
    entry = index[A3]
    tar = tarfile.open(fileobj=io.BytesIO(gzip.decompress((out_dir / "images" / entry["file"]).read_bytes())))
    manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest[0]["RepoTags"] == [A3]
    config_raw = tar.extractfile(manifest[0]["Config"]).read()
    assert "sha256:" + hashlib.sha256(config_raw).hexdigest() == entry["id"]
    layer = tar.extractfile(manifest[0]["Layers"][0]).read()
    assert json.loads(config_raw)["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(layer).hexdigest()]


# -- load / inspect / images -------------------------------------------------------------------

def test_load_then_inspect(env, capfd, mirror):
    entry = load_a3(capfd, mirror)
    code, out, err = call(capfd, ["image", "inspect", A3])
    assert code == 0
    image = json.loads(out)[0]
    assert (image["Id"], image["RepoTags"], image["RepoDigests"]) == (entry["id"], [A3], [])
    code, out, _err = call(capfd, ["image", "inspect", "--format", "{{.Id}} {{json .RepoTags}} {{index .RepoTags 0}}", A3])
    assert out.strip() == '%s ["%s"] %s' % (entry["id"], A3, A3)
    code, out, _err = call(capfd, ["images", "--format", "{{.Repository}}:{{.Tag}}"])
    assert out.split() == [A3]


def test_inspect_missing_image(env, capfd):
    code, out, err = call(capfd, ["image", "inspect", "nope:1"])
    assert (code, out.strip(), err.strip()) == (1, "[]", "Error: No such image: nope:1")


def test_load_refuses_a_tampered_layer(env, capfd, mirror, tmp_path):
    out_dir, index = mirror
    raw = gzip.decompress((out_dir / "images" / index[A3]["file"]).read_bytes())
    src = tarfile.open(fileobj=io.BytesIO(raw))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read() if member.isfile() else None
            if member.name.endswith("layer.tar"):
                data = data[:-1] + bytes([data[-1] ^ 1])
            dst.addfile(member, io.BytesIO(data) if data is not None else None)
    bad = tmp_path / "bad.tar"
    bad.write_bytes(buf.getvalue())
    code, _out, err = call(capfd, ["load", "-i", str(bad)])
    assert code == 1
    assert "invalid diffID for layer 0" in err
    (tmp_path / "junk.tar").write_bytes(b"not a tar at all" * 64)
    code, _out, err = call(capfd, ["load", "-i", str(tmp_path / "junk.tar")])
    assert code == 1 and "Error processing tar file" in err
    code, _out, err = call(capfd, ["load", "-i", str(tmp_path / "absent.tar")])
    assert code == 1 and "no such file or directory" in err


# -- pull ----------------------------------------------------------------------------------------

def test_pull_without_a_registry_fails_like_an_offline_node(env, capfd):
    code, _out, err = call(capfd, ["pull", A3])
    assert code == 1
    assert 'dial tcp: lookup quay.io' in err


def test_pull_by_tag_and_by_digest(env, capfd, mirror, monkeypatch):
    out_dir, index = mirror
    monkeypatch.setenv("ASCEND_SIM_DOCKER_REGISTRY", str(out_dir / "images"))
    code, out, _err = call(capfd, ["pull", A3])
    assert code == 0 and "Status: Downloaded newer image for %s" % A3 in out
    code, out, _err = call(capfd, ["pull", A3])
    assert code == 0 and "Status: Image is up to date for %s" % A3 in out
    ref = "quay.io/ascend/vllm-ascend:v0.12.0rc1-a3"
    by_digest = "quay.io/ascend/vllm-ascend@" + index[ref]["digest"]
    code, out, _err = call(capfd, ["pull", by_digest])
    assert code == 0
    code, out, _err = call(capfd, ["image", "inspect", by_digest])
    image = json.loads(out)[0]
    assert (image["RepoTags"], image["RepoDigests"], image["Id"]) == ([], [by_digest], index[ref]["id"])
    code, _out, err = call(capfd, ["pull", "quay.io/ascend/vllm-ascend:no-such-tag"])
    assert code == 1 and "manifest unknown" in err
    assert call(capfd, ["tag", by_digest, ref])[0] == 0
    code, out, _err = call(capfd, ["image", "inspect", "--format", "{{json .RepoTags}}", ref])
    assert json.loads(out) == [ref]


# -- run -----------------------------------------------------------------------------------------

def test_run_passes_the_container_env_and_exit_code(env, capfd, mirror, monkeypatch):
    load_a3(capfd, mirror)
    monkeypatch.setenv("FROM_CALLER", "copied")
    monkeypatch.setenv("NOT_PASSED", "leak")
    monkeypatch.delenv("UNSET_HERE", raising=False)
    script = 'echo "A=$A C=$FROM_CALLER L=${NOT_PASSED-unset} U=${UNSET_HERE-unset} I=$ASCEND_SIM_IMAGE"; exit 3'
    code, out, err = call(capfd, run_args(extra=["-e", "A=1", "-e", "FROM_CALLER", "-e", "UNSET_HERE", A3,
                                                 "sh", "-c", script]))
    assert code == 3, err
    assert out.strip() == "A=1 C=copied L=unset U=unset I=%s" % A3
    # --rm: nothing left behind
    code, out, _err = call(capfd, ["ps", "-a", "--format", "{{.Names}}"])
    assert out.strip() == ""


@pytest.mark.parametrize("args, message", [
    (lambda: run_args(net="--network=bridge") + [A3, "true"], "--net=host is required"),
    (lambda: run_args(net="") + [A3, "true"], "--net=host is required"),
    (lambda: run_args(npus=15) + [A3, "true"], "missing --device /dev/davinci15 (this node has 16 NPUs"),
    (lambda: run_args(npus=17) + [A3, "true"], 'adding custom device "/dev/davinci16"'),
    (lambda: run_args(skip_mount=docker.DRIVER_MOUNTS[-1][0]) + [A3, "true"], ":ro"),
    (lambda: run_args(extra=["--foo"]) + [A3, "true"], "unknown flag: --foo"),
    (lambda: run_args(extra=["-v", "/nonexistent-ascend-sim:/nonexistent-ascend-sim"]) + [A3, "true"],
     "bind source path does not exist: /nonexistent-ascend-sim"),
    (lambda: run_args() + ["quay.io/ascend/vllm-ascend:absent", "true"], "Unable to find image"),
    (lambda: run_args() + [A3, "no-such-command-ascend-sim"], "executable file not found in $PATH"),
])
def test_run_refuses_what_the_docs_do_not_do(env, capfd, mirror, args, message):
    load_a3(capfd, mirror)
    code, _out, err = call(capfd, args())
    assert code in (125, 127), err
    assert message in err


def test_detached_container_ps_stop_rm(env, capfd, mirror):
    load_a3(capfd, mirror)
    args = [a for a in run_args() if a != "--rm"]
    args = args[:1] + ["-d"] + args[1:] + [A3, "sleep", "30"]
    code, out, err = call(capfd, args)
    assert code == 0, err
    cid = out.strip()
    assert len(cid) == 64
    deadline = time.time() + 5
    names = ""
    while time.time() < deadline:
        names = call(capfd, ["ps", "--format", "{{.Names}} {{.State}}"])[1].strip()
        if names == "vllm-ascend running":
            break
        time.sleep(0.1)
    assert names == "vllm-ascend running"
    code, _out, err = call(capfd, args)
    assert code == 125 and 'The container name "/vllm-ascend" is already in use' in err
    code, _out, err = call(capfd, ["rm", "vllm-ascend"])
    assert code == 1 and "container is running" in err
    assert call(capfd, ["stop", "-t", "2", "vllm-ascend"])[0] == 0
    assert call(capfd, ["ps", "-q"])[1].strip() == ""
    assert call(capfd, ["ps", "-a", "--format", "{{.Names}}"])[1].strip() == "vllm-ascend"
    assert call(capfd, ["rm", "vllm-ascend"])[0] == 0
    code, _out, err = call(capfd, ["stop", "vllm-ascend"])
    assert code == 1 and "No such container: vllm-ascend" in err


def test_unknown_command_and_version(env, capfd):
    code, _out, err = call(capfd, ["frobnicate"])
    assert code == 1 and "'frobnicate' is not a docker command" in err
    code, out, _err = call(capfd, ["--version"])
    assert code == 0 and out.startswith("Docker version")
