# Source me: the project environment used by the Makefile, molecule and the tests.
# shellcheck shell=bash
ASCEND_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
export ASCEND_ROOT
export PATH="${ASCEND_ROOT}/.venv/bin:${PATH}"
export ANSIBLE_COLLECTIONS_PATH="${ASCEND_ROOT}/.work/collections"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export CONTAINERS_CONF="${ASCEND_ROOT}/tests/sim/containers.conf"
export PYTHONPATH="${ASCEND_ROOT}/.work/collections${PYTHONPATH:+:${PYTHONPATH}}"
export ANSIBLE_FORCE_COLOR="${ANSIBLE_FORCE_COLOR:-false}"
export PY_COLORS="${PY_COLORS:-0}"
