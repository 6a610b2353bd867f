#!/usr/bin/env bash
# Makes the image the real nodes run (their pod sandbox and the test pods) without pulling from any registry:
# Debian's static busybox (sh, sleep, httpd, wget, timeout) in an otherwise empty filesystem. The sandbox runs it with no
# arguments: `sleep infinity`, as the pause image sleeps.
#
#   test/rig/hosts/pod-image.sh IMAGE     # e.g. swh-e2e/busybox:1
set -euo pipefail
image=${1:?usage: pod-image.sh IMAGE}
cache=${SWH_TOOLS_CACHE:-$HOME/.cache/swh-elastic-workers/tools}/images
applets="sh sleep httpd wget timeout cat echo hostname ip ls head dd"
# The image is labelled with what made it: a changed applet list makes a new one.
if [ "$(docker image inspect -f '{{index .Config.Labels "swh.applets"}}' "$image" 2>/dev/null)" = "$applets" ]; then
    echo "image $image: present"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$cache"
deb=$(find "$cache" -maxdepth 1 -name 'busybox-static_*.deb' | head -1)
if [ -z "$deb" ]; then
    (cd "$cache" && apt-get download busybox-static >/dev/null) || { echo "apt-get download busybox-static failed" >&2; exit 1; }
    deb=$(find "$cache" -maxdepth 1 -name 'busybox-static_*.deb' | head -1)
fi
dpkg-deb -x "$deb" "$work/deb"
mkdir -p "$work/root/bin" "$work/root/tmp"
cp "$work/deb/bin/busybox" "$work/root/bin/busybox"
for applet in $applets; do ln -s busybox "$work/root/bin/$applet"; done
tar -C "$work/root" -cf "$work/image.tar" .
docker import --change 'CMD ["/bin/sleep", "infinity"]' --change "LABEL swh.applets=\"$applets\"" "$work/image.tar" "$image" >/dev/null
echo "image $image: imported from $(basename "$deb")"
