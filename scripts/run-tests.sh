#!/usr/bin/env bash
# `make test`: every check of the project, stage by stage, each timed. All stages run even when
# one fails; the last line is the summary (`stages: N passed, M failed`) and the exit code is
# non-zero when any failed. Usage: run-tests.sh [--only-molecule] [SCENARIO...]
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}" || exit 1
# shellcheck source=/dev/null
source "${ROOT}/scripts/env.sh"

only_molecule=false
if [ "${1:-}" = "--only-molecule" ]; then only_molecule=true; shift; fi
scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
  for d in molecule/*/; do
    d="${d%/}"; d="${d##*/}"
    [[ "${d}" == _* ]] || scenarios+=("${d}")
  done
fi

passed=0; failed=0; summary=()
stage() {
  local name="$1"; shift
  local t0 t1 rc
  printf '\n===== stage %s: %s\n' "${name}" "$*"
  t0=$(date +%s)
  "$@"; rc=$?
  t1=$(date +%s)
  if [ ${rc} -eq 0 ]; then
    passed=$((passed + 1)); summary+=("PASS ${name} ($((t1 - t0))s)")
  else
    failed=$((failed + 1)); summary+=("FAIL ${name} ($((t1 - t0))s, rc=${rc})")
  fi
  printf '===== stage %s: %s in %ss\n' "${name}" "$([ ${rc} -eq 0 ] && echo passed || echo FAILED)" "$((t1 - t0))"
}

run_scenario() {
  local s="$1"
  # molecule links the scenario inventory to the cluster's inventory dir: it must exist.
  local cluster
  cluster="$(sed -n 's/^ *ASCEND_SIM_CLUSTER: *//p' "molecule/${s}/molecule.yml" | head -n1)"
  [ -n "${cluster}" ] && mkdir -p ".work/clusters/${cluster}/inventory"
  molecule test -s "${s}"
}

T0=$(date +%s)
if ! ${only_molecule}; then
  stage yamllint yamllint -s .
  stage ansible-lint ansible-lint
  stage ruff ruff check
  stage shellcheck "${ROOT}/scripts/shellcheck.sh"
  stage changelog antsibull-changelog lint
  stage role-docs python3 scripts/role_docs.py --check
  stage sanity make -s --no-print-directory sanity
  stage units make -s --no-print-directory units
  stage pytest pytest -p no:cacheprovider tests/sim
  stage collection "${ROOT}/scripts/install-check.sh"
fi
# One node image for every scenario, built once (cached by the hash of its recipe).
stage node-image "${ROOT}/tests/sim/image/build.sh"
for s in "${scenarios[@]}"; do
  stage "molecule-${s}" run_scenario "${s}"
done

printf '\n===== summary (total %ss)\n' "$(( $(date +%s) - T0 ))"
printf '  %s\n' "${summary[@]}"
echo "stages: ${passed} passed, ${failed} failed"
[ "${failed}" -eq 0 ]
