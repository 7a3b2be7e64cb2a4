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
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import (ROOT, containers_mib, cluster, fakes_digest, install_fakes_from,  # noqa: E402
                      log, meminfo, run_playbook, running_nodes)

PLAYBOOK = "playbooks/verify_comm.yml"
OUT = ROOT / "bench" / "verify_comm_scale.json"
NAME = "bench-vc"
GUESS_NODE_MIB = 400  # per node, before one was measured
RESERVE_MIB = 2048  # left for ansible's forks on the controller and the page cache


def run_verify_comm(inventory, forks, pipelining, extra_cmdline, name=NAME):
    """verify_comm.yml on the cluster through ansible-runner; the report's summary added."""
    report_dir = tempfile.mkdtemp(prefix="bench-vc-report-")
    envvars = {}
    if forks is not None:
        envvars["ANSIBLE_FORKS"] = str(forks)
    if pipelining is not None:
        envvars["ANSIBLE_PIPELINING"] = "True" if pipelining else "False"
    result = run_playbook(name, PLAYBOOK, inventory, extravars={"comm_check_report_dir": report_dir},
                          envvars=envvars, cmdline=extra_cmdline)
    report = Path(report_dir) / "verify_comm.json"
    result["report_summary"] = json.loads(report.read_text()).get("summary") if report.exists() else None
    result["report_dir"] = report_dir
    return result


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
    base_available = base["available_mib"] + containers_mib(NAME)
    per_node = None
    log("memory: %d MiB total, %d MiB available (%d without %s)"
        % (base["total_mib"], base["available_mib"], base_available, NAME))
    try:
        for nodes in sorted(args.nodes):
            now = meminfo()["available_mib"]
            have = len(running_nodes(NAME))
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
                install_fakes_from(NAME, args.fakes_from)
            after_up = meminfo()["available_mib"]
            log("up in %.1fs; %d MiB available; running %s ..." % (up_s, after_up, PLAYBOOK))
            result = run_verify_comm(Path(inventory).parent, None if args.repo_config else args.forks,
                                     None if args.repo_config else args.pipelining, args.cmdline.split())
            # Nodes and controller at their peak, per node: what one more node will cost.
            per_node = max(per_node or 0, (base_available - result["lowest_available_mib"]) // nodes)
            slowest = result["slowest"]
            entry.update(up_s=round(up_s, 1), available_mib_after_up=after_up, per_node_mib=per_node, **result)
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
