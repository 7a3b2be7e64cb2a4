#!/usr/bin/env bash
# `make demo`: bring up the bundled simulated A3 2-node cluster and run on it the very commands an
# operator runs on hardware, with the checked-in inventory inventories/sim-a3-2node.
# `make demo-down` tears the cluster down.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
CLUSTER=sim-a3-2node
INV="inventories/${CLUSTER}"

case "${1:-up}" in
  down)
    python3 tests/sim/cluster.py down "${CLUSTER}"
    exit 0
    ;;
  up) ;;
  *) echo "usage: demo.sh up|down" >&2; exit 2 ;;
esac

# Slot 1 is reserved for this cluster: its addresses are the ones written in ${INV}/hosts.yml.
python3 tests/sim/cluster.py up "${CLUSTER}" --nodes 2 --product a3 --slot 1 --release-marker custom_ops \
  --inventory-dir "${ROOT}/.work/clusters/${CLUSTER}/generated-inventory" >/dev/null

run() { echo; echo "\$ $*"; "$@"; }
run ansible-playbook playbooks/verify_comm.yml -i "${INV}"
run ansible-playbook playbooks/deploy.yml -i "${INV}"
run ansible-playbook playbooks/render.yml -i "${INV}" -e "render_dir=${ROOT}/.work/demo-rendered"

echo
echo "The simulated cluster serves DeepSeek-V3.2-Exp (deepseek_v3.2) on node0:"
echo "  curl http://10.230.1.10:8000/v1/completions -H 'Content-Type: application/json' \\"
echo "    -d '{\"model\": \"deepseek_v3.2\", \"prompt\": \"The future of AI is\", \"max_tokens\": 50, \"temperature\": 0}'"
echo "Communication report: inventories/reports/${CLUSTER}/verify_comm.md"
echo "Launch scripts:       .work/demo-rendered/"
echo "Tear the simulated cluster down with: make demo-down"
