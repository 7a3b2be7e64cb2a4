#!/usr/bin/env python3
"""Create and destroy simulated Atlas clusters: podman containers booting systemd, reached over SSH.

Every cluster NAME gets three podman networks and N nodes, all prefixed ``ascsim-NAME-``:

* ``mgmt`` (eth0): Ansible connects here over SSH with a key generated for this cluster. It is a
  routed bridge, so the controller reaches the nodes through the host side of the bridge.
* ``data`` (eth1, internal): node0's address and the HCCL/GLOO NIC of the serving stack.
* ``npu`` (eth2, internal): carries the NPU device addresses (8 per A2 node, 16 per A3 node) that
  the fake ``hccn_tool -ping`` really pings between nodes.

Addresses are deterministic from the cluster's slot (0..63): mgmt 10.230.S.(10+i)/24,
data 10.231.S.(10+i)/24, npu 10.232.(4*S).0/22 whose last /24 holds the nodes' own eth2 addresses
(10.232.(4*S+3).(10+i)) and whose first three /24s are left to the NPU device addresses. A
checked-in inventory can therefore name them.

The NPU side (fake npu-smi / hccn_tool / vllm and their state file) is installed by
``tests/sim/fakes/simstate.py``; this module only copies the fakes in and calls it.

Usage:
  cluster.py up NAME --nodes 2 --product a3 [--slot S] [--inventory-dir DIR]
  cluster.py down NAME
  cluster.py exec NAME NODE -- CMD...
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
WORK = ROOT / ".work" / "clusters"
PREFIX = "ascsim"
LABEL = "owner=ascend-serving-sim"
FAKES_DIR = HERE / "fakes"
NODE_LIB = "/usr/local/lib/ascend-sim"


def log(msg):
    print("[cluster] %s" % msg, file=sys.stderr, flush=True)


def run(cmd, check=True, capture=True, input_text=None):
    res = subprocess.run(cmd, check=False, text=True, input=input_text,
                         stdout=subprocess.PIPE if capture else None,
                         stderr=subprocess.PIPE if capture else None)
    if check and res.returncode != 0:
        raise SystemExit("command failed (rc=%d): %s\n%s%s" % (
            res.returncode, " ".join(shlex.quote(c) for c in cmd), res.stdout or "", res.stderr or ""))
    return res


def slot_for(name):
    return zlib.crc32(name.encode()) % 60 + 2  # slots 0 and 1 are for the checked-in demo clusters


def addresses(slot, nodes):
    """The deterministic address plan of a cluster (pure; used by tests and inventories)."""
    if not 0 <= slot <= 63:
        raise ValueError("slot must be 0..63, got %d" % slot)
    if not 1 <= nodes <= 60:
        raise ValueError("nodes must be 1..60, got %d" % nodes)
    return {
        "mgmt_subnet": "10.230.%d.0/24" % slot,
        "data_subnet": "10.231.%d.0/24" % slot,
        "npu_subnet": "10.232.%d.0/22" % (4 * slot),
        "mirror_ip": "10.230.%d.5" % slot,
        "mirror_url": "http://10.230.%d.5:%d" % (slot, MIRROR_PORT),
        "nodes": [
            {
                "name": "node%d" % i,
                "mgmt_ip": "10.230.%d.%d" % (slot, 10 + i),
                "data_ip": "10.231.%d.%d" % (slot, 10 + i),
                "npu_if_ip": "10.232.%d.%d" % (4 * slot + 3, 10 + i),
            }
            for i in range(nodes)
        ],
    }


def net_name(cluster, kind):
    return "%s-%s-%s" % (PREFIX, cluster, kind)


def ctr_name(cluster, node):
    return "%s-%s-%s" % (PREFIX, cluster, node)


def ensure_network(name, subnet, internal):
    if run(["podman", "network", "exists", name], check=False).returncode == 0:
        info = json.loads(run(["podman", "network", "inspect", name]).stdout)[0]
        have = [s.get("subnet") for s in info.get("subnets", [])]
        if subnet in have:
            return
        run(["podman", "network", "rm", "-f", name])
    cmd = ["podman", "network", "create", "--label", LABEL, "--subnet", subnet,
           "--disable-dns", name]
    if internal:
        cmd.insert(3, "--internal")
    run(cmd)


def image_ref():
    return run([str(HERE / "image" / "build.sh")], capture=True).stdout.strip().splitlines()[-1]


def cluster_dir(cluster):
    return WORK / cluster


def ensure_key(cluster):
    d = cluster_dir(cluster)
    d.mkdir(parents=True, exist_ok=True)
    key = d / "id_ed25519"
    if not key.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ascsim-%s" % cluster, "-f", str(key)])
    return key


def wait_booted(name, timeout=90):
    deadline = time.time() + timeout
    state = ""
    while time.time() < deadline:
        res = run(["podman", "exec", name, "systemctl", "is-system-running", "--wait"], check=False)
        state = (res.stdout or "").strip()
        if state in ("running", "degraded"):
            return state
        time.sleep(1)
    raise SystemExit("%s did not boot within %ds (systemd state: %r)" % (name, timeout, state))


def wait_ssh(ip, key, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        res = run(["ssh", "-i", str(key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                   "-o", "BatchMode=yes", "-o", "ConnectTimeout=3", "-o", "LogLevel=ERROR",
                   "root@%s" % ip, "true"], check=False)
        if res.returncode == 0:
            return
        time.sleep(1)
    raise SystemExit("SSH to root@%s did not come up within %ds" % (ip, timeout))


def start_node(cluster, plan, idx, image, key, product, model_path=None, marker="none"):
    node = plan["nodes"][idx]
    name = ctr_name(cluster, node["name"])
    if run(["podman", "container", "exists", name], check=False).returncode == 0:
        running = run(["podman", "inspect", "-f", "{{.State.Running}}", name]).stdout.strip()
        img = run(["podman", "inspect", "-f", "{{.ImageName}}", name]).stdout.strip()
        if running == "true" and img == image:
            install_fakes(name, node_index=idx, product=product, plan=plan)
            install_model(name, cluster, model_path)
            write_release_marker(name, cluster, product, marker)
            write_docker_registry(name, plan)
            return name, False
        run(["podman", "rm", "-f", "-t", "0", name])
    run(["podman", "run", "-d", "--name", name, "--hostname", node["name"],
         "--label", LABEL, "--label", "ascsim.cluster=%s" % cluster,
         "--systemd=always", "--cap-add", "NET_ADMIN", "--cap-add", "NET_RAW",
         "--network", "%s:ip=%s,interface_name=eth0" % (net_name(cluster, "mgmt"), node["mgmt_ip"]),
         "--network", "%s:ip=%s,interface_name=eth1" % (net_name(cluster, "data"), node["data_ip"]),
         "--network", "%s:ip=%s,interface_name=eth2" % (net_name(cluster, "npu"), node["npu_if_ip"]),
         image, "/sbin/init"])
    wait_booted(name)
    pub = Path(str(key) + ".pub").read_text()
    run(["podman", "exec", "-i", name, "sh", "-c",
         "install -d -m 700 /root/.ssh && cat > /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys"],
        input_text=pub)
    install_fakes(name, node_index=idx, product=product, plan=plan)
    install_model(name, cluster, model_path)
    write_release_marker(name, cluster, product, marker)
    write_docker_registry(name, plan)
    return name, True


def install_fakes(name, node_index, product, plan):
    """Copy the strict NPU fakes into the node and let simstate.py lay out the Ascend files."""
    simstate = FAKES_DIR / "simstate.py"
    if not simstate.exists():
        log("%s: tests/sim/fakes/simstate.py absent: node has no simulated NPUs" % name)
        return
    run(["podman", "exec", name, "mkdir", "-p", NODE_LIB])
    for f in sorted(FAKES_DIR.iterdir()):
        if f.is_file():
            run(["podman", "cp", str(f), "%s:%s/%s" % (name, NODE_LIB, f.name)])
    run(["podman", "exec", name, "python3", "%s/simstate.py" % NODE_LIB, "init",
         "--product", product, "--hostname", plan["nodes"][node_index]["name"],
         "--node-index", str(node_index), "--npu-cidr", plan["npu_subnet"]])
    run(["podman", "exec", name, "python3", "%s/simstate.py" % NODE_LIB, "install"])
    # What a node with vllm-ascend installed from source (host runtime) has on its PATH; the fake
    # docker stands in for the container runtime of image releases.
    for tool in ("vllm", "docker"):
        if (FAKES_DIR / tool).exists():
            run(["podman", "exec", name, "ln", "-sf", "%s/%s" % (NODE_LIB, tool), "/usr/local/bin/%s" % tool])


def install_model(name, cluster, model_path):
    """The tiny stand-in weights at the profile's model path (a copy per node, like a synced dir)."""
    maker = HERE / "artifacts" / "make_model.py"
    if not model_path or not model_path.startswith("/") or not maker.exists():
        return
    local = cluster_dir(cluster) / "model"
    if not (local / "config.json").exists():
        run([sys.executable, str(maker), "--out", str(local)])
    run(["podman", "exec", name, "mkdir", "-p", os.path.dirname(model_path.rstrip("/"))])
    run(["podman", "exec", name, "rm", "-rf", model_path])
    run(["podman", "cp", str(local), "%s:%s" % (name, model_path)])


