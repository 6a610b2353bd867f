import * as k8s from "@pulumi/kubernetes";
import inputs = k8s.types.input;

/** One dashboard panel: a title and the PromQL queries it plots. */
export interface PanelSpec {
    title: string;
    /** The question it answers, for the panel description. */
    description: string;
    unit: string;
    targets: { expr: string; legendFormat: string }[];
}

/** The panels of the elastic workers dashboard; `ns` is a regex of loader namespaces. */
export function dashboardPanels(ns: string): PanelSpec[] {
    const sel = `namespace=~"${ns}"`;
    return [
        {
            title: "Running workers per loader",
            description: "How many loader pods are Running, per loader namespace.",
            unit: "short",
            targets: [
                {
                    expr: `sum by (namespace) (kube_pod_status_phase{${sel},phase="Running"})`,
                    legendFormat: "{{namespace}}",
                },
            ],
        },
        {
            title: "Queue length",
            description: "Messages KEDA sees per queue trigger (ready + unacked).",
            unit: "short",
            targets: [
                {
                    expr: `sum by (namespace, metric) (keda_scaler_metrics_value{${sel}})`,
                    legendFormat: "{{namespace}} {{metric}}",
                },
            ],
        },
        {
            title: "Desired vs running replicas",
            description: "What the HPA asks for against what runs; a gap means Pending pods or a rollout.",
            unit: "short",
            targets: [
                {
                    expr: `sum by (namespace) (kube_horizontalpodautoscaler_status_desired_replicas{${sel}})`,
                    legendFormat: "{{namespace}} desired",
                },
                {
                    expr: `sum by (namespace) (kube_deployment_status_replicas_available{${sel}})`,
                    legendFormat: "{{namespace}} running",
                },
            ],
        },
        {
            title: "Pending loader pods",
            description: "Pods waiting for room on the pool.",
            unit: "short",
            targets: [
                {
                    expr: `sum by (namespace) (kube_pod_status_phase{${sel},phase="Pending"})`,
                    legendFormat: "{{namespace}}",
                },
            ],
        },
        {
            title: "Task rate",
            description: "Tasks started and failed per second, from the workers' statsd.",
            unit: "ops",
            targets: [
                {
                    expr: "sum by (deployment) (rate(swh_task_called_count[5m]))",
                    legendFormat: "{{deployment}} called",
                },
                {
                    // The exporter has no failure series before a first failure: a loader with none reads 0,
                    // not "No data".
                    expr:
                        "sum by (deployment) (rate(swh_task_failure_count[5m])) or " +
                        "sum by (deployment) (rate(swh_task_called_count[5m])) * 0",
                    legendFormat: "{{deployment}} failed",
                },
            ],
        },
        {
            title: "Task duration (p50, p95)",
            description: "From the statsd exporter's histogram.",
            unit: "s",
            targets: [
                {
                    expr: "histogram_quantile(0.5, sum by (le, deployment) (rate(swh_task_duration_seconds_bucket[15m])))",
                    legendFormat: "{{deployment}} p50",
                },
                {
                    expr: "histogram_quantile(0.95, sum by (le, deployment) (rate(swh_task_duration_seconds_bucket[15m])))",
                    legendFormat: "{{deployment}} p95",
                },
            ],
        },
        {
            title: "Node CPU use",
            description: "Share of CPU busy per node.",
            unit: "percentunit",
            targets: [
                {
                    expr: '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))',
                    legendFormat: "{{instance}}",
                },
            ],
        },
        {
            title: "Node memory use",
            description: "Share of memory in use per node; eviction starts near the reservations.",
            unit: "percentunit",
            targets: [
                {
                    expr: "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
                    legendFormat: "{{instance}}",
                },
            ],
        },
    ];
}

/** The Grafana dashboard JSON (schema 39), two panels per row. */
export function dashboardJson(ns: string): Record<string, unknown> {
    return {
        uid: "swh-elastic-workers",
        title: "SWH elastic workers",
        tags: ["swh", "loaders", "keda"],
        timezone: "utc",
        schemaVersion: 39,
        version: 1,
        refresh: "30s",
        time: { from: "now-6h", to: "now" },
        templating: { list: [] },
        panels: dashboardPanels(ns).map((p, i) => ({
            id: i + 1,
            type: "timeseries",
            title: p.title,
            description: p.description,
            datasource: { type: "prometheus", uid: "prometheus" },
            gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
            fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
            options: { legend: { displayMode: "list", placement: "bottom" } },
            targets: p.targets.map((t, j) => ({
                refId: String.fromCharCode(65 + j),
                expr: t.expr,
                legendFormat: t.legendFormat,
            })),
        })),
    };
}

/** The dashboard as a ConfigMap Grafana's sidecar loads (label grafana_dashboard=1). */
export function dashboardConfigMap(namespace: string, ns: string): inputs.core.v1.ConfigMap {
    return {
        metadata: { name: "swh-elastic-workers-dashboard", namespace, labels: { grafana_dashboard: "1" } },
        data: { "swh-elastic-workers.json": JSON.stringify(dashboardJson(ns), null, 2) },
    };
}
