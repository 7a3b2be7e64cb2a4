"""Guards of the deployed default cluster: undeploy removes only the collection's directories, and
one run at a time per node (the run lock). Runs after tests/test_deploy.py on the deployed cluster;
every case leaves it serving, and the last one proves a plain deploy is a no-op that leaves no lock.
"""
import json
import os
import re
import socket
import subprocess

ROOT = os.environ["ASCEND_ROOT"]
CLUSTER = "mol-default"
INVENTORY = os.path.join(ROOT, ".work", "clusters", CLUSTER, "inventory")
NODES = ("node0", "node1")
LOCK = "/run/ascend-serving.lock"
MARKER = ".ascend-serving-owned"


def node(name, *cmd, check=True, stdin=None):
    res = subprocess.run(["podman", "exec", "-i", "ascsim-%s-%s" % (CLUSTER, name)] + list(cmd),
                         capture_output=True, text=True, check=False, input=stdin)
    if check:
        assert res.returncode == 0, "%s: %s failed: %s%s" % (name, cmd, res.stdout, res.stderr)
    return res


def playbook(name, *extra):
    res = subprocess.run(["ansible-playbook", os.path.join(ROOT, "playbooks", name), "-i", INVENTORY] + list(extra),
                         capture_output=True, text=True, check=False, cwd=ROOT)
    res.out = res.stdout + res.stderr
    return res


def recap_changed(output):
    return sum(int(n) for n in re.findall(r"changed=(\d+)", output.split("PLAY RECAP")[-1]))


def main_pids():
    return tuple(node(n, "systemctl", "show", "-p", "MainPID", "--value", "ascend-vllm.service").stdout.strip()
                 for n in NODES)


def tree(name, path):
    """Every entry below path with its size and mtime (what a recursive delete would change)."""
    return node(name, "sh", "-c", "find %s -xdev -maxdepth 3 -printf '%%p %%y %%s\\n' 2>/dev/null | sort | md5sum" % path).stdout


def node_time(name):
    return float(node(name, "date", "+%s").stdout.strip())


def put_lock(name, owner, started):
    token = "%s@%s:%s:%s" % (owner["user"], owner["controller"], owner["pid"], owner["pid_start"])
    data = {"owner": owner, "token": token, "started": started}
    node(name, "sh", "-c", "cat > %s" % LOCK, stdin=json.dumps(data))


def pid_start(pid):
    with open("/proc/%d/stat" % pid, encoding="utf-8") as handle:
        return int(handle.read().rsplit(")", 1)[-1].split()[19])


def no_lock():
    return all(node(n, "test", "!", "-e", LOCK, check=False).returncode == 0 for n in NODES)


def test_undeploy_refuses_etc_and_removes_nothing():
    before = (tree("node0", "/etc"), tree("node1", "/etc"), main_pids())
    res = playbook("undeploy.yml", "-e", "vllm_service_config_dir=/etc")
    assert res.returncode != 0
    for name in NODES:
        assert "%s: vllm_service_config_dir='/etc' is a system directory: refusing to remove it" % name in res.out, \
            res.out[-3000:]
    # Refused before anything changed: /etc is intact and the service still runs the same processes.
    assert (tree("node0", "/etc"), tree("node1", "/etc"), main_pids()) == before


def test_undeploy_refuses_a_directory_without_the_marker_and_keeps_it():
    for name in NODES:
        node(name, "sh", "-c", "mkdir -p /srv/not-ours && echo precious > /srv/not-ours/data.txt")
    pids = main_pids()
    res = playbook("undeploy.yml", "-e", "vllm_service_config_dir=/srv/not-ours")
    assert res.returncode != 0
    assert "vllm_service_config_dir='/srv/not-ours' holds no %s marker" % MARKER in res.out, res.out[-3000:]
    assert "touch /srv/not-ours/%s" % MARKER in res.out
    for name in NODES:
        assert node(name, "cat", "/srv/not-ours/data.txt").stdout == "precious\n"
        node(name, "rm", "-rf", "/srv/not-ours")
    assert main_pids() == pids


def test_the_ops_root_carries_the_ownership_marker():
    for name in NODES:
        assert node(name, "test", "-f", "/opt/ascend-serving/" + MARKER).returncode == 0


def test_a_second_run_is_refused_while_another_holds_a_node():
    # Another controller's run holds node1; a run of this controller (this test process) holds node0.
    mine = {"user": "root", "controller": socket.gethostname(), "pid": os.getpid(), "pid_start": pid_start(os.getpid()),
            "playbook": "upgrade.yml"}
    other = {"user": "ops", "controller": "ops-laptop", "pid": 4242, "pid_start": 1, "playbook": "rollback.yml"}
    put_lock("node0", mine, node_time("node0"))
    put_lock("node1", other, node_time("node1") - 60)
    pids = main_pids()
    res = playbook("deploy.yml", "-e", "ascend_serving_break_lock=true")
    assert res.returncode != 0
    assert re.search(r"node0: %s: another run holds the lock: root@%s pid %d running upgrade.yml, taken \d+ s ago"
                     % (LOCK, re.escape(mine["controller"]), os.getpid()), res.out), res.out[-3000:]
    assert re.search(r"node1: %s: another run holds the lock: ops@ops-laptop pid 4242 running rollback.yml, "
                     r"taken [6-9]\d s ago" % LOCK, res.out), res.out[-3000:]
    # Fresh locks are not broken by the flag; nothing else ran.
    assert "ascend_serving_lock_max_age=0" in res.out
    assert "TASK [ascend.serving.preflight" not in res.out
    assert main_pids() == pids
    assert json.loads(node("node1", "cat", LOCK).stdout)["owner"] == other
    assert json.loads(node("node0", "cat", LOCK).stdout)["owner"] == mine


def test_stale_and_dead_locks_are_broken_then_released_and_a_second_run_changes_nothing():
    dead = subprocess.Popen(["sleep", "0"])
    dead.wait()
    gone = {"user": "root", "controller": socket.gethostname(), "pid": dead.pid, "pid_start": 1,
            "playbook": "deploy.yml"}
    stale = {"user": "ops", "controller": "ops-laptop", "pid": 4242, "pid_start": 1, "playbook": "rollback.yml"}
    put_lock("node0", gone, node_time("node0"))
    put_lock("node1", stale, node_time("node1") - 30000)
    refused = playbook("deploy.yml")
    assert refused.returncode != 0
    assert "node1: %s: another run holds the lock: ops@ops-laptop" % LOCK in refused.out
    assert "-e ascend_serving_break_lock=true" in refused.out, refused.out[-3000:]
    put_lock("node0", gone, node_time("node0"))  # the refused run released what it reclaimed
    res = playbook("deploy.yml", "-e", "ascend_serving_break_lock=true")
    assert res.returncode == 0, res.out[-3000:]
    assert "node0: %s: reclaimed the lock of a run that ended without releasing it" % LOCK in res.out
    assert "node1: %s: broke a stale lock (ops@ops-laptop pid 4242 running rollback.yml" % LOCK in res.out
    assert no_lock()
    check = playbook("deploy.yml", "--check")
    assert check.returncode == 0, check.out[-3000:]
    assert no_lock()  # --check only looks at the lock
    again = playbook("deploy.yml")
    assert again.returncode == 0 and recap_changed(again.stdout) == 0, again.stdout[-3000:]
    assert no_lock()
