#!/usr/bin/env bash
# Builds the Pulumi engine and the provider plugins this project runs, from the Go module proxy, into a cache
# outside the work tree keyed by version: a second run finds them and builds nothing.
#
#   scripts/tools/bootstrap.sh            # build what is missing, print the bin directory
#   SWH_TOOLS_CACHE=/path scripts/tools/bootstrap.sh
#
# Then: export PATH="$(scripts/tools/bootstrap.sh --print-bin):$PATH"
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"
cache=${SWH_TOOLS_CACHE:-$HOME/.cache/swh-elastic-workers/tools}
bin="$cache/bin"

if [ "${1:-}" = "--print-bin" ]; then
    echo "$bin"
    exit 0
fi

die() {
    echo "bootstrap: $*" >&2
    exit 1
}
command -v go >/dev/null || die "Go is not installed; it needs Go >= 1.26 (https://go.dev/doc/install or the golang package)"
gov=$(go env GOVERSION | sed 's/^go//')
case "$gov" in
    1.2[6-9]* | 1.[3-9][0-9]* | [2-9].*) ;;
    *) die "Go $gov is too old: Pulumi $PULUMI_VERSION needs Go >= 1.26" ;;
esac
command -v git >/dev/null || die "git is not installed (go needs it for module metadata): apt-get install git"

mkdir -p "$bin"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local

total=7
n=0
started=$(date +%s)

# build NAME VERSION BINARY MODULE@VERSION [extra module@version ...] -- MAIN_PACKAGE [LDFLAGS]
# Builds MAIN_PACKAGE in a consumer module that requires the modules and copies their non-local replaces
# (go install refuses modules with replace directives).
build() {
    local name=$1 version=$2 binary=$3
    shift 3
    local mods=()
    while [ "$1" != "--" ]; do
        mods+=("$1")
        shift
    done
    shift
    local main=$1 ldflags=${2:-}
    n=$((n + 1))
    local out="$cache/$name-$version/$binary"
    if [ -x "$out" ]; then
        echo "[$n/$total] $name $version: cached ($out)"
    else
        echo "[$n/$total] $name $version: building (this takes minutes the first time)"
        local src="$cache/src/$name-$version"
        rm -rf "$src" && mkdir -p "$src"
        (
            cd "$src"
            go mod init "swh.local/build/$name" >/dev/null 2>&1
            for m in "${mods[@]}"; do
                go mod edit -require="$m"
                local gomod
                gomod=$(go mod download -json "$m" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
                [ -n "$gomod" ] || die "$m is not served by the Go module proxy"
                # Copy replace directives that point at other modules (not at ../ paths):
                # "old [v1] => new v2" becomes -replace=old[@v1]=new@v2.
                awk '/^replace \(/{blk=1;next} blk&&/^\)/{blk=0;next} blk{print;next} /^replace /{sub(/^replace /,"");print}' "$gomod" |
                    grep -v '=> *\.' | while read -r line; do
                    [ -n "$line" ] || continue
                    go mod edit -replace="$(echo "$line" | awk '{
                        split($0, side, / *=> */); n = split(side[1], l, " "); m = split(side[2], r, " ");
                        printf "%s%s=%s%s", l[1], (n > 1 ? "@" l[2] : ""), r[1], (m > 1 ? "@" r[2] : "") }')"
                done
            done
            if [ -n "${PREPARE_MAIN:-}" ]; then "$PREPARE_MAIN" "$src"; fi
            # No `go mod tidy`: nothing imports the requirements yet, tidy would drop the pins.
            go build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp" "$main"
        ) || die "building $name $version failed (see above)"
        mv "$out.tmp" "$out"
        echo "[$n/$total] $name $version: built in $(($(date +%s) - started))s"
    fi
    ln -sf "$out" "$bin/$binary"
}

build pulumi "$PULUMI_VERSION" pulumi \
    "github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION" "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION" -- \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"

