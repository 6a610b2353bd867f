#!/bin/sh
# Debian's default iptables-nft breaks pod networking between nodes (T3592: `k3s check-config` fails on
# iptables 1.8.x nf_tables; nodes could not reach each other until switched to legacy).
set -eu
if ! [ -x /usr/sbin/iptables-legacy ]; then
    echo "iptables-legacy is not installed: apt-get install iptables" >&2
    exit 1
fi
for tool in iptables ip6tables; do
    # The alternative's value, not the link's final target: iptables-legacy is itself a link (to
    # xtables-legacy-multi).
    current=$(update-alternatives --query "$tool" 2>/dev/null | sed -n 's/^Value: //p')
    if [ "$current" != "/usr/sbin/$tool-legacy" ]; then
        update-alternatives --set "$tool" "/usr/sbin/$tool-legacy" >/dev/null
        echo "$tool: switched to legacy (was ${current:-unset})"
    else
        echo "$tool: unchanged (already legacy)"
    fi
done
