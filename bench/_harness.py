"""Shared machinery of the benchmarks in bench/ (measurements, not tests).

Simulated clusters through tests/sim/cluster.py, playbooks through ansible-runner (every event,
so per-task timings), and what the machine did meanwhile: the node containers' CPU (their
cgroups), the controller's CPU, the machine's CPU use, the load average, the lowest available
memory.
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLUSTER = ROOT / "tests" / "sim" / "cluster.py"
MIB = 1024 * 1024
NODE_LIB = "/usr/local/lib/ascend-sim"
TOP = 10


def log(msg):
    print("[bench] %s" % msg, file=sys.stderr, flush=True)


def meminfo():
    """MemTotal and MemAvailable in MiB."""
    values = {}
    with open("/proc/meminfo", encoding="ascii") as handle:
        for line in handle:
            key, rest = line.split(":", 1)
            values[key] = int(rest.split()[0]) // 1024
    return {"total_mib": values["MemTotal"], "available_mib": values["MemAvailable"]}


def cpu_ticks():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


class MemoryWatch:
    """Samples MemAvailable every second while a run lasts; keeps the lowest."""

    def __init__(self):
        self.lowest = meminfo()["available_mib"]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self._stop.wait(1.0):
            self.lowest = min(self.lowest, meminfo()["available_mib"])

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.lowest = min(self.lowest, meminfo()["available_mib"])


def cluster(*args):
    """Run tests/sim/cluster.py; (seconds, stdout). Exits the benchmark when it fails."""
    cmd = [sys.executable, str(CLUSTER)] + [str(a) for a in args]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit("cluster.py %s failed (rc=%d):\n%s%s"
                         % (" ".join(map(str, args)), proc.returncode, proc.stdout, proc.stderr))
    for line in proc.stderr.splitlines():
        if "sysctl" in line:  # cluster.py says when it raised a host limit
            log(line)
    return time.monotonic() - start, proc.stdout.strip()


def running_nodes(name):
    out = subprocess.run(["podman", "ps", "--filter", "label=ascsim.cluster=%s" % name, "--format", "{{.Names}}"],
                         capture_output=True, text=True, check=False).stdout.split()
    return sorted(n for n in out if not n.endswith("-mirror"))


# The NPU fakes (the last two since the sh front of hccn_tool; older versions lack them).
NPU_FAKES = ("simstate.py", "npu-smi", "hccn_tool", "hccn_tool.sh", "hccn_ping.awk")


def _fakes(directory):
    return [fake for fake in NPU_FAKES if (Path(directory) / fake).exists()]


def fakes_digest(directory):
    """Which version of the NPU fakes a run used (sha256 of those in directory)."""
    import hashlib  # pylint: disable=import-outside-toplevel
    digest = hashlib.sha256()
    for fake in _fakes(directory):
        digest.update((Path(directory) / fake).read_bytes())
    return digest.hexdigest()[:12]


def install_fakes_from(name, directory):
    """Replace the NPU fakes of every node of cluster name with those of directory (A/B runs)."""
    for node in running_nodes(name):
        subprocess.run(["podman", "exec", node, "rm", "-f"] + ["%s/%s" % (NODE_LIB, fake) for fake in NPU_FAKES[3:]],
                       check=True)
        for fake in _fakes(directory):
            subprocess.run(["podman", "cp", str(Path(directory) / fake), "%s:%s/%s" % (node, NODE_LIB, fake)],
                           check=True)
        subprocess.run(["podman", "exec", node, "python3", "%s/simstate.py" % NODE_LIB, "install"],
                       check=True, capture_output=True)


class NodeCpu:
    """CPU time used by a cluster's node containers, read from their cgroups (fast enough to be
    sampled at every task start: the nodes' share of a task, whatever else loads the machine)."""

    def __init__(self, name):
        self.files = []
        for node in running_nodes(name):
            path = subprocess.run(["podman", "inspect", "-f", "{{.State.CgroupPath}}", node],
                                  capture_output=True, text=True, check=False).stdout.strip()
            for candidate in ("/sys/fs/cgroup/cpuacct%s/cpuacct.usage" % path,  # cgroup v1: ns
                              "/sys/fs/cgroup%s/cpu.stat" % path,  # cgroup v2: usage_usec
                              "/sys/fs/cgroup/unified%s/cpu.stat" % path):
                if path and os.path.exists(candidate):
                    self.files.append(candidate)
                    break

    def seconds(self):
        total = 0.0
        for path in self.files:
            try:
                with open(path, encoding="ascii") as handle:
                    text = handle.read()
            except OSError:
                continue
            if path.endswith("cpuacct.usage"):
                total += int(text) / 1e9
            else:
                total += int(text.split("usage_usec", 1)[1].split()[0]) / 1e6
        return total