# docker-build imports the .NET and Java code generators only to describe those SDKs in its schema; the
# proxy refuses both modules. Build from a copy without those two schema entries (runtime code untouched).
docker_build_patch() {
    local src=$1 dir
    dir=$(go mod download -json "github.com/pulumi/pulumi-docker-build@$DOCKER_BUILD_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
    rm -rf "$src/docker-build" && cp -r "$dir" "$src/docker-build" && chmod -R u+w "$src/docker-build"
    local f="$src/docker-build/provider/internal/provider.go"
    awk '
        /pulumi-dotnet\/pulumi-language-dotnet|pulumi-java\/pkg\/codegen\/java/ { next }
        !skip && /^[\t ]*"(csharp|java)": / { skip = 1; depth = 0 }
        skip { n = gsub(/{/, "{"); m = gsub(/}/, "}"); depth += n - m; if (depth <= 0) skip = 0; next }
        { print }
    ' "$f" >"$f.new" && mv "$f.new" "$f"
    grep -q 'pulumi-java\|pulumi-dotnet' "$f" && die "docker-build patch did not apply to $f"
    (cd "$src/docker-build" && go mod edit -droprequire=github.com/pulumi/pulumi-dotnet/pulumi-language-dotnet/v3 \
        -droprequire=github.com/pulumi/pulumi-java)
    go mod edit -replace="github.com/pulumi/pulumi-docker-build=./docker-build"
}
PREPARE_MAIN=docker_build_patch build docker-build "$DOCKER_BUILD_VERSION" pulumi-resource-docker-build \
    "github.com/pulumi/pulumi-docker-build@$DOCKER_BUILD_VERSION" -- \
    github.com/pulumi/pulumi-docker-build/provider/cmd/pulumi-resource-docker-build \
    "-X github.com/pulumi/pulumi-docker-build/provider.Version=${DOCKER_BUILD_VERSION#v}"

# The kubernetes main embeds a generated schema-embed.json that the module lacks: serve the module's own
# schema.json from a main of ours.
kubernetes_main() {
    local src=$1 dir
    dir=$(go list -m -json "github.com/pulumi/pulumi-kubernetes/provider/v4" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
    mkdir -p "$src/cmd"
    cp "$dir/cmd/pulumi-resource-kubernetes/schema.json" "$src/cmd/schema.json"
    cat >"$src/cmd/main.go" <<'GO'
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema.json
var schema []byte

func main() { provider.Serve("kubernetes", version.Version, schema, nil) }
GO
}
PREPARE_MAIN=kubernetes_main build kubernetes "$KUBERNETES_VERSION" pulumi-resource-kubernetes \
    "github.com/pulumi/pulumi-kubernetes/provider/v4@$KUBERNETES_MODULE_VERSION" -- \
    ./cmd \
    "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$KUBERNETES_VERSION"

# Image builds without a builder image: BuildKit's daemon, and buildx to register it as a remote builder.
build buildkitd "$BUILDKIT_VERSION" buildkitd "github.com/moby/buildkit@$BUILDKIT_VERSION" -- \
    github.com/moby/buildkit/cmd/buildkitd \
    "-X github.com/moby/buildkit/version.Version=$BUILDKIT_VERSION"
build buildx "$BUILDX_VERSION" buildx "github.com/docker/buildx@$BUILDX_VERSION" -- \
    github.com/docker/buildx/cmd/buildx \
    "-X github.com/docker/buildx/version.Version=$BUILDX_VERSION"

build statsd_exporter "$STATSD_EXPORTER_VERSION" statsd_exporter \
    "github.com/prometheus/statsd_exporter@$STATSD_EXPORTER_VERSION" -- \
    github.com/prometheus/statsd_exporter \
    "-X github.com/prometheus/common/version.Version=${STATSD_EXPORTER_VERSION#v}"

# The collector: ocb generates a main with exactly these components, then builds it.
n=$((n + 1))
otelcol="$cache/otelcol-$OTELCOL_VERSION/otelcol-swh"
if [ -x "$otelcol" ]; then
    echo "[$n/$total] otelcol $OTELCOL_VERSION: cached ($otelcol)"
else
    echo "[$n/$total] otelcol $OTELCOL_VERSION: building with ocb (this takes minutes the first time)"
    src="$cache/src/otelcol-$OTELCOL_VERSION"
    rm -rf "$src" && mkdir -p "$src"
    contrib=github.com/open-telemetry/opentelemetry-collector-contrib
    cat >"$src/builder.yaml" <<YAML
dist:
  name: otelcol-swh
  description: SWH log shipper (filelog receiver, filter, elasticsearch exporter)
  output_path: $src/dist
receivers:
  - gomod: $contrib/receiver/filelogreceiver $OTELCOL_VERSION
processors:
  - gomod: $contrib/processor/filterprocessor $OTELCOL_VERSION
  - gomod: go.opentelemetry.io/collector/processor/batchprocessor $OTELCOL_VERSION
exporters:
  - gomod: $contrib/exporter/elasticsearchexporter $OTELCOL_VERSION
extensions:
  - gomod: $contrib/extension/storage/filestorage $OTELCOL_VERSION
  - gomod: $contrib/extension/basicauthextension $OTELCOL_VERSION
YAML
    # The checksum database has no entries here for several of the collector's dependencies: this build alone
    # takes modules from the proxy (over TLS) without sum.golang.org verification.
    (cd "$src" && GOFLAGS='' GOSUMDB=off go run "go.opentelemetry.io/collector/cmd/builder@$OTELCOL_VERSION" --config builder.yaml) ||
        die "building otelcol $OTELCOL_VERSION failed (see above)"
    mkdir -p "$(dirname "$otelcol")"
    mv "$src/dist/otelcol-swh" "$otelcol"
    echo "[$n/$total] otelcol $OTELCOL_VERSION: built in $(($(date +%s) - started))s"
fi
ln -sf "$otelcol" "$bin/otelcol-swh"

# Policy packs: the analyzer launcher the CLI falls back to without a Node.js language host.
ln -sf "$here/pulumi-analyzer-policy-nodejs" "$bin/pulumi-analyzer-policy-nodejs"

echo "tools ready in $bin ($(($(date +%s) - started))s): $(cd "$bin" && echo *)"
