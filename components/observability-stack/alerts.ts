import type { IPrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import { RELEASE_LABEL } from "./monitors";

/** One alerting rule, as Prometheus reads it. */
export interface AlertRule {
    alert: string;
    expr: string;
    for: string;
    labels: Record<string, string>;
    annotations: { summary: string; description: string };
}

/** The elastic workers' alerts. `loaderNamespaces` is a regex matching the loader namespaces. */
export function alertRules(loaderNamespaces: string): AlertRule[] {
    const ns = `namespace=~"${loaderNamespaces}"`;
    return [
        {
            alert: "KedaScaledObjectErrors",
            expr: "sum by (namespace, scaledObject) (increase(keda_scaled_object_errors_total[5m])) > 0",
            for: "5m",
            labels: { severity: "warning" },
            annotations: {
                summary: "KEDA cannot read the queues of {{ $labels.namespace }}/{{ $labels.scaledObject }}",
                description:
                    "The scaler errors: the loader no longer follows its queues (RabbitMQ down, bad credentials?).",
            },
        },
        {
            alert: "LoaderPodsUnschedulable",
            expr: `sum by (namespace) (kube_pod_status_unschedulable{${ns}}) > 0`,
            for: "15m",
            labels: { severity: "info" },
            annotations: {
                summary: "{{ $value }} loader pods of {{ $labels.namespace }} wait for room",
                description:
                    "The pool is full at the loaders' requests: pods stay Pending until others finish.",
            },
        },
        {
            alert: "LoaderScalingAtMax",
            expr:
                `kube_horizontalpodautoscaler_status_current_replicas{${ns}} ` +
                `>= kube_horizontalpodautoscaler_spec_max_replicas{${ns}}`,
            for: "30m",
            labels: { severity: "info" },
            annotations: {
                summary: "{{ $labels.namespace }} runs at its maximum replicas",
                description:
                    "The backlog needs more workers than maxReplicas (bounded by the pool's capacity).",
            },
        },
        {
            alert: "NodeMemoryPressure",
            expr: 'kube_node_status_condition{condition="MemoryPressure",status="true"} == 1',
            for: "2m",
            labels: { severity: "critical" },
            annotations: {
                summary: "Node {{ $labels.node }} is under memory pressure",
                description: "The kubelet is evicting pods; check the loaders' memory requests and limits.",
            },
        },
        {
            alert: "LoaderQueueWithoutWorker",
            expr:
                `sum by (namespace) (keda_scaler_metrics_value{${ns}}) > 0 ` +
                `unless on (namespace) sum by (namespace) (kube_deployment_status_replicas_available{${ns}}) > 0`,
            for: "15m",
            labels: { severity: "warning" },
            annotations: {
                summary: "Tasks wait in the queues of {{ $labels.namespace }} and no worker runs",
                description:
                    "KEDA sees messages but no loader pod is available: check the ScaledObject and the pool.",
            },
        },
    ];
}

export function prometheusRule(namespace: string, loaderNamespaces: string): IPrometheusRule {
    return {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: { name: "swh-elastic-workers", namespace, labels: RELEASE_LABEL },
        spec: { groups: [{ name: "swh-elastic-workers", rules: alertRules(loaderNamespaces) }] },
    };
}
