#!/bin/sh
# Container networking needs these modules now and at every boot.
# MODULES: space-separated module names.
set -eu
: "${MODULES:?MODULES must list kernel modules}"
mkdir -p /etc/modules-load.d
# Word splitting is wanted: one module per line.
# shellcheck disable=SC2086
printf '%s\n' $MODULES >/etc/modules-load.d/swh-elastic-workers.conf
# shellcheck disable=SC2086
for module in $MODULES; do
    # A container test host shares its host's kernel: the module may be loaded already without modprobe.
    if modprobe "$module" 2>/dev/null || grep -q "^$module " /proc/modules; then
        echo "module $module: loaded"
    else
        echo "module $module: cannot be loaded" >&2
        exit 1
    fi
done
