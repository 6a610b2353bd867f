/**
 * Every version this program installs, in one place. Bumping one is a reviewed change: the Rancher /
 * Kubernetes pair must stay inside `rancher-server/support-matrix.ts`, which is checked at construction.
 */
export const versions = {
    /** Rancher server Helm chart (rancher-stable). Supports Kubernetes 1.32-1.34, see the support matrix. */
    rancher: "2.13.1",
    /** k3s under the Rancher server; installer script fetched from the same tag. */
    k3s: "v1.33.4+k3s1",
    /** Kubernetes of the downstream worker cluster (RKE2 distribution). */
    rke2: "v1.33.4+rke2r1",
    /** cert-manager Helm chart (jetstack), installed before Rancher for its TLS certificates. */
    certManager: "v1.18.2",
    /** KEDA operator Helm chart (kedacore). */
    keda: "2.21.0",
    /** kube-prometheus-stack Helm chart (prometheus-community): Prometheus, operator, Grafana. */
    kubePrometheusStack: "75.15.1",
    /** statsd exporter image, receives the workers' statsd on UDP 9125. */
    statsdExporterImage: "prom/statsd-exporter:v0.31.0",
    /** python-json-logger, added to every built loader image: the JSON formatter of SWH's logging config. */
    pythonJsonLogger: "3.3.0",
    /** OpenTelemetry collector (contrib build, for the elasticsearch exporter), ships pod logs. */
    otelCollectorImage: "otel/opentelemetry-collector-contrib:0.130.0",
} as const;

/** Chart repositories, next to the versions they are pinned at. */
export const chartRepos = {
    rancher: "https://releases.rancher.com/server-charts/stable",
    certManager: "https://charts.jetstack.io",
    keda: "https://kedacore.github.io/charts",
    kubePrometheusStack: "https://prometheus-community.github.io/helm-charts",
} as const;
