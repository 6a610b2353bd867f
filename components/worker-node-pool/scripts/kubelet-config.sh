#!/bin/sh
# Kubelet reservations and eviction thresholds, as a config drop-in the k3s/RKE2 agent reads at start.
# Without memory thresholds the node dies of OOM before eviction starts (T3592).
# CONFIG_DIR: /etc/rancher/rke2/config.yaml.d or /etc/rancher/k3s/config.yaml.d
# KUBELET_CONFIG: the drop-in's YAML content.
# SYSTEMCTL: the service manager command (tests point it at a stub). Defaults to systemctl.
set -eu
systemctl=${SYSTEMCTL:-systemctl}
: "${CONFIG_DIR:?}" "${KUBELET_CONFIG:?}"
mkdir -p "$CONFIG_DIR"
file="$CONFIG_DIR/90-swh-kubelet.yaml"
if [ -f "$file" ] && [ "$(cat "$file")" = "$KUBELET_CONFIG" ]; then
    echo "kubelet config: unchanged"
    exit 0
fi
printf '%s\n' "$KUBELET_CONFIG" >"$file"
echo "kubelet config: written to $file"
# A running agent only reads its config at start.
for unit in rke2-agent rke2-server k3s-agent k3s; do
    if "$systemctl" is-active --quiet "$unit" 2>/dev/null; then
        "$systemctl" restart "$unit"
        echo "restarted $unit"
    fi
done