def write_docker_registry(name, plan):
    """The fake docker's simulated registry: the mirror's images/ (docker pull works offline)."""
    run(["podman", "exec", "-i", name, "sh", "-c", "cat > /etc/ascend-sim/docker.json"],
        input_text=json.dumps({"registry": plan["mirror_url"] + "/images"}) + "\n")


def write_release_marker(name, cluster, product, marker):
    """/etc/ascend-sim/release.json: what the fake vllm demands of the node's environment."""
    if marker == "none":
        run(["podman", "exec", name, "rm", "-f", "/etc/ascend-sim/release.json"])
        return
    manifest = json.loads((cluster_dir(cluster) / "mirror" / "manifest.json").read_text())
    lib = "vllm-ascend/%s/libopsproto_rt2.0.so" % product
    data = {
        "custom_ops": True,
        "mlapo_path": "/vllm-workspace/CANN",
        "sfa_opp_path": "/usr/local/Ascend/ascend-toolkit/latest/opp",
        "soc": {"a2": "ascend910b", "a3": "ascend910_93"}[product],
        "required_files": {
            "/usr/local/Ascend/ascend-toolkit/8.2.RC1/opp/built-in/op_proto/lib/linux/aarch64/libopsproto_rt2.0.so":
                manifest.get(lib),
        },
    }
    run(["podman", "exec", "-i", name, "sh", "-c", "cat > /etc/ascend-sim/release.json"],
        input_text=json.dumps(data, indent=2) + "\n")


