#!/usr/bin/env bash
# The environment of the offline engine, for the `local` and `box` stacks of this checkout:
#
#   e=$(scripts/tools/env.sh) && eval "$e"      # then, in the project directory:
#   pulumi stack select --create local && pulumi preview
#
# - PATH: the pinned Node (node.sh) and the Pulumi CLI, language host and plugins (bootstrap.sh links there the
#   ones it built, or those already installed at the pinned versions, as on an operator's machine).
# - npm_config_nodedir: native npm modules build against the pinned Node's headers (none can be downloaded).
# - PULUMI_BACKEND_URL: a file backend in .state/backend (ignored by git).
# - PULUMI_CONFIG_PASSPHRASE: the passphrase of the offline stacks' committed secrets. It is public on purpose:
#   those secrets are credentials of services on 127.0.0.1 that the demo and the box start. Real stacks
#   (staging, production) use their own passphrase or a KMS secrets provider (docs/operations.md, "Stack secrets").
# - no update checks, no plugin downloads.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"
node_bin=$("$here/node.sh")
tools_bin=$("$here/bootstrap.sh" --print-bin)
mkdir -p "$root/.state/backend"
q() { printf '%q' "$1"; }
# The checkout's plugin launchers (language host, policy analyzer) come last: installed ones win.
echo "export PATH=$(q "$node_bin:$tools_bin"):\"\$PATH\":$(q "$here/plugins")"
# Native modules (re2, under gitlab-ci-local) compile against this Node's own headers: no header download.
echo "export npm_config_nodedir=$(q "$(dirname "$node_bin")")"
echo "export PULUMI_BACKEND_URL=$(q "file://$root/.state/backend")"
echo "export PULUMI_CONFIG_PASSPHRASE=$(q "$OFFLINE_STACKS_PASSPHRASE")"
echo "export PULUMI_SKIP_UPDATE_CHECK=true"
echo "export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true"
