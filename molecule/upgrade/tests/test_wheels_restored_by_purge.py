"""Purge puts back what the custom operators replaced: the wheels in the Python that runs vLLM and
the SFA operator in CANN's opp directory (not only CANN's libopsproto file).

Runs after tests/test_upgrade.py (file order), which ends with every node undeployed and purged:
a fresh deploy installs the custom operators again over the node's own packages, and the purge
must bring the node back to exactly what it had before.
"""
import json
import os
import subprocess

ROOT = os.environ["ASCEND_ROOT"]
CLUSTER = "mol-upgrade"
INVENTORY = os.path.join(ROOT, ".work", "clusters", CLUSTER, "inventory")
NODES = ("node0", "node1", "node2", "node3")
OPP = "/usr/local/Ascend/ascend-toolkit/latest/opp"
# The dists the release's wheels replace, as the Python that runs vLLM sees them (version and files).
DISTS = ("import json, sys; from importlib import metadata\n"
         "out = {}\n"
         "for name in ('torch_npu', 'custom_ops'):\n"
         "    try:\n"
         "        d = metadata.distribution(name)\n"
         "        out[name] = [d.version, sorted(str(f) for f in d.files or [])]\n"
         "    except metadata.PackageNotFoundError:\n"
         "        out[name] = None\n"
         "print(json.dumps(out))")


def node(name, *cmd, check=True):
    res = subprocess.run(["podman", "exec", "ascsim-%s-%s" % (CLUSTER, name)] + list(cmd),
                         capture_output=True, text=True, check=False)
    if check:
        assert res.returncode == 0, "%s: %s failed: %s%s" % (name, cmd, res.stdout, res.stderr)
    return res


def playbook(name, extra=None):
    argv = ["ansible-playbook", os.path.join(ROOT, "playbooks", name), "-i", INVENTORY]
    if extra:
        argv += ["-e", json.dumps(extra)]
    res = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=ROOT)
    res.out = res.stdout + res.stderr
    return res


def vllm_python(name):
    return node(name, "sh", "-c", 'v=$(command -v vllm) && head -1 "$v" | sed "s/^#! *//" | cut -d" " -f1').stdout.strip()


def snapshot(name, python):
    dists = json.loads(node(name, python, "-c", DISTS).stdout)
    opp = node(name, "sh", "-c", "cd %s/vendors 2>/dev/null && find . -type f -exec md5sum {} + | sort || true" % OPP).stdout
    return dists, opp


def test_purge_restores_the_wheels_and_the_sfa_operator():
    pythons = dict((name, vllm_python(name)) for name in NODES)
    assert all(pythons.values()), pythons
    before = dict((name, snapshot(name, pythons[name])) for name in NODES)
    deployed = playbook("deploy.yml")
    assert deployed.returncode == 0, deployed.out[-3000:]
    for name in NODES:
        dists, opp = snapshot(name, pythons[name])
        # The install replaced both: the purge has something to restore.
        assert dists != before[name][0] and dists["torch_npu"] is not None, (name, dists, before[name][0])
        assert opp != before[name][1] and "customize/op_api" in opp, name
        assert node(name, "test", "-f", "/opt/ascend-serving/backup/original/manifest.json").returncode == 0
    purged = playbook("undeploy.yml", {"undeploy_purge": True})
    assert purged.returncode == 0, purged.out[-3000:]
    for name in NODES:
        assert snapshot(name, pythons[name]) == before[name], name
        assert node(name, "test", "!", "-e", "/opt/ascend-serving").returncode == 0
