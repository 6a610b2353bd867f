#!/bin/sh
# Joins this host to the Rancher custom cluster, once: the system agent then keeps it registered.
# REGISTER_COMMAND: Rancher's node command, with this host's roles, labels and taints appended.
# SYSTEMCTL: the service manager command (tests point it at a stub). Defaults to systemctl.
set -eu
systemctl=${SYSTEMCTL:-systemctl}
: "${REGISTER_COMMAND:?}"
if "$systemctl" is-active --quiet rancher-system-agent 2>/dev/null; then
    echo "rancher-system-agent already running: host registered"
    exit 0
fi
# Rancher's command is `curl ... | sudo sh -s - ...`: without pipefail its status is the shell's, which
# is 0 when curl fetched nothing. bash is always on Debian; dash has no pipefail.
if ! bash -o pipefail -c "$REGISTER_COMMAND"; then
    echo "registration failed: Rancher's node command exited non-zero (is the Rancher server reachable from this host?)" >&2
    exit 1
fi
# Success means the agent runs, whatever the command said.
if ! "$systemctl" is-active --quiet rancher-system-agent; then
    echo "registration failed: the node command finished but rancher-system-agent is not running (journalctl -u rancher-system-agent)" >&2
    exit 1
fi
echo "rancher-system-agent running: host registered"
