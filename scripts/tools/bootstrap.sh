#!/usr/bin/env bash
# Builds the Pulumi engine, the provider plugins and the test tools this project runs, from the Go module proxy,
# into a cache outside the work tree keyed by version: a second run finds them and builds nothing. A Pulumi CLI
# or plugin already installed at the pinned version (PATH, ~/.pulumi/plugins) is used instead of building it.
#
#   scripts/tools/bootstrap.sh [GROUP...]   # build what the groups need (default: e2e), print what is used
#   SWH_TOOLS_CACHE=/path scripts/tools/bootstrap.sh
#
# Groups, so each command builds only what it uses:
#   engine         the Pulumi CLI and the kubernetes and docker-build plugins (+ the Node language host)
#   demo           engine + BuildKit's daemon and buildx (`npm run demo`)
#   observability  statsd_exporter and the OpenTelemetry collector (observability checks)
#   box            engine + a Kubernetes control plane, etcd, kwok and KEDA (the autoscaling box)
#   nodes          box + the kubelet, flannel, the CNI plugins and containerd (real nodes on the test hosts)
#   e2e            demo + observability + nodes (`npm run test:e2e`, what CI runs)
#   bench          box + metrics-server (`npm run bench:scaling`)
#   all            every tool
#
# Then: eval "$(scripts/tools/env.sh)"  (PATH, backend and passphrase of the offline stacks)
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

engine="pulumi kubernetes docker-build"
demo="$engine buildkitd buildx"
observability="statsd_exporter otelcol"
box="$engine kubernetes-control-plane etcd kwok keda"
nodes="$box kubelet flannel cni-plugins containerd"
wanted=""
for group in "${@:-e2e}"; do
    case "$group" in
        engine) wanted="$wanted $engine" ;;
        demo) wanted="$wanted $demo" ;;
        observability) wanted="$wanted $observability" ;;
        box) wanted="$wanted $box" ;;
        nodes) wanted="$wanted $nodes" ;;
        e2e) wanted="$wanted $demo $observability $nodes" ;;
        bench) wanted="$wanted $box metrics-server" ;;
        all) wanted="$wanted $demo $observability $nodes metrics-server" ;;
        *) die "unknown group '$group' (expected engine, demo, observability, box, nodes, e2e, bench or all)" ;;
    esac
done
wanted=" $(echo "$wanted" | tr ' ' '\n' | awk 'NF && !seen[$0]++' | tr '\n' ' ')"
want() { case "$wanted" in *" $1 "*) return 0 ;; esac; return 1; }
total=$(echo "$wanted" | wc -w)
n=0
started=$(date +%s)

