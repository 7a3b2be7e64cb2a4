"""verify_comm on the simulated cluster: the healthy report, then one fault at a time.

Each fault is injected through the node's own tools (simstate.py / iptables over `podman exec`),
the collection's playbook runs for real over SSH, and the test checks that the play failed and
that the JSON report names exactly that host, device and check. Every fault is reverted after its
case, and the healthy run is repeated last to prove the cluster is whole again.
"""
import json
import os
import subprocess

import pytest

ROOT = os.environ["ASCEND_ROOT"]
CLUSTER = "mol-verify-comm"
INVENTORY = os.path.join(ROOT, ".work", "clusters", CLUSTER, "inventory")
SIMSTATE = ["python3", "/usr/local/lib/ascend-sim/simstate.py"]


def node(name, *cmd):
    res = subprocess.run(["podman", "exec", "ascsim-%s-%s" % (CLUSTER, name)] + list(cmd),
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, "%s: %s failed: %s%s" % (name, cmd, res.stdout, res.stderr)
    return res.stdout


def verify_comm(tmp_path):
    res = subprocess.run(
        ["ansible-playbook", os.path.join(ROOT, "playbooks", "verify_comm.yml"), "-i", INVENTORY,
         "-e", "comm_check_report_dir=%s" % tmp_path],
        capture_output=True, text=True, check=False, cwd=ROOT)
    report_file = tmp_path / "verify_comm.json"
    assert report_file.exists(), res.stdout[-3000:] + res.stderr[-3000:]
    return res, json.loads(report_file.read_text())


def findings(report):
    return sorted((f["host"], f["device"], f["check"]) for f in report["findings"])


def test_healthy_cluster_report(tmp_path):
    res, report = verify_comm(tmp_path)
    assert res.returncode == 0, res.stdout[-3000:]
    assert report["ok"] is True
    assert report["summary"]["nodes"] == 2
    assert report["summary"]["devices"] == 32  # 16 per A3 node
    assert report["summary"]["pings"] == 16  # same-index, each pair once
    assert all(cell == "ok" for row in report["ping_matrix"].values() for cell in row.values())
    md = (tmp_path / "verify_comm.md").read_text()
    assert "**PASSED**" in md and "| node1 | headless | a3 | 16/16 | 16/16 | 16/16 |" in md


FAULTS = [
    # (case, host, inject, revert, expected findings, text the operator must see)
    ("link-down", "node1", SIMSTATE + ["set-link", "3", "down"], SIMSTATE + ["set-link", "3", "up"],
     # A DOWN port also loses its LLDP neighbour ("Execute failed: Link status is down.").
     [("node0", 3, "ping"), ("node1", 3, "link"), ("node1", 3, "lldp"), ("node1", 3, "ping")],
     "hccn_tool -i 3 -cfg recovery"),
    ("chip-critical", "node1", SIMSTATE + ["set-health", "5", "Critical"], SIMSTATE + ["set-health", "5", "OK"],
     [("node1", 5, "npu_health")], "npu-smi info -t health"),
    ("tls-mismatch", "node1", SIMSTATE + ["set-tls", "7", "1"], SIMSTATE + ["set-tls", "7", "0"],
     [("node1", 7, "tls_consistency")], "-tls -s enable 0"),
    ("no-device-ip", "node0", SIMSTATE + ["clear-ip", "2"], SIMSTATE + ["set-ip", "2"],
     [("node0", 2, "gateway"), ("node0", 2, "ip")], "-ip -s address"),
    ("rpc-port-blocked", "node0", ["iptables", "-I", "INPUT", "-p", "tcp", "--dport", "13389", "-j", "DROP"],
     ["iptables", "-D", "INPUT", "-p", "tcp", "--dport", "13389", "-j", "DROP"],
     [("node1", None, "tcp")], "open TCP 13389"),
]


@pytest.mark.parametrize("case,host,inject,revert,expected,fix", FAULTS, ids=[f[0] for f in FAULTS])
def test_fault_is_named(tmp_path, case, host, inject, revert, expected, fix):
    node(host, *inject)
    try:
        res, report = verify_comm(tmp_path)
    finally:
        node(host, *revert)
    assert res.returncode != 0, "verify_comm passed despite %s" % case
    assert report["ok"] is False
    assert findings(report) == sorted(expected)
    assert fix in res.stdout + res.stderr, "the failure message does not tell the fix %r" % fix


def test_healthy_again_after_faults(tmp_path):
    res, report = verify_comm(tmp_path)
    assert res.returncode == 0 and report["ok"] is True, findings(report)
