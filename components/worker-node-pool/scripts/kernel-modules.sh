#!/bin/sh
# Container networking needs these modules now and at every boot.
# MODULES: space-separated module names.
set -eu
: "${MODULES:?MODULES must list kernel modules}"
file=/etc/modules-load.d/swh-elastic-workers.conf
# Word splitting is wanted: one module per line.
# shellcheck disable=SC2086
wanted=$(printf '%s\n' $MODULES)
if [ -f "$file" ] && [ "$(cat "$file")" = "$wanted" ]; then
    echo "modules-load.d: unchanged"
else
    mkdir -p /etc/modules-load.d
    printf '%s\n' "$wanted" >"$file"
    echo "modules-load.d: wrote $file"
fi

# Whether the running kernel has the module already: loaded (or built in with parameters) shows in
# /sys/module; built in is listed in modules.builtin; and what the kernel does once it has the module, for
# a built-in module that shows in neither (and hosts whose /lib/modules is not the running kernel's).
present() {
    [ -d "/sys/module/$1" ] && return 0
    grep -qs "/$1\.ko" "/lib/modules/$(uname -r)/modules.builtin" && return 0
    case $1 in
    overlay) grep -qs '[[:space:]]overlay$' /proc/filesystems ;;
    br_netfilter) [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] ;;
    *) return 1 ;;
    esac
}

# shellcheck disable=SC2086
for module in $MODULES; do
    if present "$module"; then
        echo "module $module: unchanged (present)"
    elif modprobe "$module" 2>/dev/null; then
        echo "module $module: loaded"
    else
        echo "module $module: neither in the running kernel $(uname -r) nor loadable (modprobe $module failed)" >&2
        exit 1
    fi
done
