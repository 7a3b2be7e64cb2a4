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
# The chain, in the order an operator runs it; each step runs once its playbook exists.
for pb in verify_comm deploy; do
  if [ -f "playbooks/${pb}.yml" ]; then
    run ansible-playbook "playbooks/${pb}.yml" -i "${INV}"
  fi
done
run ansible-playbook playbooks/render.yml -i "${INV}" -e "render_dir=${ROOT}/.work/demo-rendered"
echo
echo "Rendered launch scripts: ${ROOT}/.work/demo-rendered/"
if [ -f playbooks/deploy.yml ]; then
  echo "Query the endpoint: curl http://10.230.1.10:8000/v1/models"
fi
echo "Tear the simulated cluster down with: make demo-down"
