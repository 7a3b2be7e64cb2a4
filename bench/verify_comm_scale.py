#!/usr/bin/env python3
"""How playbooks/verify_comm.yml scales with the number of simulated A3 nodes (a measurement, not a test).

For every N given, brings the simulated cluster ``bench-vc`` up with N A3 nodes (``cluster.py up``
is idempotent and grows or shrinks the cluster), runs verify_comm.yml on it through ansible-runner
and records, per N: the playbook's wall time, the slowest tasks (task start to next task start,
as ansible.posix.profile_tasks counts them, plus the slowest host's own duration), the controller's
CPU time, the machine's CPU use and the lowest available memory seen. Results go to
bench/verify_comm_scale.json (merged by label and N, so runs with different settings sit side by
side) and a table is printed. The cluster is torn down at the end unless --keep.

    source scripts/env.sh
    python3 bench/verify_comm_scale.py                      # N = 2 4 8 16, forks 5, no pipelining
    python3 bench/verify_comm_scale.py 16 --forks 32 --label forks32
    python3 bench/verify_comm_scale.py 2 4 --pipelining --forks 32 --label forks32-pipelining
    python3 bench/verify_comm_scale.py 16 --repo-config --label repo-ansible.cfg   # as ./ansible.cfg says
    python3 bench/verify_comm_scale.py 2 --fakes-from DIR --label old-fakes   # A/B of the NPU fakes
    python3 bench/verify_comm_scale.py --table              # print what the JSON holds

Before bringing up N nodes it checks that N nodes fit in the memory available (per-node cost
the peak during the runs on the smaller clusters, 400 MiB assumed before the first); a size that does
not fit is recorded as ``"skipped"`` with the reason, and larger sizes are not tried.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLUSTER = ROOT / "tests" / "sim" / "cluster.py"
PLAYBOOK = "playbooks/verify_comm.yml"
OUT = ROOT / "bench" / "verify_comm_scale.json"
NAME = "bench-vc"
MIB = 1024 * 1024
GUESS_NODE_MIB = 400  # per node, before one was measured
RESERVE_MIB = 2048  # left for ansible's forks on the controller and the page cache
TOP = 10
NODE_LIB = "/usr/local/lib/ascend-sim"


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
    cmd = [sys.executable, str(CLUSTER)] + [str(a) for a in args]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit("cluster.py %s failed (rc=%d):\n%s%s"
                         % (" ".join(map(str, args)), proc.returncode, proc.stdout, proc.stderr))
    return time.monotonic() - start, proc.stdout.strip()


def running_nodes():
    out = subprocess.run(["podman", "ps", "--filter", "label=ascsim.cluster=%s" % NAME, "--format", "{{.Names}}"],
                         capture_output=True, text=True, check=False).stdout.split()
    return sorted(name for name in out if not name.endswith("-mirror"))


def fakes_digest(directory):
    """Which version of the NPU fakes a run used (sha256 of simstate.py, npu-smi, hccn_tool)."""
    import hashlib  # pylint: disable=import-outside-toplevel
    digest = hashlib.sha256()
    for fake in ("simstate.py", "npu-smi", "hccn_tool"):
        digest.update((Path(directory) / fake).read_bytes())
    return digest.hexdigest()[:12]


def install_fakes_from(directory):
    """Replace the NPU fakes of every node with those of directory (A/B runs of the fakes)."""
    for name in running_nodes():
        for fake in ("simstate.py", "npu-smi", "hccn_tool"):
            subprocess.run(["podman", "cp", str(Path(directory) / fake), "%s:%s/%s" % (name, NODE_LIB, fake)],
                           check=True)
        subprocess.run(["podman", "exec", name, "python3", "%s/simstate.py" % NODE_LIB, "install"],
                       check=True, capture_output=True)


class NodeCpu:
    """CPU time used by the cluster's node containers, read from their cgroups (fast enough to be
    sampled at every task start: the nodes' share of a task, whatever else loads the machine)."""

    def __init__(self):
        self.files = []
        for name in running_nodes():
            path = subprocess.run(["podman", "inspect", "-f", "{{.State.CgroupPath}}", name],
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


def containers_mib():
    """Memory the cluster's containers use now (podman stats), MiB."""
    names = subprocess.run(["podman", "ps", "--filter", "label=ascsim.cluster=%s" % NAME, "--format", "{{.Names}}"],
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


def _stamp(created):
    from datetime import datetime  # pylint: disable=import-outside-toplevel
    return datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()


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
        if sep and name in ("DEFAULT_FORKS", "CONFIG_FILE"):
            found["forks" if name == "DEFAULT_FORKS" else "config_file"] = value.strip()
    out = subprocess.run(["ansible-config", "dump", "-t", "connection"], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=False).stdout
    plugin = None
    for line in out.splitlines():
        if line.endswith(":") and " " not in line:
            plugin = line[:-1]
        elif plugin == "ssh" and line.startswith("pipelining("):
            found["pipelining"] = line.partition(" = ")[2].strip()
    return found


def run_playbook(inventory, forks, pipelining, extra_cmdline):
    import ansible_runner  # pylint: disable=import-outside-toplevel
    events = []
    report_dir = tempfile.mkdtemp(prefix="bench-vc-report-")
    private = tempfile.mkdtemp(prefix="bench-vc-runner-")
    cmdline = list(extra_cmdline)
    envvars = {"ANSIBLE_FORCE_COLOR": "false"}
    if forks is not None:
        envvars["ANSIBLE_FORKS"] = str(forks)
    if pipelining is not None:
        envvars["ANSIBLE_PIPELINING"] = "True" if pipelining else "False"
    config = effective_config(envvars)
    nodes_cpu = NodeCpu()
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
            private_data_dir=private, project_dir=str(ROOT), playbook=PLAYBOOK, inventory=str(inventory),
            extravars={"comm_check_report_dir": report_dir}, cmdline=" ".join(cmdline), envvars=envvars,
            quiet=True, event_handler=on_event)
    wall = time.monotonic() - start
    usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu1 = nodes_cpu.seconds()
    busy1, total1 = cpu_ticks()
    summary = None
    report = Path(report_dir) / "verify_comm.json"
    if report.exists():
        summary = json.loads(report.read_text()).get("summary")
    return {
        "rc": runner.rc,
        "status": runner.status,
        "wall_s": round(wall, 1),
        "controller_cpu_s": round(usage1.ru_utime - usage0.ru_utime + usage1.ru_stime - usage0.ru_stime, 1),
        "nodes_cpu_s": round(cpu1 - cpu0, 1),
        "machine_cpu_busy_pct": round(100.0 * (busy1 - busy0) / max(1, total1 - total0), 1),
        "loadavg_before": load_before,
        "lowest_available_mib": watch.lowest,
        "report_summary": summary,
        "effective_config": config,
        "tasks": task_times(events, node_cpu),
        "report_dir": report_dir,
        "runner_dir": private,
    }


def load_results():
    if OUT.exists():
        return json.loads(OUT.read_text())
    return {"what": "playbooks/verify_comm.yml on N simulated A3 nodes (bench/verify_comm_scale.py)", "runs": []}


def save_result(results, entry):
    results["runs"] = [r for r in results["runs"] if (r["label"], r["nodes"]) != (entry["label"], entry["nodes"])]
    results["runs"].append(entry)
    results["runs"].sort(key=lambda r: (r["label"], r["nodes"]))
    OUT.write_text(json.dumps(results, indent=2) + "\n")


def table(results, top=3):
    """One line per run; the slowest tasks as ``name wall_s/node_cpu_s``."""
    head = "%-20s %5s %7s %6s %5s %7s %8s %4s  %s" % (
        "label", "nodes", "wall_s", "up_s", "cpu%", "ctl_cpu", "node_cpu", "rc", "slowest tasks: wall s / nodes' cpu s")
    lines = [head]
    for run in results["runs"]:
        if run.get("skipped"):
            lines.append("%-20s %5d  skipped: %s" % (run["label"], run["nodes"], run["skipped"]))
            continue
        slow = ", ".join(
            "%s %.1f/%s" % (t["task"].split(" : ")[-1][:28], t["wall_s"],
                            "-" if t.get("node_cpu_s") is None else "%.1f" % t["node_cpu_s"])
            for t in run["slowest"][:top])
        lines.append("%-20s %5d %7.1f %6.1f %5.0f %7.1f %8s %4s  %s" % (
            run["label"], run["nodes"], run["wall_s"], run.get("up_s") or 0.0, run["machine_cpu_busy_pct"],
            run["controller_cpu_s"], "-" if run.get("nodes_cpu_s") is None else "%.1f" % run["nodes_cpu_s"],
            run["rc"], slow))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("nodes", nargs="*", type=int, default=[2, 4, 8, 16])
    parser.add_argument("--label", default="defaults", help="name of this configuration in the JSON")
    parser.add_argument("--forks", type=int, default=5, help="ANSIBLE_FORKS (default 5, ansible's own default)")
    parser.add_argument("--pipelining", action="store_true", help="ANSIBLE_PIPELINING=True (default False)")
    parser.add_argument("--repo-config", action="store_true",
                        help="set neither forks nor pipelining: whatever ./ansible.cfg (or ansible) says")
    parser.add_argument("--cmdline", default="", help="more ansible-playbook options")
    parser.add_argument("--fakes-from", metavar="DIR",
                        help="after up, install simstate.py, npu-smi and hccn_tool from DIR instead of the repo's")
    parser.add_argument("--keep", action="store_true", help="leave the cluster up at the end")
    parser.add_argument("--table", action="store_true", help="only print the table of the JSON")
    args = parser.parse_args(argv)
    results = load_results()
    if args.table:
        print(table(results))
        return 0
    base = meminfo()
    # What would be available without bench-vc (an earlier one may still be up): the baseline of
    # the per-node cost, measured as the lowest available memory during each run.
    base_available = base["available_mib"] + containers_mib()
    per_node = None
    log("memory: %d MiB total, %d MiB available (%d without %s)"
        % (base["total_mib"], base["available_mib"], base_available, NAME))
    try:
        for nodes in sorted(args.nodes):
            now = meminfo()["available_mib"]
            have = len(running_nodes())
            need = max(0, nodes - have) * (per_node or GUESS_NODE_MIB) + RESERVE_MIB
            entry = {"label": args.label, "nodes": nodes, "cmdline": args.cmdline,
                     "fakes": args.fakes_from or "tests/sim/fakes",
                     "fakes_sha256": fakes_digest(args.fakes_from or ROOT / "tests" / "sim" / "fakes"),
                     "when": time.strftime("%Y-%m-%dT%H:%M:%S")}
            if need > now:
                entry["skipped"] = ("%d nodes need about %d MiB more (%s MiB/node), only %d MiB available"
                                    % (nodes, need, per_node or "~%d" % GUESS_NODE_MIB, now))
                log(entry["skipped"])
                save_result(results, entry)
                break
            log("cluster %s: %d A3 nodes up ..." % (NAME, nodes))
            up_s, inventory = cluster("up", NAME, "--nodes", nodes, "--product", "a3")
            if args.fakes_from:
                install_fakes_from(args.fakes_from)
            after_up = meminfo()["available_mib"]
            log("up in %.1fs; %d MiB available; running %s ..." % (up_s, after_up, PLAYBOOK))
            result = run_playbook(Path(inventory).parent, None if args.repo_config else args.forks,
                                  None if args.repo_config else args.pipelining, args.cmdline.split())
            # Nodes and controller at their peak, per node: what one more node will cost.
            per_node = max(per_node or 0, (base_available - result["lowest_available_mib"]) // nodes)
            slowest = sorted((t for t in result["tasks"] if t["wall_s"] is not None),
                             key=lambda t: t["wall_s"], reverse=True)[:TOP]
            entry.update(up_s=round(up_s, 1), available_mib_after_up=after_up, per_node_mib=per_node,
                         **{k: v for k, v in result.items() if k != "tasks"}, slowest=slowest, tasks=result["tasks"])
            save_result(results, entry)
            log("N=%d: %s in %.1fs (rc %s), slowest: %s" % (
                nodes, result["status"], result["wall_s"], result["rc"],
                ", ".join("%s %.1fs" % (t["task"], t["wall_s"]) for t in slowest[:3])))
    finally:
        if not args.keep:
            log("cluster %s: down" % NAME)
            cluster("down", NAME)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
