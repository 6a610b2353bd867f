#!/bin/sh
# Waits, at most TIMEOUT_SECONDS, until every node of the k3s cluster is Ready.
set -eu
: "${TIMEOUT_SECONDS:?}"
deadline=$(($(date +%s) + TIMEOUT_SECONDS))
while :; do
    ready=$(k3s kubectl get nodes \
        -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null || true)
    if [ -n "$ready" ] && ! printf '%s\n' "$ready" | grep -qv '^True$'; then
        echo "k3s: all nodes Ready"
        exit 0
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "k3s: nodes not Ready after ${TIMEOUT_SECONDS}s" >&2
        k3s kubectl get nodes >&2 || true
        exit 1
    fi
    sleep 5
done
