#!/bin/sh
# Joins this host to the Rancher custom cluster, once: the system agent then keeps it registered.
# REGISTER_COMMAND: Rancher's node command, with this host's roles, labels and taints appended.
set -eu
: "${REGISTER_COMMAND:?}"
if systemctl is-active --quiet rancher-system-agent 2>/dev/null; then
    echo "rancher-system-agent already running: host registered"
    exit 0
fi
sh -c "$REGISTER_COMMAND"
