#!/bin/sh
# Installs the Debian packages the preparation and Rancher's node command need and a fresh Debian 11 or 12
# install leaves out: iptables (Debian ships nftables; the kubelet and the CNI call iptables) and curl (the
# node command is `curl ... | sudo sh`).
# PACKAGES: space-separated package names.
set -eu
: "${PACKAGES:?PACKAGES must list Debian packages}"
missing=""
for package in $PACKAGES; do
    if ! dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q ' installed$'; then
        missing="$missing $package"
    fi
done
if [ -z "$missing" ]; then
    echo "packages: unchanged ($PACKAGES installed)"
    exit 0
fi
echo "packages: installing$missing"
export DEBIAN_FRONTEND=noninteractive
install_missing() {
    # A run cut off mid-install (a dropped SSH connection) can leave dpkg half-done or apt's lock held.
    dpkg --configure -a
    # shellcheck disable=SC2086
    apt-get -o DPkg::Lock::Timeout=120 install -q -y --no-install-recommends $missing >/dev/null
}
# Stale package lists make the first try fail; refresh them once.
if ! { install_missing || { apt-get -o DPkg::Lock::Timeout=120 update -q >/dev/null && install_missing; }; }; then
    echo "packages: apt-get could not install$missing: install them on this host (apt-get install$missing), then run again" >&2
    exit 1
fi
echo "packages: installed$missing"
