#!/bin/sh
# Removes the Rancher agent and the Kubernetes distribution from a host leaving the pool.
set -eu
for uninstall in /usr/local/bin/rancher-system-agent-uninstall.sh /usr/local/bin/rke2-uninstall.sh \
    /usr/bin/rke2-uninstall.sh /usr/local/bin/k3s-agent-uninstall.sh; do
    if [ -x "$uninstall" ]; then
        "$uninstall"
        echo "ran $uninstall"
    fi
done
