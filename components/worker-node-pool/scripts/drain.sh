#!/bin/sh
# Runs where `pulumi` runs: drains a node leaving the pool (loaders get their full grace period to finish
# their task) and deletes it from the cluster. KUBECONFIG_CONTENT is the cluster's kubeconfig.
set -eu
: "${NODE_NAME:?}" "${KUBECONFIG_CONTENT:?}" "${DRAIN_TIMEOUT:?}"
kubeconfig=$(mktemp)
trap 'rm -f "$kubeconfig"' EXIT
printf '%s\n' "$KUBECONFIG_CONTENT" >"$kubeconfig"
if ! kubectl --kubeconfig "$kubeconfig" get node "$NODE_NAME" >/dev/null 2>&1; then
    echo "node $NODE_NAME is not in the cluster: nothing to drain"
    exit 0
fi
kubectl --kubeconfig "$kubeconfig" drain "$NODE_NAME" --ignore-daemonsets --delete-emptydir-data \
    --timeout "$DRAIN_TIMEOUT"
kubectl --kubeconfig "$kubeconfig" delete node "$NODE_NAME"
