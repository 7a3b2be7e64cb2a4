#!/usr/bin/env bash
# Build the simulated Atlas node image (Debian bookworm + systemd + sshd) with debootstrap and
# `podman import`. The tag is a hash of this recipe, so the image is rebuilt only when it changes.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MIRROR="${ASCEND_SIM_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
PACKAGES="systemd,systemd-sysv,dbus,python3,python3-pip,python3-venv,iproute2,iputils-ping,sudo,openssh-server,procps,iptables,ca-certificates,curl"
NAME="localhost/ascend-serving-node"
TAG="$(cat "${HERE}/build.sh" "${HERE}/setup-rootfs.sh" | sha256sum | cut -c1-12)"
IMAGE="${NAME}:${TAG}"

if podman image exists "${IMAGE}"; then
  echo "${IMAGE}"
  exit 0
fi
echo "[image] building ${IMAGE} (debootstrap ${SUITE})" >&2
ROOTFS="$(mktemp -d /var/tmp/ascend-serving-rootfs.XXXXXX)"
trap 'rm -rf "${ROOTFS}"' EXIT
debootstrap --variant=minbase --include="${PACKAGES}" "${SUITE}" "${ROOTFS}" "${MIRROR}" >&2
bash "${HERE}/setup-rootfs.sh" "${ROOTFS}" >&2
tar -C "${ROOTFS}" -c . | podman import \
  --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' \
  - "${IMAGE}" >&2
# Old tags of this recipe are garbage now.
for old in $(podman images --format '{{.Repository}}:{{.Tag}}' | grep "^${NAME}:" | grep -v ":${TAG}$" || true); do
  podman rmi -f "${old}" >/dev/null 2>&1 || true
done
echo "${IMAGE}"
