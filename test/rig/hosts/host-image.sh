#!/usr/bin/env bash
# Makes a Debian test host image without pulling from any registry (test/rig/e2e/debian-image.sh):
# debootstrap's default variant (the required and important packages a fresh Debian server install has:
# systemd as init, nftables, no iptables) plus the SSH server and sudo that the installer's "SSH server" task
# and sudo user add. apt's package lists and the PACKAGES the preparation installs
# (components/worker-node-pool/node-prep.ts) are left in apt's cache, so `apt-get install` on the host works as
# on a fresh install without the host reaching a mirror.
#
#   test/rig/hosts/host-image.sh RELEASE IMAGE PACKAGES   # e.g. bookworm swh-e2e/host:bookworm "iptables curl"
set -euo pipefail
usage="usage: host-image.sh RELEASE IMAGE PACKAGES"
release=${1:?$usage}
image=${2:?$usage}
cached=${3:?$usage}
# shellcheck source=test/rig/e2e/debian-image.sh
. "$(dirname "$0")/../e2e/debian-image.sh"

host() {
    local root=$1 log=$2
    printf 'deb %s %s main\n' "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" "$release" >"$root/etc/apt/sources.list"
    chroot "$root" sh -c "apt-get update -qq && apt-get install -qq --download-only -y $cached" >>"$log" 2>&1
    # What a container cannot or must not do at boot: getty on consoles it has none of, and the units that
    # would change this machine's kernel state (the hosts share its kernel).
    chroot "$root" systemctl mask getty@tty1.service serial-getty@console.service console-getty.service \
        systemd-modules-load.service systemd-sysctl.service systemd-remount-fs.service \
        systemd-udevd.service systemd-udev-trigger.service >>"$log" 2>&1
    # Each container makes its own host keys at boot.
    rm -f "$root"/etc/ssh/ssh_host_*
    mkdir -p "$root/etc/systemd/system/ssh.service.d"
    printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' \
        >"$root/etc/systemd/system/ssh.service.d/host-keys.conf"
    : >"$root/etc/machine-id"
}
import_changes=(--change 'ENV container=docker' --change 'CMD ["/sbin/init"]')
debian_image "$image" "host-$release" host "$cached" --include=openssh-server,sudo "$release"
