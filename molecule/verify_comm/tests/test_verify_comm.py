"""verify_comm on the simulated cluster: the healthy report, then one fault at a time.

Each fault is injected through the node's own tools (simstate.py / iptables over `podman exec`),
the collection's playbook runs for real over SSH, and the test checks that the play failed and
that the JSON report names exactly that host, device and check. Every fault is reverted after its
case, and the healthy run is repeated last to prove the cluster is whole again.
"""
import json
import os
import subprocess
import time

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


# node0's DP RPC and API ports (the profile's data_parallel_rpc_port and serve.port).
NODE0_PORTS = (13389, 8000)


class ListenerWatch:
    """Polls node0's listening sockets on NODE0_PORTS every 0.1 s while a play runs."""

    def __init__(self, name="node0"):
        self.name = name
        self.stop_file = "/tmp/listener-watch.%s.stop" % os.getpid()
        node(name, "rm", "-f", self.stop_file)
        query = "( %s )" % " or ".join("sport = :%d" % p for p in NODE0_PORTS)
        script = ('n=0; while [ ! -e "$1" ] && [ "$n" -lt 6000 ]; do ss -Hltnp "$2"; echo tick; '
                  'n=$((n + 1)); sleep 0.1; done')
        self.proc = subprocess.Popen(
            ["podman", "exec", "ascsim-%s-%s" % (CLUSTER, name), "sh", "-c", script, "sh", self.stop_file, query],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def finish(self):
        node(self.name, "touch", self.stop_file)
        out, err = self.proc.communicate(timeout=60)
        node(self.name, "rm", "-f", self.stop_file)
        assert out.count("tick") > 10, "the watch did not run: %s%s" % (out[-500:], err[-500:])
        return [line for line in out.splitlines() if line.startswith("LISTEN")]


def node_ok(name, *cmd):
    return subprocess.run(["podman", "exec", "ascsim-%s-%s" % (CLUSTER, name)] + list(cmd),
                          capture_output=True, text=True, check=False)


def test_listener_is_stopped_by_its_pid_not_by_name(tmp_path):
    # Another operator's probe on node0: its command line carries the listener's old name.
    decoy = "import time; time.sleep(600)"
    node_ok("node0", "pkill", "-f", "^python3 -c import time; time.sleep\\(600\\)")
    subprocess.run(["podman", "exec", "-d", "ascsim-%s-node0" % CLUSTER, "python3", "-c", decoy,
                    "ascend-serving-comm-probe"], check=True, capture_output=True)
    pid = node("node0", "pgrep", "-f", "^python3 -c import time; time.sleep\\(600\\)").split()
    assert len(pid) == 1, pid
    try:
        watch = ListenerWatch()
        res, report = verify_comm(tmp_path)
        seen = watch.finish()
        assert res.returncode == 0 and report["ok"] is True, res.stdout[-3000:]
        # The temporary listener did open on both free ports (so the watch sees listeners) ...
        assert any(":13389 " in line for line in seen) and any(":8000 " in line for line in seen), seen
        # ... and was stopped by its pid: the other probe lives on, nothing listens any more, no pid file left.
        assert node_ok("node0", "kill", "-0", pid[0]).returncode == 0, "verify_comm killed another process"
        assert node("node0", "ss", "-Hltn", "( sport = :13389 or sport = :8000 )").strip() == ""
        assert node("node0", "sh", "-c", "ls -d /tmp/ascend-serving-comm-probe.* 2>/dev/null || true").strip() == ""
        assert report["notes"] == [] and tcp_findings(report) == []
    finally:
        node_ok("node0", "kill", pid[0])


def tcp_findings(report):
    """The tcp findings (a headless probe that failed)."""
    return [f for f in report["findings"] if f["check"] == "tcp"]


@pytest.mark.parametrize("state", ["active", "activating"])
def test_no_listener_while_the_vllm_unit_is_running_or_starting(tmp_path, state):
    # A stand-in for vLLM loading its weights (activating: a notify unit that never reports ready).
    extra = ["-p", "Type=notify", "-p", "TimeoutStartSec=600"] if state == "activating" else []
    node("node0", "systemd-run", "--no-block", "--unit", "ascend-vllm.service", *extra, "sleep", "600")
    try:
        for _attempt in range(50):
            if node_ok("node0", "systemctl", "is-active", "ascend-vllm.service").stdout.strip() == state:
                break
            time.sleep(0.1)
        assert node_ok("node0", "systemctl", "is-active", "ascend-vllm.service").stdout.strip() == state
        watch = ListenerWatch()
        res, report = verify_comm(tmp_path)
        seen = watch.finish()
        assert node_ok("node0", "systemctl", "is-active", "ascend-vllm.service").stdout.strip() == state
    finally:
        node_ok("node0", "systemctl", "stop", "ascend-vllm.service")
        node_ok("node0", "systemctl", "reset-failed", "ascend-vllm.service")
    assert seen == [], "verify_comm opened a listener on node0's ports while ascend-vllm.service was %s" % state
    assert res.returncode == 0 and report["ok"] is True, res.stdout[-3000:]
    note = ("node0: ascend-vllm.service is %s, so no temporary listener was opened (it could take a port vLLM is "
            "about to bind): port 13389 (dp_rpc), port 8000 (api) without a listener, not probed from the "
            "headless nodes." % state)
    assert len(report["notes"]) == 1 and report["notes"][0].startswith(note), report["notes"]
    assert note in (tmp_path / "verify_comm.md").read_text() and note in res.stdout
    assert tcp_findings(report) == []
