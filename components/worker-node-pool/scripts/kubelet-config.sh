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
# Present from a change until the agents have restarted on it: a failed restart is retried by the next run.
pending="$file.restart-pending"
if [ -f "$file" ] && [ "$(cat "$file")" = "$KUBELET_CONFIG" ]; then
    if ! [ -e "$pending" ]; then
        echo "kubelet config: unchanged"
        exit 0
    fi
    echo "kubelet config: unchanged, but the agent has not restarted on it yet"
else
    : >"$pending"
    printf '%s\n' "$KUBELET_CONFIG" >"$file"
    echo "kubelet config: written to $file"
fi
# An agent only reads its config at start: restart each one installed here (running or not).
for unit in rke2-agent rke2-server k3s-agent k3s; do
    if "$systemctl" is-enabled --quiet "$unit" 2>/dev/null || "$systemctl" is-active --quiet "$unit" 2>/dev/null; then
        if ! "$systemctl" restart "$unit"; then
            echo "kubelet config: restarting $unit failed, it runs without this config (journalctl -u $unit); the next run retries" >&2
            exit 1
        fi
        echo "restarted $unit"
    fi
done
rm -f "$pending"
