#!/usr/bin/env bash
# Turn a debootstrap tree into a bootable container rootfs for a simulated Atlas node.
set -euo pipefail
R="$1"
# Units that make no sense (or hang) in a container.
for u in systemd-remount-fs.service systemd-udevd.service systemd-udev-trigger.service \
         getty@tty1.service console-getty.service systemd-logind.service \
         apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
  ln -sf /dev/null "${R}/etc/systemd/system/${u}"
done
# sshd: keys only; host keys are generated per container at first boot.
rm -f "${R}"/etc/ssh/ssh_host_*
mkdir -p "${R}/etc/systemd/system/ssh.service.d"
cat > "${R}/etc/systemd/system/ssh.service.d/hostkeys.conf" <<'UNIT'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
UNIT
cat > "${R}/etc/ssh/sshd_config.d/ascend-sim.conf" <<'CONF'
PermitRootLogin prohibit-password
PasswordAuthentication no
UseDNS no
CONF
ln -sf /lib/systemd/system/ssh.service "${R}/etc/systemd/system/multi-user.target.wants/ssh.service"
mkdir -p "${R}/root/.ssh" && chmod 700 "${R}/root/.ssh"
: > "${R}/etc/machine-id"
echo "ascend-sim" > "${R}/etc/hostname"
mkdir -p "${R}/etc/ascend-sim"
rm -rf "${R}"/var/cache/apt/archives/*.deb "${R}"/var/lib/apt/lists/*
