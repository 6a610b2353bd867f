#!/bin/sh
# Kernel parameters Kubernetes networking and many-pod nodes need, persisted and applied.
# SYSCTL_CONF: the full content of the sysctl.d file.
set -eu
: "${SYSCTL_CONF:?SYSCTL_CONF must hold sysctl.d lines}"
file=/etc/sysctl.d/90-swh-elastic-workers.conf
mkdir -p /etc/sysctl.d
printf '%s\n' "$SYSCTL_CONF" >"$file"
sysctl -p "$file"
