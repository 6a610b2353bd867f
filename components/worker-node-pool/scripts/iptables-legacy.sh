#!/bin/sh
# Debian's default iptables-nft breaks pod networking between nodes (T3592: `k3s check-config` fails on
# iptables 1.8.x nf_tables; nodes could not reach each other until switched to legacy).
set -eu
if ! [ -x /usr/sbin/iptables-legacy ]; then
    echo "iptables-legacy is not installed: apt-get install iptables" >&2
    exit 1
fi
for tool in iptables ip6tables; do
    current=$(readlink -f "/etc/alternatives/$tool" || true)
    if [ "$current" != "/usr/sbin/$tool-legacy" ]; then
        update-alternatives --set "$tool" "/usr/sbin/$tool-legacy"
        echo "$tool: switched to legacy"
    else
        echo "$tool: already legacy"
    fi
done