def default_profile(product, nodes):
    """BF16 needs 2 A3 / 4 A2 nodes; smaller simulated clusters serve the W8A8 variant."""
    variant = "bf16" if nodes >= {"a3": 2, "a2": 4}[product] else "w8a8"
    return "deepseek-v3.2-exp-%s-%s-v0.11.0rc0" % (variant, product)


MIRROR_PORT = 8080
BF16_MODEL_PATH = "/root/.cache/Modelers_Park/DeepSeek-V3.2-Exp"


def start_mirror(cluster, plan, image):
    """The offline artifact mirror of this cluster: a node-image container on the management
    network serving tests/sim/artifacts' build (same path layout as the real download site)."""
    out = cluster_dir(cluster) / "mirror"
    build = HERE / "artifacts" / "build.py"
    if not build.exists():
        log("%s: tests/sim/artifacts/build.py absent: no artifact mirror" % cluster)
        return None
    run([sys.executable, str(build), "--out", str(out)])
    image_builder = HERE / "artifacts" / "image_tarball.py"
    if image_builder.exists():
        run([sys.executable, str(image_builder), "--out", str(out)])
    name = ctr_name(cluster, "mirror")
    if run(["podman", "container", "exists", name], check=False).returncode == 0:
        running = run(["podman", "inspect", "-f", "{{.State.Running}}", name]).stdout.strip()
        if running == "true":
            return plan["mirror_url"]
        run(["podman", "rm", "-f", "-t", "0", name])
    run(["podman", "run", "-d", "--name", name, "--label", LABEL, "--label", "ascsim.cluster=%s" % cluster,
         "--network", "%s:ip=%s,interface_name=eth0" % (net_name(cluster, "mgmt"), plan["mirror_ip"]),
         "-v", "%s:/srv/mirror:ro" % out, image,
         "python3", "-m", "http.server", "--bind", plan["mirror_ip"], "--directory", "/srv/mirror", str(MIRROR_PORT)])
    return plan["mirror_url"]


