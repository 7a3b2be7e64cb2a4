#!/usr/bin/env python3
"""Integration check of roles ascend_ops and model_weights on a simulated cluster (tests only).

    source scripts/env.sh && python3 tests/sim/playbooks/run_ops_weights.py [--cluster h1-ops] [--keep]

Brings up (or reuses) a one-node simulated A3 cluster with tests/sim/cluster.py, resets it with
sim_setup.yml, then runs ops_weights.yml once per step below and checks each run's PLAY RECAP
(changed / failed), the failure message where one is expected, and the node's state afterwards.
Prints one line per step with its time, and exits non-zero when any step did not behave.
The cluster is torn down at the end unless --keep.
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
CLUSTER_PY = os.path.join(ROOT, "tests", "sim", "cluster.py")
LIBOPSPROTO = "/usr/local/Ascend/ascend-toolkit/8.2.RC1/opp/built-in/op_proto/lib/linux/aarch64/libopsproto_rt2.0.so"
BACKUP = "/opt/ascend-serving/backup" + LIBOPSPROTO
MODEL_DIR = "/root/.cache/sim-models/DeepSeek-V3.2-Exp-W8A8"
A3_IMAGE = "quay.io/ascend/vllm-ascend:v0.11.0rc0-a3-deepseek-v3.2-exp"
V012_IMAGE = "quay.io/ascend/vllm-ascend:v0.12.0rc1-a3"
RECAP_RE = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


class Runner:
    def __init__(self, cluster):
        self.cluster = cluster
        self.inventory = os.path.join(ROOT, ".work", "clusters", cluster, "inventory", "hosts.yml")
        self.mirror = os.path.join(ROOT, ".work", "clusters", cluster, "mirror")
        self.results = []

    # -- helpers ---------------------------------------------------------------------------------
    def node(self, command):
        """Run a shell command on node0; (rc, output)."""
        res = subprocess.run([sys.executable, CLUSTER_PY, "exec", self.cluster, "node0", "--", "sh", "-c", command],
                             capture_output=True, text=True, check=False)
        return res.returncode, (res.stdout + res.stderr).strip()

    def playbook(self, name, *args):
        cmd = ["ansible-playbook", "-i", self.inventory, os.path.join(HERE, name)] + list(args)
        env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_NOCOLOR="1")
        res = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, cwd=ROOT)
        return cmd, res.returncode, res.stdout + res.stderr

    @staticmethod
    def recap(output):
        found = RECAP_RE.findall(output)
        if not found:
            return None
        return {"changed": sum(int(r[2]) for r in found), "failed": sum(int(r[4]) + int(r[3]) for r in found)}

    @staticmethod
    def reported(output):
        """The ascend_ops_result / model_weights_result the playbook's last debug task printed."""
        marker = 'TASK [What the roles report]'
        if marker not in output:
            return {}
        text = output[output.index(marker):]
        start = text.index("=> {") + 3
        depth = 0
        for index, char in enumerate(text[start:], start):
            depth += {"{": 1, "}": -1}.get(char, 0)
            if depth == 0:
                return json.loads(text[start:index + 1])["msg"]
        return {}

    def sums(self, name):
        digests = {}
        with open(os.path.join(self.mirror, name)) as handle:
            for line in handle:
                digest, path = line.split()
                digests[path] = digest
        return digests

    # -- one step ------------------------------------------------------------------------------
    def step(self, title, args=(), expect="changed", messages=(), checks=(), report=None):
        """expect: changed (>0, no failure), unchanged (0 changed), fail. checks: [(shell, predicate, what)]."""
        t0 = time.time()
        cmd, rc, out = self.playbook("ops_weights.yml", *args)
        seconds = time.time() - t0
        problems = []
        recap = self.recap(out)
        if recap is None:
            problems.append("no PLAY RECAP (rc=%d)" % rc)
        elif expect == "fail":
            if not recap["failed"] or rc == 0:
                problems.append("expected a failure, got rc=%d %s" % (rc, recap))
        else:
            if recap["failed"] or rc != 0:
                problems.append("failed (rc=%d)" % rc)
            if expect == "changed" and not recap["changed"]:
                problems.append("expected changes, got changed=0")
            if expect == "unchanged" and recap["changed"]:
                problems.append("expected changed=0, got changed=%d" % recap["changed"])
        for text in messages:
            if text not in out:
                problems.append("output lacks %r" % text)
        if report:
            got = self.reported(out)
            for path, want in report.items():
                value = got
                for key in path.split("."):
                    value = value.get(key) if isinstance(value, dict) else None
                if value != want:
                    problems.append("%s is %r, expected %r" % (path, value, want))
        for command, predicate, what in checks:
            code, text = self.node(command)
            if not predicate(code, text):
                problems.append("node check failed: %s (`%s` -> rc=%d %r)" % (what, command, code, text[-300:]))
        status = "ok" if not problems else "FAILED"
        changed = "-" if recap is None else recap["changed"]
        line = "%-6s %5.1fs changed=%-3s %s" % (status, seconds, changed, title)
        print(line, flush=True)
        for problem in problems:
            print("         - %s" % problem, flush=True)
        if problems:
            print("         command: %s" % " ".join(shlex.quote(c) for c in cmd), flush=True)
            tail = "\n".join(out.strip().splitlines()[-25:])
            print("         output tail:\n" + "\n".join("           " + line for line in tail.splitlines()), flush=True)
        self.results.append((title, not problems, seconds))
        return out


