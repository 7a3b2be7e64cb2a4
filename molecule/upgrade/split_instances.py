"""Make two 2-node instances (a, b) out of a generated 4-node simulated-cluster inventory (tests only)."""
import sys

import yaml

INSTANCES = {"node0": "a", "node1": "a", "node2": "b", "node3": "b"}


def main(path):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    inv = yaml.safe_load(text)
    groups = inv["all"]["children"]["vllm_nodes"]["children"]
    node0 = groups["vllm_node0"]["hosts"]
    headless = groups["vllm_headless"]["hosts"]
    if "node2" in headless:
        node0["node2"] = headless.pop("node2")
    for group in (node0, headless):
        for host, hvars in group.items():
            hvars = group[host] = hvars or {}
            hvars["vllm_instance"] = INSTANCES[host]
    new = yaml.safe_dump(inv, sort_keys=False, default_flow_style=False)
    head = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    if head + new != text:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(head + new)
        print("rewritten")
    else:
        print("unchanged")


if __name__ == "__main__":
    main(sys.argv[1])
