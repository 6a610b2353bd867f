# shellcheck shell=bash
# Sourced by the image scripts: builds a Debian root filesystem with debootstrap (no registry pull), caches it
# as a tarball keyed by what made it, and imports it into the local Docker engine, labelled with that tarball,
# so a changed recipe makes a new image.
#
#   debian_image IMAGE NAME CUSTOMIZE RECIPE DEBOOTSTRAP_ARGS...
#
# CUSTOMIZE is a function called with the root directory (and its log) before the tarball is written; RECIPE,
# what else CUSTOMIZE depends on (it joins the cache key);
# DEBOOTSTRAP_ARGS end with the suite (the root and the mirror are appended). Import changes come from the
# array `import_changes`.
debian_image() {
    local image=$1 name=$2 customize=$3 recipe=$4
    shift 4
    local mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
    local cache=${SWH_TOOLS_CACHE:-$HOME/.cache/swh-elastic-workers/tools}/images
    local key tarball log
    key=$(printf '%s ' "$@" "$mirror" "$recipe" "$(declare -f "$customize")" | sha256sum | cut -c1-12)
    tarball="$cache/$name-$key.tar"
    log="$cache/debootstrap-$name.log"
    if [ "$(docker image inspect -f '{{index .Config.Labels "swh.tarball"}}' "$image" 2>/dev/null)" = "${tarball##*/}" ]; then
        echo "image $image: present"
        return 0
    fi
    command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; return 1; }
    mkdir -p "$cache"
    if ! [ -f "$tarball" ]; then
        local root
        root=$(mktemp -d)
        # shellcheck disable=SC2064 # the root is known now
        trap "rm -rf '$root'" EXIT
        echo "image $image: debootstrap $* (a few minutes, once)"
        debootstrap "$@" "$root" "$mirror" >"$log" 2>&1 || { tail -20 "$log" >&2; return 1; }
        "$customize" "$root" "$log" || { tail -20 "$log" >&2; return 1; }
        tar -C "$root" -cf "$tarball.tmp" .
        mv "$tarball.tmp" "$tarball"
    fi
    echo "image $image: importing $tarball"
    # shellcheck disable=SC2154 # set by the sourcing script
    docker import "${import_changes[@]}" --change "LABEL swh.tarball=${tarball##*/}" "$tarball" "$image" >/dev/null
    echo "image $image: imported"
}