def absent(path):
    return ("test -e %s" % shlex.quote(path), lambda rc, _t: rc != 0, "%s does not exist" % path)


def present(path):
    return ("test -e %s" % shlex.quote(path), lambda rc, _t: rc == 0, "%s exists" % path)


def output_is(command, expected, what):
    return (command, lambda rc, text: rc == 0 and text.strip() == expected, what)


def scenario(run):
    sums = run.sums("SHA256SUMS")
    lib_sha = sums["vllm-ascend/a3/libopsproto_rt2.0.so"]
    bad = __import__("hashlib").sha256(b"not the artifact").hexdigest()
    code, placeholder_sha = run.node("sha256sum %s | cut -d' ' -f1" % LIBOPSPROTO)
    nothing_installed = [
        absent("/opt/ascend-serving/ops"), absent("/vllm-workspace/CANN"),
        absent("/usr/local/Ascend/ascend-toolkit/latest/opp/vendors/customize"),
        ("python3 -m pip show custom_ops torch_npu", lambda rc, _t: rc != 0, "no custom_ops / torch_npu installed"),
        output_is("sha256sum %s | cut -d' ' -f1" % LIBOPSPROTO, placeholder_sha, "CANN's libopsproto untouched"),
    ]

    # -- custom_ops (v0.11.0rc0 manual path, host runtime) --------------------------------------
    run.step("custom_ops: an artifact without sha256 fails before any download", ["-e", "ops_test_drop_sha=sfa"],
             "fail", ["artifact sfa", "has no sha256", "vllm_artifact_sha256: {sfa: <sum>}"],
             [absent("/opt/ascend-serving/artifacts")] + nothing_installed)
    run.step("custom_ops: --check on a fresh node reports the install and changes nothing", ["--check"], "changed",
             ["would download, verify and install sfa, custom_ops_wheel, mlapo, torch_npu_wheel, libopsproto"],
             [absent("/opt/ascend-serving")] + nothing_installed)
    run.step("custom_ops: a corrupted checksum fails with both digests, nothing installed",
             ["-e", "ops_test_corrupt=libopsproto"], "fail",
             ["failed its sha256 check: expected %s, got %s" % (bad, lib_sha), "nothing has been installed",
              "vllm_artifact_sha256: {libopsproto: %s}" % lib_sha],
             [absent("/opt/ascend-serving/artifacts/v0.11.0rc0/a3/libopsproto_rt2.0.so")] + nothing_installed)
    run.step("custom_ops: tasks_from stage downloads and verifies, installs nothing", ["-e", "ops_test_entry=stage"],
             "changed", checks=[present("/opt/ascend-serving/artifacts/v0.11.0rc0/a3/libopsproto_rt2.0.so")]
             + nothing_installed, report={"ascend_ops_result.installed": [], "ascend_ops_result.staged_only": True})
    login_files = "/etc/profile /etc/profile.d /etc/environment /etc/bash.bashrc /root/.bashrc /root/.profile"
    installed = [
        present("/opt/ascend-serving/ops/v0.11.0rc0-a3.json"),
        present("/vllm-workspace/CANN/vendors/customize/bin/set_env.bash"),
        present("/usr/local/Ascend/ascend-toolkit/latest/opp/vendors/customize/op_api/lib/libcust_opapi.so"),
        ("python3 -c 'import custom_ops, torch_npu; print(torch_npu.__version__)'",
         lambda rc, t: rc == 0 and t.endswith("2.7.1+gitb7c90d0"), "custom_ops and torch_npu import"),
        output_is("sha256sum %s | cut -d' ' -f1" % LIBOPSPROTO, lib_sha, "libopsproto is the release's"),
        output_is("sha256sum %s | cut -d' ' -f1" % BACKUP, placeholder_sha, "the original is backed up"),
        ("grep -rls LD_PRELOAD %s" % login_files, lambda rc, t: t == "", "no LD_PRELOAD in any login environment"),
    ]
    run.step("custom_ops: first run installs", [], "changed",
             report={"ascend_ops_result.installed": ["sfa", "custom_ops_wheel", "mlapo", "torch_npu_wheel", "libopsproto"],
                     "model_weights_result.mode": "hub"},
             messages=["is a hub id, not a directory"], checks=installed)
    run.step("custom_ops: second run changes nothing", [], "unchanged")
    run.step("custom_ops: --check on the installed node reports nothing to change", ["--check"], "unchanged")
    run.node("python3 -m pip uninstall --yes --break-system-packages custom_ops")
    run.step("custom_ops: a removed wheel is reinstalled alone, the backup kept", [], "changed",
             report={"ascend_ops_result.installed": ["custom_ops_wheel"]},
             checks=[output_is("sha256sum %s | cut -d' ' -f1" % BACKUP, placeholder_sha, "the first backup is kept")])
    run.step("custom_ops: and then nothing again", [], "unchanged")

    # -- image (all-in-one image; offline archive, registry, digest pins) -----------------------
    run.step("image: --check on a node without the image reports the load", ["-e", "ops_test_method=image", "--check"],
             "changed", ["would download http://"],
             [("docker image inspect %s" % A3_IMAGE, lambda rc, _t: rc != 0, "image not loaded")])
    run.step("image: a corrupted archive checksum fails with both digests, nothing loaded",
             ["-e", "ops_test_method=image", "-e", "ops_test_corrupt=image"], "fail",
             ["failed its sha256 check: expected %s, got %s" % (bad, run.sums("SHA256SUMS-images")[
                 "images/vllm-ascend_v0.11.0rc0-a3-deepseek-v3.2-exp.tar.gz"]), "nothing was loaded"],
             [("docker image inspect %s" % A3_IMAGE, lambda rc, _t: rc != 0, "image not loaded")])
    run.step("image: docker load of the verified archive", ["-e", "ops_test_method=image"], "changed",
             report={"ascend_ops_result.image.source": "tarball"},
             checks=[("docker image inspect %s" % A3_IMAGE, lambda rc, _t: rc == 0, "image present"),
                     absent("/opt/ascend-serving/images/vllm-ascend_v0.11.0rc0-a3-deepseek-v3.2-exp.tar.gz")])
    run.step("image: second run changes nothing", ["-e", "ops_test_method=image"], "unchanged",
             report={"ascend_ops_result.image.source": "present"})
    run.step("image: --check changes nothing", ["-e", "ops_test_method=image", "--check"], "unchanged")
    run.step("image: pinned to its image id, present = nothing to do",
             ["-e", "ops_test_method=image", "-e", "ops_test_image_digest=id"], "unchanged")
    run.step("image: pinned to another digest, the archive's build is refused",
             ["-e", "ops_test_method=image", "-e", "ops_test_image_digest=wrong"], "fail",
             ["should be sha256:%s, but it has id" % bad, "holds another build"])
    run.node("docker rmi %s" % A3_IMAGE)
    run.step("image: docker pull by registry digest, then tagged",
             ["-e", "ops_test_method=image", "-e", "ops_test_image_source=registry", "-e", "ops_test_image_digest=registry"],
             "changed", report={"ascend_ops_result.image.source": "registry"},
             checks=[("docker image inspect --format '{{json .RepoDigests}}' %s" % A3_IMAGE,
                      lambda rc, t: rc == 0 and "@sha256:" in t, "pulled image carries its registry digest")])
    run.step("image: pinned pull, second run changes nothing",
             ["-e", "ops_test_method=image", "-e", "ops_test_image_source=registry", "-e", "ops_test_image_digest=registry"],
             "unchanged")
    run.step("image: v0.12.0rc1 (official image, ops built in) is loaded",
             ["-e", "ops_test_method=image", "-e", "ops_test_profile=deepseek-v3.2-exp-w8a8-a3-v0.12.0rc1"], "changed",
             checks=[("docker image inspect %s" % V012_IMAGE, lambda rc, _t: rc == 0, "v0.12.0rc1 image present")])
    run.step("image: v0.12.0rc1 second run changes nothing",
             ["-e", "ops_test_method=image", "-e", "ops_test_profile=deepseek-v3.2-exp-w8a8-a3-v0.12.0rc1"], "unchanged")

    # -- model weights (a local directory, ModelScope download, manifests) ----------------------
    weights = ["-e", "ops_test_model=local"]
    run.step("weights: a missing directory fails naming it and the fix", weights, "fail",
             ["%s does not exist" % MODEL_DIR, "model_weights_download: true"])
    run.step("weights: modelscope download, then a manifest is written", weights + ["-e", "ops_test_download=true"],
             "changed", report={"model_weights_result.downloaded": True, "model_weights_result.ok": True},
             checks=[present(MODEL_DIR + "/.ascend-serving-manifest.json")])
    run.step("weights: second run changes nothing (never re-fetched)", weights + ["-e", "ops_test_download=true"],
             "unchanged", report={"model_weights_result.manifest_source": "file"},
             checks=[output_is("wc -l < /var/lib/ascend-sim/modelscope/calls.log", "1", "modelscope ran once")])
    run.step("weights: --check changes nothing", weights + ["-e", "ops_test_download=true", "--check"], "unchanged")
    manifest = weights + ["-e", "ops_test_manifest=inventory", "-e", "ops_test_sha256=true"]
    run.step("weights: inventory manifest with sha256 verifies", manifest, "unchanged",
             report={"model_weights_result.manifest_source": "option", "model_weights_result.sha256_checked": 8})
    run.node("python3 -c \"p='%s/model-00003-of-00003.safetensors'; b=bytearray(open(p,'rb').read()); b[-1]^=1; "
             "open(p,'wb').write(b)\"; rm %s/tokenizer_config.json" % (MODEL_DIR, MODEL_DIR))
    run.step("weights: a corrupted and a missing file are named", manifest, "fail",
             ["1 file(s) missing: tokenizer_config.json", "1 file(s) with the wrong sha256: model-00003-of-00003.safetensors"])
    refetched = ["model-00003-of-00003.safetensors", "tokenizer_config.json"]
    run.step("weights: download fetches only what does not verify", manifest + ["-e", "ops_test_download=true"],
             "changed", checks=[("tail -n1 /var/lib/ascend-sim/modelscope/calls.log",
                                 lambda rc, t: json.loads(t)["fetched"] == refetched, "only the two bad files fetched")])
    run.step("weights: and then nothing again", manifest + ["-e", "ops_test_download=true"], "unchanged")

    # -- the installed operators satisfy the fake vLLM's custom-ops check -------------------
    t0 = time.time()
    env = custom_ops_env()
    marker = json.dumps({"custom_ops": True, "mlapo_path": "/vllm-workspace/CANN",
                         "sfa_opp_path": "/usr/local/Ascend/ascend-toolkit/latest/opp", "soc": "ascend910_93",
                         "required_files": {LIBOPSPROTO: lib_sha}, "python_modules": ["custom_ops", "torch_npu"],
                         "python": "/usr/bin/python3"})
    script = "\n".join(["set -e", "echo %s > /tmp/ops-release.json" % shlex.quote(marker)]
                       # The values refer to the inherited environment (${LD_PRELOAD}): double quotes.
                       + ['export %s="%s"' % (k, v) for k, v in env["env"]]
                       + [". %s" % s for s in env["source"]]
                       + ["ASCEND_SIM_RELEASE=/tmp/ops-release.json ASCEND_SIM_FAIL_AT=loading ASCEND_SIM_STARTUP_DELAY_S=0 "
                          "timeout 60 vllm serve %s --tensor-parallel-size 16 --quantization ascend "
                          "--trust-remote-code --enable-expert-parallel 2>&1 || true" % MODEL_DIR])
    code, text = run.node(script)
    ok = "custom ops environment loaded" in text and "not in libopapi.so" not in text
    print("%-6s %5.1fs            %s" % ("ok" if ok else "FAILED", time.time() - t0,
                                         "the fake vllm accepts the launch plan's custom-ops environment"), flush=True)
    if not ok:
        print("\n".join("           " + line for line in text.splitlines()[-15:]), flush=True)
    run.results.append(("fake vllm custom-ops check", ok, time.time() - t0))


