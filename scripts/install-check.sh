#!/usr/bin/env bash
# Build the collection tarball, install it into an empty collections dir, and run its playbooks by
# FQCN (syntax check), proving the built artifact is usable and carries no test-only files.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIST="${ROOT}/.work/dist"
TMP="$(mktemp -d)"
trap 'rm -rf "${TMP}"' EXIT
cd "${ROOT}"
ansible-galaxy collection build --force --output-path "${DIST}" >/dev/null
version="$(sed -n 's/^version: *//p' galaxy.yml)"
tarball="${DIST}/ascend-serving-${version}.tar.gz"
echo "built ${tarball} ($(du -h "${tarball}" | cut -f1))"
# Nothing that is test-only may ship, nor the developer tools' files (galaxy.yml build_ignore).
leaked="$(tar -tzf "${tarball}" | grep -E '^(molecule|tests|scripts|bench|\.ci|\.work|\.venv|\.ruff_cache)/|^(Makefile|requirements-dev\.(txt|lock)|\.ansible-lint|\.yamllint|\.pre-commit-config\.yaml|ruff\.toml)$' || true)"
if [ -n "${leaked}" ]; then
  echo "test-only files in the tarball:" >&2; echo "${leaked}" >&2; exit 1
fi
ANSIBLE_COLLECTIONS_PATH="${TMP}" ansible-galaxy collection install -p "${TMP}" "${tarball}" >/dev/null
installed="${TMP}/ansible_collections/ascend/serving"
test -f "${installed}/MANIFEST.json"
count=0
for pb in "${installed}"/playbooks/*.yml; do
  [ -e "${pb}" ] || continue
  name="$(basename "${pb}" .yml)"
  (cd "${TMP}" && ANSIBLE_COLLECTIONS_PATH="${TMP}" ansible-playbook -i localhost, "ascend.serving.${name}" --syntax-check >/dev/null)
  echo "ascend.serving.${name}: syntax ok"
  count=$((count + 1))
done
[ "${count}" -gt 0 ] || { echo "no playbooks in the built collection" >&2; exit 1; }
echo "installed and checked ${count} playbook(s) from ${tarball}"
