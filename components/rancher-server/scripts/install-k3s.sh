#!/bin/sh
# Installs a pinned k3s server, from the installer script of the same tag. Idempotent: with the same
# version and config it changes nothing; a new version or config re-runs the installer, which restarts k3s.
# K3S_VERSION: e.g. v1.33.4+k3s1. K3S_CONFIG: content of /etc/rancher/k3s/config.yaml.
set -eu
: "${K3S_VERSION:?}" "${K3S_CONFIG:?}"
mkdir -p /etc/rancher/k3s
config=/etc/rancher/k3s/config.yaml
changed=no
if ! [ -f "$config" ] || [ "$(cat "$config")" != "$K3S_CONFIG" ]; then
    printf '%s\n' "$K3S_CONFIG" >"$config"
    changed=yes
fi
installed=$(k3s --version 2>/dev/null | awk 'NR == 1 { print $3 }' || true)
if [ "$installed" = "$K3S_VERSION" ] && [ "$changed" = no ]; then
    echo "k3s $K3S_VERSION: already installed, config unchanged"
    exit 0
fi
installer=$(mktemp)
trap 'rm -f "$installer"' EXIT
curl -sfL -o "$installer" "https://raw.githubusercontent.com/k3s-io/k3s/$K3S_VERSION/install.sh"
INSTALL_K3S_VERSION="$K3S_VERSION" sh "$installer" server
echo "k3s $K3S_VERSION: installed (was: ${installed:-none})"