# The release profile's artifact names -> the upstream file names (tests/sim/artifacts/build.py
# builds them under the same names; wheels are re-tagged for the nodes' platform, see aliases.json).
ARTIFACT_FILES = {
    "sfa": "CANN-custom_ops-sfa-linux.aarch64.run",
    "custom_ops_wheel": "custom_ops-1.0-cp311-cp311-linux_aarch64.whl",
    "mlapo": "CANN-custom_ops-mlapo-linux.aarch64.run",
    "torch_npu_wheel": "torch_npu-2.7.1+gitb7c90d0-cp311-cp311-linux_aarch64.whl",
    "libopsproto": "libopsproto_rt2.0.so",
}


def mirror_vars(cluster, product):
    """Inventory vars pointing the custom-ops install at this cluster's mirror, with its sums."""
    mirror = cluster_dir(cluster) / "mirror"
    if not (mirror / "manifest.json").exists():
        return {}
    manifest = json.loads((mirror / "manifest.json").read_text())
    aliases = json.loads((mirror / "aliases.json").read_text()) if (mirror / "aliases.json").exists() else {}
    sums, renamed = {}, {}
    for name, upstream in ARTIFACT_FILES.items():
        rel = "vllm-ascend/%s/%s" % (product, upstream)
        served = aliases.get(rel, rel)
        sums[name] = manifest[served]
        if served != rel:
            base = os.path.basename(served)
            renamed[name] = {"file": base, "url_path": base.replace("+", "%2B")}
    return {"sim_artifact_sha256": sums, "sim_artifact_renames": renamed}


def write_inventory(cluster, plan, key, product, inv_dir, profile, extra_vars=None):
    import yaml  # the controller's venv has PyYAML

    inv_dir.mkdir(parents=True, exist_ok=True)
    common = {
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(key),
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
        "ansible_python_interpreter": "/usr/bin/python3",
        "sim_product": product,
        "sim_cluster": cluster,
        "sim_mirror_url": plan["mirror_url"],
        "vllm_profile": profile,
        # HCCL/GLOO traffic goes over the data network (eth1), Ansible over the management one.
        "hccl_env_nic_cidr": plan["data_subnet"],
        # The simulated nodes are x86_64 containers: the test-only exception to preflight's
        # aarch64 check (docs/testing.md).
        "preflight_required_architecture": os.uname().machine,
        # The simulated vLLM is up in seconds: poll its health often.
        "vllm_service_health_progress": 3,
    }
    mirror = mirror_vars(cluster, product)
    (cluster_dir(cluster) / "mirror-vars.json").write_text(json.dumps(mirror, indent=2, sort_keys=True))
    common.update(mirror)
    common.update(extra_vars or {})

    def host(node):
        return {"ansible_host": node["mgmt_ip"], "sim_data_ip": node["data_ip"]}

    nodes = plan["nodes"]
    children = {"vllm_node0": {"hosts": {nodes[0]["name"]: host(nodes[0])}}}
    if len(nodes) > 1:
        children["vllm_headless"] = {"hosts": dict((n["name"], host(n)) for n in nodes[1:])}
    data = {"all": {"vars": common, "children": {"vllm_nodes": {"children": children}}}}
    text = "---\n# Generated by tests/sim/cluster.py for simulated cluster %r; do not edit.\n" % cluster
    (inv_dir / "hosts.yml").write_text(text + yaml.safe_dump(data, sort_keys=False, default_flow_style=False))
    return inv_dir / "hosts.yml"