def custom_ops_env():
    """The launch plan's custom-ops env and sourced files, from the release profile."""
    import yaml  # the controller venv has PyYAML
    with open(os.path.join(ROOT, "playbooks", "vars", "profiles", "releases", "v0.11.0rc0.yml")) as handle:
        method = yaml.safe_load(handle)["release"]["install_methods"]["custom_ops"]
    return {"env": list(method["env"].items()), "source": list(method["source"])}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cluster", default="h1-ops")
    parser.add_argument("--keep", action="store_true", help="leave the cluster up")
    parser.add_argument("--no-up", action="store_true", help="reuse the cluster as it is (no cluster.py up)")
    args = parser.parse_args(argv)
    if not os.environ.get("ANSIBLE_COLLECTIONS_PATH"):
        raise SystemExit("source scripts/env.sh first")
    run = Runner(args.cluster)
    t_all = time.time()
    try:
        if not args.no_up:
            t0 = time.time()
            subprocess.run([sys.executable, CLUSTER_PY, "up", args.cluster, "--nodes", "1", "--product", "a3"],
                           check=True, capture_output=True, text=True)
            print("ok     %5.1fs            cluster %s up" % (time.time() - t0, args.cluster), flush=True)
        t0 = time.time()
        _cmd, rc, out = run.playbook("sim_setup.yml", "-e", "sim_reset=true")
        status = "ok" if rc == 0 else "FAILED"
        print("%-6s %5.1fs            reset and prepare the node (sim_setup.yml)" % (status, time.time() - t0), flush=True)
        if rc != 0:
            print(out[-3000:])
            return 1
        scenario(run)
    finally:
        if not args.keep:
            subprocess.run([sys.executable, CLUSTER_PY, "down", args.cluster], check=False, capture_output=True)
    failed = [title for title, ok, _s in run.results if not ok]
    print("%d step(s), %d failed, %.0fs in total" % (len(run.results), len(failed), time.time() - t_all))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
