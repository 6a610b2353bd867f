#!/bin/sh
# The kubelet refuses to run with swap on; turn it off now and keep it off across reboots.
set -eu
changed=no
if [ -n "$(tail -n +2 /proc/swaps)" ]; then
    swapoff -a
    echo "swap: turned off"
    changed=yes
fi
if grep -Eq '^[^#].*[[:space:]]swap[[:space:]]' /etc/fstab; then
    sed -i -E 's/^([^#].*[[:space:]]swap[[:space:]].*)$/# disabled by swh elastic-workers: \1/' /etc/fstab
    echo "swap: fstab entries commented out"
    changed=yes
fi
if [ -n "$(tail -n +2 /proc/swaps)" ]; then
    echo "swap is still active" >&2
    exit 1
fi
if [ "$changed" = no ]; then echo "swap: unchanged (off)"; fi