# installed BINARY VERSION: prints an installed copy of a Pulumi CLI or plugin at the pinned version, if any:
# `pulumi` on PATH (outside this cache) whose `pulumi version` matches, or a plugin in Pulumi's plugin directory.
installed() {
    local binary=$1 version=$2 p
    case "$binary" in
        pulumi)
            # Not this cache's own links (bin/ is on PATH after env.sh): the installed copy, resolved.
            for p in $(type -ap pulumi); do
                p=$(readlink -f "$p")
                case "$p" in "$(readlink -f "$cache")"/* | "$(readlink -f "$bin")"/*) continue ;; esac
                [ "$("$p" version 2>/dev/null)" = "$version" ] && echo "$p" && return 0
            done
            ;;
        pulumi-resource-*)
            p="${PULUMI_HOME:-$HOME/.pulumi}/plugins/resource-${binary#pulumi-resource-}-v${version#v}/$binary"
            [ -x "$p" ] && echo "$p" && return 0
            ;;
    esac
    return 1
}

# link TARGET LINK: (re)makes LINK only when it points elsewhere. .ci/run builds the box's tools while the first
# e2e files run the others, and ln -sf removes a link before it makes it again.
link() {
    [ "$(readlink "$2" 2>/dev/null)" = "$1" ] || ln -sf "$1" "$2"
}

# build NAME VERSION "BINARY..." MODULE@VERSION [extra module@version ...] -- "MAIN_PACKAGE..." [LDFLAGS]
# Builds the main packages (one binary each, named after the package's last element; BUILT:NAME renames one)
# in a consumer module that
# requires the modules and copies their non-local replaces (go install refuses modules with replace directives).
build() {
    local name=$1 version=$2 binaries=$3
    shift 3
    local mods=()
    while [ "$1" != "--" ]; do
        mods+=("$1")
        shift
    done
    shift
    local mains=$1 ldflags=${2:-}
    want "$name" || return 0
    n=$((n + 1))
    local only=${binaries#*:} found
    if [ "$only" = "$binaries" ] && [ "${binaries% *}" = "$binaries" ] && found=$(installed "$binaries" "$version"); then
        link "$found" "$bin/$binaries"
        echo "[$n/$total] $name $version: using the installed $found"
        return 0
    fi
    local dir="$cache/$name-$version" b missing=""
    for b in $binaries; do [ -x "$dir/${b#*:}" ] || missing=1; done
    if [ -z "$missing" ]; then
        echo "[$n/$total] $name $version: cached ($dir)"
    else
        echo "[$n/$total] $name $version: building (this takes minutes the first time)"
        local began src="$cache/src/$name-$version"
        began=$(date +%s)
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
            rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
            # shellcheck disable=SC2086 # one word per main package
            go build -trimpath -ldflags "-s -w $ldflags" -o "$dir.tmp/" $mains
        ) || die "building $name $version failed (see above)"
        mkdir -p "$dir"
        for b in $binaries; do mv "$dir.tmp/${b%%:*}" "$dir/${b#*:}"; done
        rm -rf "$dir.tmp"
        echo "[$n/$total] $name $version: built in $(($(date +%s) - began))s"
    fi
    for b in $binaries; do link "$dir/${b#*:}" "$bin/${b#*:}"; done
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
    mkdir -p "$src/pulumi-resource-kubernetes"
    cp "$dir/cmd/pulumi-resource-kubernetes/schema.json" "$src/pulumi-resource-kubernetes/schema.json"
    cat >"$src/pulumi-resource-kubernetes/main.go" <<'GO'
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
    ./pulumi-resource-kubernetes \
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

# The autoscaling box (e2e): a control plane of one Kubernetes minor, etcd at the release that Kubernetes
# requires, kwok for the nodes, and KEDA's operator and metrics server, whose client libraries are that minor.
kube_staging() {
    # k8s.io/kubernetes replaces its staging modules with ./staging paths; use their published releases instead.
    local gomod m
    gomod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod" | while read -r m; do
        go mod edit -replace="$m=$m@v0.${KUBE_VERSION#v1.}"
    done
}
kube_ldflags="-X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2)"
# Static (no cgo), as Kubernetes' own release builds are: the node tools below run on the test hosts, Debian
# 11's glibc among them, and the kubelet, built after the control plane, then finds most of its packages in
# Go's build cache (a kubelet without cgo beside a control plane with it compiled them all again: 3 min).
CGO_ENABLED=0 PREPARE_MAIN=kube_staging build kubernetes-control-plane "$KUBE_VERSION" \
    "kube-apiserver kube-controller-manager kube-scheduler kubectl" "k8s.io/kubernetes@$KUBE_VERSION" -- \
    "k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl" \
    "$kube_ldflags"
CGO_ENABLED=0 PREPARE_MAIN=kube_staging build kubelet "$KUBE_VERSION" kubelet "k8s.io/kubernetes@$KUBE_VERSION" -- \
    k8s.io/kubernetes/cmd/kubelet "$kube_ldflags"
# flannel's main links every backend: the proxy refuses the Tencent VPC one's SDK, and the UDP one needs cgo.
# Build the same main without those two.
flannel_main() {
    local src=$1 dir f
    dir=$(go mod download -json "github.com/flannel-io/flannel@$FLANNEL_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
    for f in "$dir"/*.go; do
        case "$f" in *_test.go) continue ;; esac
        grep -Ev '"github.com/flannel-io/flannel/pkg/backend/(tencentvpc|udp)"' "$f" >"$src/$(basename "$f")"
    done
    grep -Eq 'backend/(tencentvpc|udp)"' "$src"/*.go && die "flannel patch did not apply"
    return 0
}
CGO_ENABLED=0 PREPARE_MAIN=flannel_main build flannel "$FLANNEL_VERSION" flannel:flanneld "github.com/flannel-io/flannel@$FLANNEL_VERSION" -- \
    . "-X github.com/flannel-io/flannel/pkg/version.Version=$FLANNEL_VERSION"
# Named cni-* here (the tools' bin is on PATH, and iproute2 has a `bridge`); a node gets them under their type.
cni=github.com/containernetworking/plugins/plugins
CGO_ENABLED=0 build cni-plugins "$CNI_PLUGINS_VERSION" "bridge:cni-bridge host-local:cni-host-local loopback:cni-loopback portmap:cni-portmap" \
    "github.com/containernetworking/plugins@$CNI_PLUGINS_VERSION" -- \
    "$cni/main/bridge $cni/ipam/host-local $cni/main/loopback $cni/meta/portmap"

# Named node-* here: a dockerd started with the tools' bin on PATH must not take it for the machine's containerd.
# Without the btrfs, devmapper and zfs snapshotters, which need cgo.
GOFLAGS="-mod=mod -tags=no_btrfs,no_devmapper,no_zfs" CGO_ENABLED=0 build containerd "$CONTAINERD_VERSION" \
    "containerd:node-containerd containerd-shim-runc-v2:node-containerd-shim-runc-v2" \
    "github.com/containerd/containerd@$CONTAINERD_VERSION" -- \
    "github.com/containerd/containerd/cmd/containerd github.com/containerd/containerd/cmd/containerd-shim-runc-v2" \
    "-X github.com/containerd/containerd/version.Version=$CONTAINERD_VERSION"

build etcd "$ETCD_VERSION" server:etcd "go.etcd.io/etcd/server/v3@$ETCD_VERSION" -- go.etcd.io/etcd/server/v3
build kwok "$KWOK_VERSION" kwok "sigs.k8s.io/kwok@$KWOK_VERSION" -- sigs.k8s.io/kwok/cmd/kwok \
    "-X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}"
# The CPU-based HPA the benchmark compares against reads the resource metrics API: metrics-server, scraping
# kwok's kubelet-like /metrics/resource endpoints.
build metrics-server "$METRICS_SERVER_VERSION" metrics-server "sigs.k8s.io/metrics-server@$METRICS_SERVER_VERSION" -- \
    sigs.k8s.io/metrics-server/cmd/metrics-server
build keda "$KEDA_VERSION" "operator:keda-operator adapter:keda-adapter" "github.com/kedacore/keda/v2@$KEDA_VERSION" -- \
    "github.com/kedacore/keda/v2/cmd/operator github.com/kedacore/keda/v2/cmd/adapter" \
    "-X github.com/kedacore/keda/v2/version.Version=${KEDA_VERSION#v}"

# The collector: ocb generates a main with exactly these components, then builds it.
if want otelcol; then
n=$((n + 1))
otelcol="$cache/otelcol-$OTELCOL_VERSION/otelcol-swh"
if [ -x "$otelcol" ]; then
    echo "[$n/$total] otelcol $OTELCOL_VERSION: cached ($otelcol)"
else
    echo "[$n/$total] otelcol $OTELCOL_VERSION: building with ocb (this takes minutes the first time)"
    began=$(date +%s)
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
    echo "[$n/$total] otelcol $OTELCOL_VERSION: built in $(($(date +%s) - began))s"
fi
link "$otelcol" "$bin/otelcol-swh"
fi

if want pulumi; then
    # The Node.js language host and policy analyzer launchers belong to a checkout, not to this shared cache:
    # env.sh puts scripts/tools/plugins last on PATH (an installed host wins). Links older bootstraps made here
    # would point into whichever checkout ran them last.
    rm -f "$bin/pulumi-language-nodejs" "$bin/pulumi-analyzer-policy-nodejs"
    host=$(type -ap pulumi-language-nodejs | grep -v "^$here/plugins/" | head -1 || true)
    default_host="scripts/tools/plugins/pulumi-language-nodejs (runs @pulumi/pulumi's cmd/run)"
    echo "language host: ${host:-$default_host}"
fi

echo "tools ready in $bin ($(($(date +%s) - started))s): $(cd "$bin" && echo *)"
