#!/usr/bin/env bash
# Makes the loader's base image without pulling from any registry: a Debian bookworm root filesystem with
# Python 3 from debootstrap, imported into the local Docker engine. The tarball is cached by its package list.
#
#   test/rig/e2e/base-image.sh IMAGE      # e.g. swh-e2e/python:3.11-bookworm
set -euo pipefail
image=${1:?usage: base-image.sh IMAGE}
packages="python3,python3-venv,python3-pip,python3-dev,ca-certificates,build-essential,libffi-dev,git"
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${SWH_TOOLS_CACHE:-$HOME/.cache/swh-elastic-workers/tools}/images
key=$(printf '%s %s' "$packages" "$mirror" | sha256sum | cut -c1-12)
tarball="$cache/bookworm-python-$key.tar"

if docker image inspect "$image" >/dev/null 2>&1; then
    echo "base image $image: present"
    exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
mkdir -p "$cache"
if ! [ -f "$tarball" ]; then
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    echo "base image: debootstrap bookworm with $packages (a few minutes, once)"
    debootstrap --variant=minbase --include="$packages" bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
        { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
    # The image's python3 is Debian's 3.11; `python` and pip in a venv work as in python:3.11-bookworm.
    chroot "$root" sh -c 'apt-get clean && rm -rf /var/lib/apt/lists/*'
    tar -C "$root" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
fi
echo "base image: importing $tarball as $image"
docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' "$tarball" "$image" >/dev/null
echo "base image $image: imported"