def containers_mib(name):
    """Memory the cluster's containers use now (podman stats), MiB."""
    names = subprocess.run(["podman", "ps", "--filter", "label=ascsim.cluster=%s" % name, "--format", "{{.Names}}"],
                           capture_output=True, text=True, check=False).stdout.split()
    if not names:
        return 0
    out = subprocess.run(["podman", "stats", "--no-stream", "--format", "json"] + names,
                         capture_output=True, text=True, check=False).stdout
    units = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9, "KiB": 1024, "MiB": MIB, "GiB": 1024 * MIB}
    total = 0.0
    for row in json.loads(out or "[]"):
        used = row.get("mem_usage", "0B").split("/")[0].strip()
        number = used.rstrip("kKMGiB")
        total += float(number or 0) * units.get(used[len(number):], 1)
    return int(total // MIB)


def _stamp(created):
    return datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()


def task_times(events, node_cpu=None):
    """Per task: wall (this task's start to the next one's, as profile_tasks), host durations and,
    when sampled, the CPU seconds the nodes used meanwhile."""
    order, tasks, end, cpu_end = [], {}, None, None
    for event in events:
        data = event.get("event_data", {})
        created = event.get("created")
        stamp = _stamp(created) if created else None
        if event.get("event") == "playbook_on_task_start":
            uuid = data.get("task_uuid")
            if uuid not in tasks:
                name = data.get("task", "")
                if data.get("role"):
                    name = "%s : %s" % (data["role"], name)
                tasks[uuid] = {"task": name, "action": data.get("task_action"), "start": stamp,
                               "hosts": {}, "host_max_s": 0.0, "cpu": (node_cpu or {}).get(event.get("uuid"))}
                order.append(uuid)
        elif event.get("event", "").startswith("runner_on_") and data.get("task_uuid") in tasks:
            task = tasks[data["task_uuid"]]
            duration = data.get("duration")
            if isinstance(duration, (int, float)):
                host = data.get("host", "?")
                task["hosts"][host] = task["hosts"].get(host, 0.0) + duration
                task["host_max_s"] = max(task["host_max_s"], task["hosts"][host])
        elif event.get("event") == "playbook_on_stats" and stamp is not None:
            end = stamp
            cpu_end = (node_cpu or {}).get(event.get("uuid"))
    rows = []
    for index, uuid in enumerate(order):
        task = tasks[uuid]
        nxt = tasks[order[index + 1]]["start"] if index + 1 < len(order) else end
        wall = (nxt - task["start"]) if (nxt is not None and task["start"] is not None) else None
        cpu_next = tasks[order[index + 1]]["cpu"] if index + 1 < len(order) else cpu_end
        node_cpu_s = (cpu_next - task["cpu"]) if (cpu_next is not None and task["cpu"] is not None) else None
        rows.append({"task": task["task"], "action": task["action"],
                     "wall_s": round(wall, 2) if wall is not None else None,
                     "node_cpu_s": round(node_cpu_s, 2) if node_cpu_s is not None else None,
                     "slowest_host_s": round(task["host_max_s"], 2),
                     "hosts": len(task["hosts"])})
    return rows


def slowest(tasks, top=TOP):
    return sorted((t for t in tasks if t["wall_s"] is not None), key=lambda t: t["wall_s"], reverse=True)[:top]


def health_wait_s(events):
    """Seconds spent waiting for a vLLM's /health, as the collection's vllm_wait module measured
    them (its ``elapsed``; calls without a URL only check units and wait for nothing). Calls of one
    task on several hosts (several instances' node0s) wait side by side: the longest counts."""
    per_task = {}
    for event in events:
        data = event.get("event_data") or {}
        res = data.get("res") or {}
        if (event.get("event") in ("runner_on_ok", "runner_on_failed")
                and str(data.get("task_action", "")).endswith("vllm_wait") and res.get("polls")):
            task = data.get("task_uuid")
            per_task[task] = max(per_task.get(task, 0.0), float(res.get("elapsed") or 0.0))
    return round(sum(per_task.values()), 1)


def play_stats(events):
    """Totals of the playbook_on_stats event: changed / failed / ok host-task counts."""
    for event in events:
        if event.get("event") == "playbook_on_stats":
            data = event.get("event_data", {})
            return dict((key, sum((data.get(key) or {}).values()))
                        for key in ("ok", "changed", "failures", "dark", "skipped"))
    return {}


def effective_config(envvars):
    """forks, and pipelining as the ssh connection plugin sees it ([ssh_connection] in ansible.cfg,
    ANSIBLE_PIPELINING), for ansible-playbook run from the repo root with envvars."""
    env = dict(os.environ, **envvars)
    found = {}
    out = subprocess.run(["ansible-config", "dump"], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=False).stdout
    for line in out.splitlines():
        key, sep, value = line.partition(" = ")
        name = key.split("(", 1)[0]
        if sep and name in ("DEFAULT_FORKS", "CONFIG_FILE", "DEFAULT_STRATEGY"):
            found[{"DEFAULT_FORKS": "forks", "CONFIG_FILE": "config_file",
                   "DEFAULT_STRATEGY": "strategy"}[name]] = value.strip()
    out = subprocess.run(["ansible-config", "dump", "-t", "connection"], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=False).stdout
    plugin = None
    for line in out.splitlines():
        if line.endswith(":") and " " not in line:
            plugin = line[:-1]
        elif plugin == "ssh" and line.startswith("pipelining("):
            found["pipelining"] = line.partition(" = ")[2].strip()
    return found


def run_playbook(cluster_name, playbook, inventory, extravars=None, envvars=None, cmdline=()):
    """Run playbook (relative to the repo root) on the inventory through ansible-runner.

    Returns the wall time, CPU figures, load, memory, play stats and per-task timings; the
    runner's artifacts (every event, every module result) stay in ``runner_dir``.
    """
    import ansible_runner  # pylint: disable=import-outside-toplevel
    events = []
    private = tempfile.mkdtemp(prefix="bench-runner-")
    envvars = dict({"ANSIBLE_FORCE_COLOR": "false"}, **(envvars or {}))
    config = effective_config(envvars)
    nodes_cpu = NodeCpu(cluster_name)
    node_cpu = {}  # event uuid -> the nodes' CPU seconds when runner saw the event

    def on_event(event):
        events.append(event)
        if event.get("event") in ("playbook_on_task_start", "playbook_on_stats"):
            node_cpu[event.get("uuid")] = nodes_cpu.seconds()
        return True

    load_before = os.getloadavg()[0]
    cpu0 = nodes_cpu.seconds()
    busy0, total0 = cpu_ticks()
    usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    with MemoryWatch() as watch:
        runner = ansible_runner.run(
            private_data_dir=private, project_dir=str(ROOT), playbook=playbook, inventory=str(inventory),
            extravars=extravars or {}, cmdline=" ".join(cmdline), envvars=envvars,
            quiet=True, event_handler=on_event)
    wall = time.monotonic() - start
    usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu1 = nodes_cpu.seconds()
    busy1, total1 = cpu_ticks()
    tasks = task_times(events, node_cpu)
    return {
        "rc": runner.rc,
        "status": runner.status,
        "wall_s": round(wall, 1),
        "controller_cpu_s": round(usage1.ru_utime - usage0.ru_utime + usage1.ru_stime - usage0.ru_stime, 1),
        "nodes_cpu_s": round(cpu1 - cpu0, 1),
        "machine_cpu_busy_pct": round(100.0 * (busy1 - busy0) / max(1, total1 - total0), 1),
        "loadavg_before": round(load_before, 2),
        "loadavg_after": round(os.getloadavg()[0], 2),
        "lowest_available_mib": watch.lowest,
        "stats": play_stats(events),
        "health_wait_s": health_wait_s(events),
        "effective_config": config,
        "tasks": tasks,
        "slowest": slowest(tasks),
        "runner_dir": private,
    }
