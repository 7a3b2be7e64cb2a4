"""The fake vllm-ascend artifacts (tests/sim/artifacts): deterministic, laid out like the real
download site, and behaving like the real packages where a rollout depends on it."""

import ctypes
import hashlib
import json
import os
import platform
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
BUILD = HERE / "artifacts" / "build.py"
MAKE_MODEL = HERE / "artifacts" / "make_model.py"
ARCH = platform.machine()
PRODUCT_SOC = {"a2": "ascend910b", "a3": "ascend910_93"}
SFA = "CANN-custom_ops-sfa-linux.aarch64.run"
MLAPO = "CANN-custom_ops-mlapo-linux.aarch64.run"
CUSTOM_OPS_WHL = "custom_ops-1.0-cp311-cp311-linux_%s.whl" % ARCH
TORCH_NPU_WHL = "torch_npu-2.7.1+gitb7c90d0-cp311-cp311-linux_%s.whl" % ARCH


def build(out):
    res = subprocess.run([sys.executable, str(BUILD), "--out", str(out)], capture_output=True, text=True,
                         timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    build(out)
    return out


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASCEND_") and k != "LD_PRELOAD"}
    env.update(extra)
    return env


def run_pkg(pkg, *args, cwd, **env):
    return subprocess.run([str(pkg)] + list(args), env=clean_env(**env), cwd=cwd, capture_output=True, text=True,
                          timeout=30, check=False)


# ------------------------------------------------------------------------------------------------
# the build
# ------------------------------------------------------------------------------------------------
@pytest.mark.skipif(ARCH not in ("x86_64", "aarch64"), reason="artifacts are built for x86_64 or aarch64 hosts")
def test_build_is_deterministic_and_laid_out_like_the_site(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    manifest = build(first)
    assert build(second) == manifest
    expected = {"vllm-ascend/%s/%s" % (p, n) for p in ("a2", "a3")
                for n in (SFA, MLAPO, CUSTOM_OPS_WHL, TORCH_NPU_WHL, "libopsproto_rt2.0.so")}
    assert set(manifest) == expected
    for rel, digest in manifest.items():
        assert sha256(first / rel) == digest == sha256(second / rel), rel
    assert (first / "manifest.json").read_bytes() == (second / "manifest.json").read_bytes()
    assert json.loads((first / "manifest.json").read_text()) == manifest
    sums = (first / "SHA256SUMS").read_text().splitlines()
    assert sums == ["%s  %s" % (manifest[rel], rel) for rel in sorted(manifest)]
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=first, capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    # a2 and a3 are different builds (kernels for different SoCs), like upstream's.
    for name in (SFA, MLAPO, CUSTOM_OPS_WHL):
        assert manifest["vllm-ascend/a2/" + name] != manifest["vllm-ascend/a3/" + name]
    aliases = json.loads((first / "aliases.json").read_text())
    assert aliases["vllm-ascend/a3/custom_ops-1.0-cp311-cp311-linux_aarch64.whl"] == "vllm-ascend/a3/" + CUSTOM_OPS_WHL
    assert aliases["vllm-ascend/a2/torch_npu-2.7.1+gitb7c90d0-cp311-cp311-linux_aarch64.whl"] == \
        "vllm-ascend/a2/" + TORCH_NPU_WHL
    assert set(aliases.values()) == set(manifest)
    for rel in manifest:
        mode = (first / rel).stat().st_mode & 0o777
        assert mode == (0o755 if rel.endswith(".run") else 0o644), rel


def test_build_is_idempotent_in_place(tmp_path):
    manifest = build(tmp_path)
    stamps = {rel: (tmp_path / rel).stat().st_mtime_ns for rel in manifest}
    stale = tmp_path / "vllm-ascend" / "a2" / "old-build.whl"
    stale.write_bytes(b"left over")
    assert build(tmp_path) == manifest
    assert {rel: (tmp_path / rel).stat().st_mtime_ns for rel in manifest} == stamps, "unchanged files rewritten"
    assert not stale.exists(), "the tree must be exactly the manifest"


def test_shared_objects_are_elf_and_loadable(site):
    so = site / "vllm-ascend" / "a3" / "libopsproto_rt2.0.so"
    data = so.read_bytes()
    assert data[:4] == b"\x7fELF"
    assert struct.unpack_from("<H", data, 18)[0] == {"x86_64": 62, "aarch64": 183}.get(ARCH)
    ctypes.CDLL(str(so))  # a real dlopen: the custom-op libraries get LD_PRELOADed on the nodes
    res = subprocess.run(["/bin/true"], env=clean_env(LD_PRELOAD=str(so)), capture_output=True, text=True, check=False)
    assert res.returncode == 0 and res.stderr == "", res.stderr


# ------------------------------------------------------------------------------------------------
# the .run packages
# ------------------------------------------------------------------------------------------------
def test_run_package_checks_itself(site, tmp_path):
    pkg = site / "vllm-ascend" / "a3" / SFA
    res = run_pkg(pkg, "--check", cwd=tmp_path)
    assert res.returncode == 0 and "SHA256 checksums are OK. All good." in res.stdout
    res = run_pkg(pkg, "--list", cwd=tmp_path)
    assert "./packages/vendors/customize/op_proto/lib/linux/aarch64/libcust_opsproto_rt2.0.so" in res.stdout
    tampered = tmp_path / SFA
    data = bytearray(pkg.read_bytes())
    data[-100] ^= 0xFF
    tampered.write_bytes(bytes(data))
    tampered.chmod(0o755)
    (tmp_path / "opp").mkdir()
    res = run_pkg(tampered, "--quiet", cwd=tmp_path, ASCEND_OPP_PATH=str(tmp_path / "opp"))
    assert res.returncode == 2 and "Error in SHA256 checksums" in res.stderr
    assert list((tmp_path / "opp").iterdir()) == [], "nothing may be installed from a corrupt package"
    truncated = tmp_path / "truncated.run"
    truncated.write_bytes(pkg.read_bytes()[:-10])
    truncated.chmod(0o755)
    res = run_pkg(truncated, "--quiet", cwd=tmp_path, ASCEND_OPP_PATH=str(tmp_path / "opp"))
    assert res.returncode == 2 and "Error in archive size" in res.stderr


@pytest.mark.parametrize("args, message", [
    (["--quiet", "--bogus"], "Unrecognized flag : --bogus"),
    (["--install-path", "/tmp/x"], "Unrecognized flag : --install-path"),  # the = form only, as CANN's
    (["--quiet", "--install-path=relative/dir"], "use absolute path for --install-path argument"),
])
def test_run_package_rejects_bad_options(site, tmp_path, args, message):
    res = run_pkg(site / "vllm-ascend" / "a2" / MLAPO, *args, cwd=tmp_path)
    assert res.returncode != 0
    assert message in res.stdout + res.stderr
    assert not (tmp_path / "relative").exists()


@pytest.mark.parametrize("product", ["a2", "a3"])
def test_sfa_installs_into_ascend_opp_path(site, tmp_path, product):
    pkg = site / "vllm-ascend" / product / SFA
    res = run_pkg(pkg, "--quiet", cwd=tmp_path)
    assert res.returncode == 1 and "[ERROR] env ASCEND_OPP_PATH no exist" in res.stdout
    res = run_pkg(pkg, "--quiet", cwd=tmp_path, ASCEND_OPP_PATH=str(tmp_path / "missing"))
    assert res.returncode == 1 and "no exist" in res.stdout
    opp = tmp_path / "opp"
    opp.mkdir()
    res = run_pkg(pkg, "--quiet", cwd=tmp_path, ASCEND_OPP_PATH=str(opp))
    assert res.returncode == 0 and res.stdout.strip().splitlines()[-1] == "SUCCESS", res.stdout + res.stderr
    vendor = opp / "vendors" / "customize"
    soc = PRODUCT_SOC[product]
    for rel in ("op_api/lib/libcust_opapi.so", "op_api/include/aclnn_lightning_indexer.h",
                "op_api/include/aclnn_sparse_flash_attention.h",
                "op_proto/lib/linux/aarch64/libcust_opsproto_rt2.0.so",
                "op_impl/ai_core/tbe/op_tiling/lib/linux/aarch64/libcust_opmaster_rt2.0.so",
                "op_impl/ai_core/tbe/config/%s/aic-%s-ops-info.json" % (soc, soc),
                "op_impl/ai_core/tbe/kernel/config/%s/binary_info_config.json" % soc,
                "version.info", "scripts/uninstall.sh"):
        assert (vendor / rel).is_file(), rel
    assert not (vendor / "bin" / "set_env.bash").exists(), "set_env.bash only comes with --install-path"
    assert (opp / "vendors" / "config.ini").read_text() == "load_priority=customize\n"
    # A second run (an idempotent rollout) changes nothing and still succeeds.
    before = {p: p.read_bytes() for p in vendor.rglob("*") if p.is_file()}
    res = run_pkg(pkg, "--quiet", cwd=tmp_path, ASCEND_OPP_PATH=str(opp))
    assert res.returncode == 0
    assert {p: p.read_bytes() for p in vendor.rglob("*") if p.is_file()} == before
    assert (opp / "vendors" / "config.ini").read_text() == "load_priority=customize\n"
    # The seed's own export puts a ':' in ASCEND_CUSTOM_OPP_PATH: a rerun without
    # --install-path then refuses, as the real installer does.
    res = run_pkg(pkg, "--quiet", cwd=tmp_path, ASCEND_OPP_PATH=str(opp),
                  ASCEND_CUSTOM_OPP_PATH="%s:" % vendor)
    assert res.returncode == 1 and "has multiple path in it (colon inside)" in res.stdout


def test_mlapo_installs_with_install_path_and_set_env(site, tmp_path):
    root = tmp_path / "vllm-workspace" / "CANN"
    res = run_pkg(site / "vllm-ascend" / "a3" / MLAPO, "--quiet", "--install-path=%s" % root, cwd=tmp_path)
    assert res.returncode == 0 and res.stdout.strip().splitlines()[-1] == "SUCCESS", res.stdout + res.stderr
    vendor = root / "vendors" / "customize"
    proto = vendor / "op_proto" / "lib" / "linux" / "aarch64" / "libcust_opsproto_rt2.0.so"
    assert proto.is_file() and proto.read_bytes()[:4] == b"\x7fELF"
    assert (vendor / "op_api" / "include" / "aclnn_mla_preprocess.h").is_file()
    assert (vendor / "op_impl" / "ai_core" / "tbe" / "kernel" / "ascend910_93" / "mla_preprocess").is_dir()
    set_env = vendor / "bin" / "set_env.bash"
    # The seed's next step: source set_env.bash, then LD_PRELOAD the op proto library.
    shown = subprocess.run(["bash", "-c", "source %s && echo \"$ASCEND_CUSTOM_OPP_PATH\" && echo \"$LD_LIBRARY_PATH\""
                            % set_env], env=clean_env(LD_LIBRARY_PATH="/usr/lib/x"), capture_output=True, text=True, check=False)
    assert shown.stdout.splitlines() == ["%s:" % vendor, "%s/op_api/lib/:/usr/lib/x" % vendor]
    assert not (root / "vendors" / "config.ini").exists()


def test_run_package_target_and_noexec(site, tmp_path):
    res = run_pkg(site / "vllm-ascend" / "a2" / SFA, "--quiet", "--noexec", "--target", str(tmp_path / "x"),
                  cwd=tmp_path)
    assert res.returncode == 0
    assert (tmp_path / "x" / "install.sh").is_file()
    assert (tmp_path / "x" / "packages" / "vendors" / "customize" / "version.info").is_file()


# ------------------------------------------------------------------------------------------------
# the wheels and the op proto library
# ------------------------------------------------------------------------------------------------
def test_wheels_are_real_wheels(site):
    for product in ("a2", "a3"):
        for name, top in ((CUSTOM_OPS_WHL, "custom_ops"), (TORCH_NPU_WHL, "torch_npu")):
            with zipfile.ZipFile(site / "vllm-ascend" / product / name) as whl:
                assert whl.testzip() is None
                names = whl.namelist()
                dist_info = name.split("-cp311")[0] + ".dist-info"
                assert "%s/__init__.py" % top in names
                assert {"%s/%s" % (dist_info, f) for f in ("METADATA", "WHEEL", "RECORD")} <= set(names)
                wheel_meta = whl.read(dist_info + "/WHEEL").decode()
                assert "Tag: cp311-cp311-linux_%s" % ARCH in wheel_meta


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the wheels are cp311, like upstream's")
def test_wheels_install_into_a_venv_and_import(site, tmp_path):
    venv = tmp_path / "venv"
    py = venv / "bin" / "python"
    wheels = [str(site / "vllm-ascend" / "a3" / n) for n in (CUSTOM_OPS_WHL, TORCH_NPU_WHL)]
    # A venv without its own pip, filled by this interpreter's pip (--python): same install, a
    # tenth of the time of ensurepip. Older pips lack --python: then the venv gets its own.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True,
                   timeout=120)
    pip = [sys.executable, "-m", "pip", "--python", str(py)]
    if subprocess.run(pip + ["--version"], capture_output=True, timeout=60, check=False).returncode != 0:
        subprocess.run([str(py), "-m", "ensurepip"], check=True, capture_output=True, timeout=120)
        pip = [str(py), "-m", "pip"]
    res = subprocess.run(pip + ["install", "--no-index", "--disable-pip-version-check", "-q"] + wheels,
                         capture_output=True, text=True, timeout=120, env=clean_env(PIP_NO_INPUT="1"), check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    res = subprocess.run([str(py), "-c", "import custom_ops, torch_npu; print(custom_ops.__version__, "
                          "torch_npu.__version__, custom_ops.SOC, torch_npu.SOC)"],
                         capture_output=True, text=True, timeout=30, check=False)
    assert res.stdout.split() == ["1.0", "2.7.1+gitb7c90d0", "ascend910_93", "ascend910_93"], res.stderr
    res = subprocess.run(pip + ["show", "torch_npu"], capture_output=True, text=True, timeout=60, check=False)
    assert "Version: 2.7.1+gitb7c90d0" in res.stdout


# ------------------------------------------------------------------------------------------------
# the model directory generator
# ------------------------------------------------------------------------------------------------
def test_make_model(tmp_path):
    out = tmp_path / "DeepSeek-V3.2-Exp-W8A8"
    res = subprocess.run([sys.executable, str(MAKE_MODEL), "--out", str(out), "--quantized", "--shards", "3"],
                         capture_output=True, text=True, timeout=30, check=False)
    assert res.returncode == 0, res.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert json.loads(res.stdout) == manifest
    assert {"config.json", "quant_model_description.json", "model.safetensors.index.json",
            "model-00001-of-00003.safetensors", "model-00003-of-00003.safetensors"} <= set(manifest)
    for name, digest in manifest.items():
        assert sha256(out / name) == digest
    config = json.loads((out / "config.json").read_text())
    assert config["architectures"] == ["DeepseekV32ForCausalLM"] and config["num_attention_heads"] == 128
    index = json.loads((out / "model.safetensors.index.json").read_text())
    for tensor, shard in index["weight_map"].items():
        data = (out / shard).read_bytes()
        (length,) = struct.unpack_from("<Q", data)
        header = json.loads(data[8:8 + length])
        start, end = header[tensor]["data_offsets"]
        assert header[tensor]["dtype"] == "I8" and len(data) == 8 + length + end
    again = tmp_path / "again"
    subprocess.run([sys.executable, str(MAKE_MODEL), "--out", str(again), "--quantized", "--shards", "3"],
                   check=True, capture_output=True)
    assert json.loads((again / "manifest.json").read_text()) == manifest
