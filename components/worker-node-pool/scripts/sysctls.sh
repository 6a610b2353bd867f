#!/bin/sh
# Kernel parameters Kubernetes networking and many-pod nodes need, persisted and applied.
# SYSCTL_CONF: the full content of the sysctl.d file ("key = value" lines).
set -eu
: "${SYSCTL_CONF:?SYSCTL_CONF must hold sysctl.d lines}"
file=/etc/sysctl.d/90-swh-elastic-workers.conf
# Whether every live value already is the file's.
applied() {
    printf '%s\n' "$SYSCTL_CONF" | {
        while IFS='= ' read -r key value; do
            [ -z "$key" ] || [ "$(sysctl -n "$key" 2>/dev/null)" = "$value" ] || exit 1
        done
    }
}
if [ -f "$file" ] && [ "$(cat "$file")" = "$SYSCTL_CONF" ] && applied; then
    echo "sysctls: unchanged"
    exit 0
fi
mkdir -p /etc/sysctl.d
printf '%s\n' "$SYSCTL_CONF" >"$file"
sysctl -p "$file"
echo "sysctls: applied $file"
