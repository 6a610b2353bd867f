import type { IServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { STATSD } from "./statsd";

/** Label the kube-prometheus-stack release selects ServiceMonitors and rules by. */
export const RELEASE_LABEL = { release: "kube-prometheus-stack" };

/** Scrapes the statsd exporter every 10 s, as SWH does. */
export function statsdServiceMonitor(namespace: string): IServiceMonitor {
    return {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: { name: STATSD.name, namespace, labels: RELEASE_LABEL },
        spec: {
            selector: { matchLabels: { "app.kubernetes.io/name": STATSD.name } },
            namespaceSelector: { matchNames: [namespace] },
            endpoints: [{ port: "metrics", interval: "10s" }],
        },
    };
}

/**
 * Scrapes KEDA's operator (scaler errors, queue lengths as `keda_scaler_metrics_value`) and its metrics
 * API server. KEDA labels those series with the ScaledObject's `namespace`; without `honorLabels` Prometheus
 * would move it to `exported_namespace` and put KEDA's own namespace in `namespace`, and the dashboard and
 * alerts, which select loaders by `namespace`, would see nothing.
 */
export function kedaServiceMonitors(namespace: string, kedaNamespace: string): IServiceMonitor[] {
    return ["keda-operator", "keda-operator-metrics-apiserver"].map((app) => ({
        apiVersion: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: { name: app, namespace, labels: RELEASE_LABEL },
        spec: {
            selector: { matchLabels: { "app.kubernetes.io/name": app } },
            namespaceSelector: { matchNames: [kedaNamespace] },
            endpoints: [{ port: "metrics", interval: "30s", honorLabels: true }],
        },
    }));
}