# The kernel's IPv4 neighbour (ARP) table is shared by every network namespace, so by every node
# container of every cluster on this machine. A same-index (or full) device ping pass makes each
# node learn the device addresses of all the others: nodes x (nodes - 1) x devices entries, plus
# a few per node on the mgmt and data networks. Past gc_thresh3 (1024 by default) the kernel logs
# "neighbor table overflow!" and pings fail for no fault of the nodes.
NEIGH_SYSCTL = "/proc/sys/net/ipv4/neigh/default/gc_thresh%d"
NEIGH_SPARE = 512  # left for everything else on the machine (the kernel's default soft limit)
DEVICES_PER_NODE = {"a2": 8, "a3": 16}


def neighbour_entries(nodes, product):
    """Neighbour entries a cluster's nodes need at most (every device address of every peer node,
    and the peers' mgmt and data addresses)."""
    return nodes * (nodes - 1) * DEVICES_PER_NODE[product] + nodes * (2 * nodes + 2)


def neighbour_thresholds(current, entries):
    """The (gc_thresh1, gc_thresh2, gc_thresh3) to set so ``entries`` more fit beside the rest of
    the machine, or None when the current hard limit already leaves room. Never lowers a value:
    the soft limit (gc_thresh2) goes to entries + 1024, the hard limit to twice that."""
    thresh1, thresh2, thresh3 = current
    if entries + NEIGH_SPARE <= thresh3:
        return None
    want = entries + 2 * NEIGH_SPARE
    return (max(thresh1, want // 4), max(thresh2, want), max(thresh3, 2 * want))


def _write_sysctl(path, value):
    Path(path).write_text("%d\n" % value)


def ensure_neighbour_table(nodes, product):
    """Raise the host's neighbour-table thresholds when this cluster would overflow them (a host
    sysctl: done only when needed, and said), or fail saying what to run."""
    try:
        current = tuple(int(Path(NEIGH_SYSCTL % i).read_text()) for i in (1, 2, 3))
    except (OSError, ValueError) as exc:
        log("cannot read the neighbour table thresholds (%s); pings between many nodes may fail" % exc)
        return
    entries = neighbour_entries(nodes, product)
    wanted = neighbour_thresholds(current, entries)
    if wanted is None:
        return
    what = "net.ipv4.neigh.default.gc_thresh1/2/3 %s -> %s" % (
        "/".join(map(str, current)), "/".join(map(str, wanted)))
    try:
        # thresh3 first, so thresh1 <= thresh2 <= thresh3 holds at every step.
        for index, value in sorted(zip((1, 2, 3), wanted), reverse=True):
            _write_sysctl(NEIGH_SYSCTL % index, value)
    except OSError as exc:
        raise SystemExit("%d %s nodes need about %d neighbour (ARP) entries, more than the host's "
                         "neighbour table allows (gc_thresh3=%d), and raising it failed (%s). As root run: "
                         "sysctl -w net.ipv4.neigh.default.gc_thresh1=%d net.ipv4.neigh.default.gc_thresh2=%d "
                         "net.ipv4.neigh.default.gc_thresh3=%d" % ((nodes, product.upper(), entries, current[2], exc)
                                                                   + wanted))
    log("%d %s nodes need about %d neighbour (ARP) entries: raised host sysctl %s" % (
        nodes, product.upper(), entries, what))


def cmd_up(args):
    slot = args.slot if args.slot is not None else slot_for(args.name)
    plan = addresses(slot, args.nodes)
    t0 = time.time()
    ensure_neighbour_table(args.nodes, args.product)
    image = image_ref()
    ensure_network(net_name(args.name, "mgmt"), plan["mgmt_subnet"], internal=False)
    ensure_network(net_name(args.name, "data"), plan["data_subnet"], internal=True)
    ensure_network(net_name(args.name, "npu"), plan["npu_subnet"], internal=True)
    key = ensure_key(args.name)
    # Surplus nodes of an earlier, larger cluster of the same name go away.
    wanted = {ctr_name(args.name, n["name"]) for n in plan["nodes"]} | {ctr_name(args.name, "mirror")}
    for existing in list_containers(args.name):
        if existing not in wanted:
            run(["podman", "rm", "-f", "-t", "0", existing])
    start_mirror(args.name, plan, image)
    profile = args.profile or default_profile(args.product, args.nodes)
    model_path = args.model_path
    if model_path is None and "-bf16-" in profile:
        model_path = BF16_MODEL_PATH
    with ThreadPoolExecutor(max_workers=min(8, args.nodes)) as pool:
        results = list(pool.map(lambda i: start_node(args.name, plan, i, image, key, args.product,
                                                     model_path, args.release_marker),
                                range(args.nodes)))
    for node in plan["nodes"]:
        wait_ssh(node["mgmt_ip"], key)
    inv_dir = Path(args.inventory_dir) if args.inventory_dir else cluster_dir(args.name) / "inventory"
    extra = {}
    if args.vars_file:
        import yaml
        extra = yaml.safe_load(Path(args.vars_file).read_text()) or {}
    inv = write_inventory(args.name, plan, key, args.product, inv_dir, profile, extra)
    (cluster_dir(args.name) / "cluster.json").write_text(json.dumps(
        {"name": args.name, "slot": slot, "product": args.product, "image": image, "plan": plan}, indent=2))
    # Molecule's instance config format (molecule login / its generated inventory use it).
    (cluster_dir(args.name) / "instance_config.json").write_text(json.dumps(
        [{"instance": n["name"], "address": n["mgmt_ip"], "user": "root", "port": 22,
          "identity_file": str(key)} for n in plan["nodes"]], indent=2))
    created = sum(1 for name_created in results if name_created[1])
    log("cluster %s: %d node(s) up (%d created) in %.1fs; inventory %s" % (
        args.name, args.nodes, created, time.time() - t0, inv))
    print(inv)


def list_containers(cluster):
    out = run(["podman", "ps", "-a", "--filter", "label=ascsim.cluster=%s" % cluster,
               "--format", "{{.Names}}"]).stdout
    return [line for line in out.split() if line]


def cmd_down(args):
    names = list_containers(args.name)
    if names:
        run(["podman", "rm", "-f", "-t", "0"] + names)
    for kind in ("mgmt", "data", "npu"):
        run(["podman", "network", "rm", "-f", net_name(args.name, kind)], check=False)
    log("cluster %s: removed %d node(s)" % (args.name, len(names)))


def cmd_exec(args):
    res = subprocess.run(["podman", "exec", ctr_name(args.name, args.node)] + args.cmd, check=False)
    sys.exit(res.returncode)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    sub = p.add_subparsers(dest="action", required=True)
    up = sub.add_parser("up")
    up.add_argument("name")
    up.add_argument("--nodes", type=int, default=2)
    up.add_argument("--product", choices=["a2", "a3"], default="a3")
    up.add_argument("--slot", type=int)
    up.add_argument("--inventory-dir")
    up.add_argument("--profile", help="vllm_profile of the generated inventory (default: by product and size)")
    up.add_argument("--model-path", help="where the tiny stand-in weights go on each node (default: the BF16 "
                    "profiles' local path; W8A8 profiles name a hub id, so none)")
    up.add_argument("--vars-file", help="YAML mapping added to the generated inventory's all.vars")
    up.add_argument("--release-marker", choices=["none", "custom_ops"], default="none",
                    help="custom_ops: the nodes' vllm demands the DeepSeek-V3.2 custom operators")
    down = sub.add_parser("down")
    down.add_argument("name")
    ex = sub.add_parser("exec")
    ex.add_argument("name")
    ex.add_argument("node")
    ex.add_argument("cmd", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    if args.action == "exec" and args.cmd[0:1] == ["--"]:
        args.cmd = args.cmd[1:]
    {"up": cmd_up, "down": cmd_down, "exec": cmd_exec}[args.action](args)


if __name__ == "__main__":
    main()
