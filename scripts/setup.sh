#!/usr/bin/env bash
# One setup path for developers and CI: Debian packages, the project virtualenv, the third-party
# collections (from the `ansible` wheel on PyPI, Galaxy being unreachable), this collection at an
# ansible_collections/ascend/serving path, and the get-pip stand-in ansible-test --venv needs.
# Idempotent: every step is skipped when its stamp matches, so a second run takes seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${ROOT}/.work"
VENV="${ROOT}/.venv"
PYTHON="${PYTHON:-python3.11}"
ANSIBLE_BUNDLE_VERSION="12.3.0"
# Only the collections the project uses (molecule's podman driver and the sim cluster playbooks).
BUNDLED_COLLECTIONS=(containers/podman ansible/posix community/general)
# Debian's shellcheck package lints the shell scripts (`make shellcheck`, in `make lint`, `make test`).
APT_PACKAGES=(podman runc debootstrap openssh-client rsync iproute2 iputils-ping iptables uidmap shellcheck)

log() { printf '[setup] %s\n' "$*"; }
mkdir -p "${WORK}"

# 1. Debian packages, only when missing.
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null | grep -q "install ok installed" || missing+=("${pkg}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "[setup] missing Debian packages: ${missing[*]}; run as root or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 2. The project virtualenv, pinned by requirements-dev.txt + requirements-dev.lock.
command -v "${PYTHON}" >/dev/null 2>&1 || PYTHON=python3
req_stamp="$(cat "${ROOT}/requirements-dev.txt" "${ROOT}/requirements-dev.lock" | sha256sum | cut -c1-16)"
if [ "$(cat "${VENV}/.stamp" 2>/dev/null)" != "${req_stamp}" ]; then
  log "creating ${VENV}"
  rm -rf "${VENV}"
  "${PYTHON}" -m venv "${VENV}"
  "${VENV}/bin/pip" install -q --disable-pip-version-check \
    -r "${ROOT}/requirements-dev.txt" -c "${ROOT}/requirements-dev.lock"
  echo "${req_stamp}" > "${VENV}/.stamp"
else
  log "virtualenv up to date"
fi

# 3. Third-party collections from the ansible community wheel.
COLL="${WORK}/collections/ansible_collections"
coll_stamp="${ANSIBLE_BUNDLE_VERSION} ${BUNDLED_COLLECTIONS[*]}"
# The downloaded ansible wheel, if any (the first match of its name pattern).
ansible_wheel() {
  local w
  for w in "${WORK}"/wheels/ansible-"${ANSIBLE_BUNDLE_VERSION}"-*.whl; do
    if [ -f "${w}" ]; then printf '%s\n' "${w}"; return 0; fi
  done
  return 1
}
if [ "$(cat "${WORK}/collections/.stamp" 2>/dev/null)" != "${coll_stamp}" ]; then
  log "extracting ${BUNDLED_COLLECTIONS[*]} from ansible==${ANSIBLE_BUNDLE_VERSION}"
  mkdir -p "${WORK}/wheels"
  if ! wheel="$(ansible_wheel)"; then
    "${VENV}/bin/pip" download -q --disable-pip-version-check --no-deps \
      -d "${WORK}/wheels" "ansible==${ANSIBLE_BUNDLE_VERSION}"
    wheel="$(ansible_wheel)" || { echo "[setup] pip downloaded no ansible-${ANSIBLE_BUNDLE_VERSION}-*.whl into ${WORK}/wheels" >&2; exit 1; }
  fi
  for c in "${BUNDLED_COLLECTIONS[@]}"; do rm -rf "${COLL:?}/${c}"; done
  "${VENV}/bin/python" - "${wheel}" "${WORK}/collections" "${BUNDLED_COLLECTIONS[@]}" <<'PY'
import sys, zipfile
wheel, dest, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
prefixes = tuple(f"ansible_collections/{c}/" for c in wanted)
with zipfile.ZipFile(wheel) as z:
    members = [m for m in z.namelist() if m.startswith(prefixes)]
    if not members:
        sys.exit(f"none of {wanted} found in {wheel}")
    z.extractall(dest, members)
PY
  echo "${coll_stamp}" > "${WORK}/collections/.stamp"
else
  log "collections up to date"
fi

# 4. This collection at ansible_collections/ascend/serving (a symlink serves Ansible and pytest;
#    ansible-test needs a real path, which `make sanity` / `make units` copy to, see Makefile).
mkdir -p "${COLL}/ascend"
if [ "$(readlink "${COLL}/ascend/serving" 2>/dev/null)" != "${ROOT}" ]; then
  rm -rf "${COLL}/ascend/serving"
  ln -s "${ROOT}" "${COLL}/ascend/serving"
fi

# 5. ansible-test --venv bootstraps pip with a get-pip script it downloads from a host that is not
#    reachable here; this stand-in installs pip with ensurepip and then the packages asked for.
GETPIP_DIR="${HOME}/.ansible/test/cache"
mkdir -p "${GETPIP_DIR}"
for v in 24_2 25_2; do
  install -m 0644 "${ROOT}/scripts/get_pip_standin.py" "${GETPIP_DIR}/get_pip_${v}.py"
done

log "ready: source scripts/env.sh (or use make) to get the project environment"
