#!/usr/bin/env python3
"""`make bench`: how long the collection's playbooks take on simulated A3 clusters (a measurement,
not a test: nothing here asserts a time).

For every size N (2, 4, 8, 16 by default) on a freshly created cluster ``bench`` of N A3 nodes:

1. ``playbooks/verify_comm.yml`` (same-index pings): ``verify_comm_s[N]``;
2. ``playbooks/deploy.yml`` cold (the profile's image path, as molecule/single_node), with the
   nodes grouped in 2-node instances (``vllm_instance``: N / 2 independent DP2 x TP16 BF16
   groups): ``deploy_s[N]``, split into the time spent waiting for the simulated vLLM to become
   healthy and the rest, the collection's overhead (``deploy_overhead_s[N]``);
3. at N = 2 only, deploy again with nothing to change: ``deploy_noop_s[2]`` (and its changed
   count, which must be 0).

The N = 2 cold deploy is also ``deploy_cold_s`` / ``deploy_cold_overhead_s``. Every run keeps
its 10 slowest tasks (``slowest_tasks``). A size whose nodes do not fit in the available memory
is recorded as not run, with the reason (larger sizes are then not tried). Targets, as ratios of
this one run: no-op <= 30% of the cold deploy's overhead; 16-node verify_comm <= 2 x the 2-node
one; 16-node deploy <= 2 x the 2-node cold deploy's overhead.

Writes bench/report.json and bench/report.md; the cluster is removed at the end unless --keep.

    source scripts/env.sh
    python3 bench/run.py                 # what `make bench` runs
    python3 bench/run.py --sizes 2 4     # a quicker look
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import ROOT, cluster, containers_mib, log, meminfo, run_playbook  # noqa: E402

NAME = "bench"
OUT_JSON = ROOT / "bench" / "report.json"
OUT_MD = ROOT / "bench" / "report.md"
GUESS_NODE_MIB = 400  # per node, before one was measured
RESERVE_MIB = 2048
TARGETS = {
    "noop_vs_cold_overhead": 0.30,
    "verify_comm_16_vs_2": 2.0,
    "deploy_16_vs_cold_overhead_2": 2.0,
}


def instances_inventory(generated, out_dir, size=2):
    """The generated inventory (cluster.py) regrouped into instances of ``size`` nodes: the first
    node of each is a node0, the others headless, all tagged with ``vllm_instance``."""
    import yaml  # pylint: disable=import-outside-toplevel
    data = yaml.safe_load(Path(generated).read_text())
    children = data["all"]["children"]["vllm_nodes"]["children"]
    hosts = dict(children["vllm_node0"]["hosts"])
    hosts.update((children.get("vllm_headless") or {}).get("hosts") or {})
    names = sorted(hosts, key=lambda h: int("".join(c for c in h if c.isdigit()) or 0))
    node0, headless = {}, {}
    for index, host in enumerate(names):
        hvars = dict(hosts[host], vllm_instance="i%d" % (index // size))
        (node0 if index % size == 0 else headless)[host] = hvars
    new_children = {"vllm_node0": {"hosts": node0}}
    if headless:
        new_children["vllm_headless"] = {"hosts": headless}
    data["all"]["children"]["vllm_nodes"]["children"] = new_children
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "hosts.yml"
    path.write_text("---\n# bench/run.py: %s regrouped into %d-node instances.\n" % (generated, size)
                    + yaml.safe_dump(data, sort_keys=False, default_flow_style=False))
    return path


def summary(name, result, **extra):
    """What the report keeps of one run."""
    keep = ("wall_s", "rc", "status", "controller_cpu_s", "nodes_cpu_s", "machine_cpu_busy_pct",
            "loadavg_before", "loadavg_after", "lowest_available_mib", "stats", "effective_config",
            "runner_dir")
    out = {"run": name}
    out.update((k, result[k]) for k in keep if k in result)
    out.update(extra)
    out["slowest_tasks"] = [{"task": t["task"], "wall_s": t["wall_s"], "slowest_host_s": t["slowest_host_s"],
                             "node_cpu_s": t["node_cpu_s"], "hosts": t["hosts"]} for t in result["slowest"]]
    return out


def ratio(numerator, denominator):
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 2)


def targets(report):
    cold_overhead = report["deploy_cold_overhead_s"].get("2")
    checks = {
        "noop_vs_cold_overhead": ratio(report["deploy_noop_s"].get("2"), cold_overhead),
        "verify_comm_16_vs_2": ratio(report["verify_comm_s"].get("16"), report["verify_comm_s"].get("2")),
        "deploy_16_vs_cold_overhead_2": ratio(report["deploy_s"].get("16"), cold_overhead),
    }
    return dict((key, {"ratio": value, "target": TARGETS[key],
                       "met": None if value is None else value <= TARGETS[key]}) for key, value in checks.items())


def markdown(report):
    lines = ["# Benchmark report", "",
             "`make bench` (bench/run.py) on %s; %s. Seconds of wall time; load average when each run "
             "started in the tables below." % (report["machine"]["description"], report["started"]), ""]
    lines += ["| nodes | verify_comm | deploy (cold) | of which health wait | deploy overhead | no-op deploy |",
              "|---|---|---|---|---|---|"]
    for size in report["sizes"]:
        key = str(size)
        if key in report["not_run"]:
            lines.append("| %s | not run: %s | | | | |" % (key, report["not_run"][key]))
            continue

        def cell(name, key=key):
            value = report[name].get(key)
            return "" if value is None else "%.1f" % value
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            key, cell("verify_comm_s"), cell("deploy_s"), cell("deploy_health_wait_s"), cell("deploy_overhead_s"),
            cell("deploy_noop_s")))
    lines += ["", "## Targets (ratios of this run)", "", "| target | ratio | limit | met |", "|---|---|---|---|"]
    for key, value in report["targets"].items():
        lines.append("| %s | %s | <= %s | %s |" % (key, "n/a" if value["ratio"] is None else value["ratio"],
                                                   value["target"], {None: "n/a", True: "yes", False: "NO"}[value["met"]]))
    lines += ["", "## Slowest tasks", ""]
    for run in report["runs"]:
        lines += ["### %s (%.1f s, rc %s, load %.1f, changed %s)" % (
            run["run"], run["wall_s"], run["rc"], run["loadavg_before"], (run.get("stats") or {}).get("changed")), "",
            "CPU: controller %.1f s, nodes %.1f s; on %d CPUs that alone takes at least %.1f s of wall time." % (
                run["controller_cpu_s"], run["nodes_cpu_s"], report["machine"]["cpus"],
                (run["controller_cpu_s"] + run["nodes_cpu_s"]) / report["machine"]["cpus"]), "",
            "| task | wall s | slowest host s | nodes' CPU s |", "|---|---|---|---|"]
        for task in run["slowest_tasks"]:
            cells = (task["task"].replace("|", "\\|"), task["wall_s"], task["slowest_host_s"], task["node_cpu_s"])
            lines.append("| %s | %s | %s | %s |" % cells)
        lines.append("")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 4, 8, 16])
    parser.add_argument("--keep", action="store_true", help="leave the last cluster up")
    args = parser.parse_args(argv)
    sizes = sorted(set(args.sizes))
    report = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "mem_total_mib": meminfo()["total_mib"],
                    "description": "%d CPUs, %d MiB" % (os.cpu_count(), meminfo()["total_mib"]),
                    "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]},
        "sizes": sizes,
        "deploy_cold_s": {}, "deploy_cold_overhead_s": {}, "deploy_noop_s": {}, "deploy_noop_changed": {},
        "verify_comm_s": {}, "deploy_s": {}, "deploy_health_wait_s": {}, "deploy_overhead_s": {},
        "not_run": {}, "runs": [], "slowest_tasks": {},
    }
    per_node = None
    base_available = meminfo()["available_mib"] + containers_mib(NAME)
    work = Path(tempfile.mkdtemp(prefix="bench-"))

    def record(name, result, **extra):
        entry = summary(name, result, **extra)
        report["runs"].append(entry)
        report["slowest_tasks"][name] = entry["slowest_tasks"]
        log("%s: %s in %.1fs (rc %s, changed %s)" % (name, result["status"], result["wall_s"], result["rc"],
                                                     (result.get("stats") or {}).get("changed")))
        save(report)

    try:
        for size in sizes:
            if size % 2:
                report["not_run"][str(size)] = "odd: the deploy groups nodes in 2-node instances"
                continue
            # Every size starts cold: a new cluster.
            cluster("down", NAME)
            available = meminfo()["available_mib"]
            need = size * (per_node or GUESS_NODE_MIB) + RESERVE_MIB
            if need > available:
                reason = ("%d nodes need about %d MiB (%s MiB/node), only %d MiB available"
                          % (size, need, per_node or "~%d" % GUESS_NODE_MIB, available))
                for later in [s for s in sizes if s >= size]:
                    report["not_run"][str(later)] = reason
                log(reason)
                break
            log("cluster %s: %d A3 nodes up ..." % (NAME, size))
            up_s, generated = cluster("up", NAME, "--nodes", size, "--product", "a3")
            report.setdefault("up_s", {})[str(size)] = round(up_s, 1)
            inventory = instances_inventory(generated, work / ("inv-%d" % size))

            vc = run_playbook(NAME, "playbooks/verify_comm.yml", inventory.parent,
                              extravars={"comm_check_report_dir": str(work / ("vc-%d" % size))})
            report["verify_comm_s"][str(size)] = vc["wall_s"]
            record("verify_comm %d nodes" % size, vc)

            dep = run_playbook(NAME, "playbooks/deploy.yml", inventory.parent)
            wait = dep["health_wait_s"]
            report["deploy_s"][str(size)] = dep["wall_s"]
            report["deploy_health_wait_s"][str(size)] = wait
            report["deploy_overhead_s"][str(size)] = round(dep["wall_s"] - wait, 1)
            record("deploy cold %d nodes" % size, dep, health_wait_s=wait)
            if size == 2:
                report["deploy_cold_s"]["2"] = dep["wall_s"]
                report["deploy_cold_overhead_s"]["2"] = round(dep["wall_s"] - wait, 1)
                noop = run_playbook(NAME, "playbooks/deploy.yml", inventory.parent)
                report["deploy_noop_s"]["2"] = noop["wall_s"]
                report["deploy_noop_changed"]["2"] = (noop.get("stats") or {}).get("changed")
                record("deploy no-op 2 nodes", noop)
            per_node = max(per_node or 0, (base_available - min(vc["lowest_available_mib"],
                                                                dep["lowest_available_mib"])) // size)
    finally:
        report["targets"] = targets(report)
        report["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        save(report)
        if not args.keep:
            cluster("down", NAME)
    print(OUT_MD.read_text())
    return 0


def save(report):
    if "targets" not in report:
        report = dict(report, targets=targets(report))
    OUT_JSON.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")
    OUT_MD.write_text(markdown(report))


if __name__ == "__main__":
    sys.exit(main())
