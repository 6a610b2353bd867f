/**
 * promtool unit tests for the program's alert rules and dashboard queries: for each alert the series that must
 * fire it and the series that must not; for each dashboard query, series shaped like kube-state-metrics, KEDA,
 * node exporter and the statsd exporter export them, and the result it must give.
 */
import { AlertRule } from "../../../components/observability-stack/alerts";

/** What promtool expects for one firing alert: labels, and annotations with templates expanded. */
function fired(rule: AlertRule, labels: Record<string, string>, value: string) {
    const expand = (t: string) =>
        t
            .replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, l: string) => labels[l] ?? "")
            .replace(/\{\{ \$value \}\}/g, value);
    return {
        exp_labels: { ...rule.labels, ...labels },
        exp_annotations: {
            summary: expand(rule.annotations.summary),
            description: expand(rule.annotations.description),
        },
    };
}

/** The alert tests: each alert fires on its cases and stays silent on the others. */
export function alertTests(rules: AlertRule[]) {
    const r = (name: string) => rules.find((x) => x.alert === name)!;
    return {
        rule_files: ["rules.yml"],
        evaluation_interval: "1m",
        tests: [
            {
                interval: "1m",
                input_series: [
                    // git's scaler errors keep rising; svn had errors long ago and none since.
                    {
                        series: 'keda_scaled_object_errors_total{namespace="swh-loader-git",scaledObject="loader-git"}',
                        values: "0+1x40",
                    },
                    {
                        series: 'keda_scaled_object_errors_total{namespace="swh-loader-svn",scaledObject="loader-svn"}',
                        values: "5x40",
                    },
                    // A git pod has been unschedulable for 40 min; an hg pod only for 5 min; a kube-system one does not count.
                    {
                        series: 'kube_pod_status_unschedulable{namespace="swh-loader-git",pod="loader-git-a"}',
                        values: "1x40",
                    },
                    {
                        series: 'kube_pod_status_unschedulable{namespace="swh-loader-hg",pod="loader-hg-a"}',
                        values: "0x35 1x5",
                    },
                    {
                        series: 'kube_pod_status_unschedulable{namespace="kube-system",pod="coredns-a"}',
                        values: "1x40",
                    },
                    // git's HPA sits at its max; svn's has room.
                    {
                        series: 'kube_horizontalpodautoscaler_status_current_replicas{namespace="swh-loader-git",horizontalpodautoscaler="keda-hpa-loader-git"}',
                        values: "10x40",
                    },
                    {
                        series: 'kube_horizontalpodautoscaler_spec_max_replicas{namespace="swh-loader-git",horizontalpodautoscaler="keda-hpa-loader-git"}',
                        values: "10x40",
                    },
                    {
                        series: 'kube_horizontalpodautoscaler_status_current_replicas{namespace="swh-loader-svn",horizontalpodautoscaler="keda-hpa-loader-svn"}',
                        values: "3x40",
                    },
                    {
                        series: 'kube_horizontalpodautoscaler_spec_max_replicas{namespace="swh-loader-svn",horizontalpodautoscaler="keda-hpa-loader-svn"}',
                        values: "10x40",
                    },
                    // worker1 is under memory pressure; worker2 is not.
                    {
                        series: 'kube_node_status_condition{node="worker1",condition="MemoryPressure",status="true"}',
                        values: "1x40",
                    },
                    {
                        series: 'kube_node_status_condition{node="worker2",condition="MemoryPressure",status="true"}',
                        values: "0x40",
                    },
                    // git has tasks and no worker; svn has tasks and workers; hg has no tasks and no worker.
                    {
                        series: 'keda_scaler_metrics_value{namespace="swh-loader-git",scaledObject="loader-git",metric="s0-rabbitmq-q"}',
                        values: "50x40",
                    },
                    {
                        series: 'kube_deployment_status_replicas_available{namespace="swh-loader-git",deployment="loader-git"}',
                        values: "0x40",
                    },
                    {
                        series: 'keda_scaler_metrics_value{namespace="swh-loader-svn",scaledObject="loader-svn",metric="s0-rabbitmq-q"}',
                        values: "50x40",
                    },
                    {
                        series: 'kube_deployment_status_replicas_available{namespace="swh-loader-svn",deployment="loader-svn"}',
                        values: "2x40",
                    },
                    {
                        series: 'keda_scaler_metrics_value{namespace="swh-loader-hg",scaledObject="loader-hg",metric="s0-rabbitmq-q"}',
                        values: "0x40",
                    },
                    {
                        series: 'kube_deployment_status_replicas_available{namespace="swh-loader-hg",deployment="loader-hg"}',
                        values: "0x40",
                    },
                ],
                alert_rule_test: [
                    {
                        eval_time: "30m",
                        alertname: "KedaScaledObjectErrors",
                        exp_alerts: [
                            fired(
                                r("KedaScaledObjectErrors"),
                                { namespace: "swh-loader-git", scaledObject: "loader-git" },
                                "",
                            ),
                        ],
                    },
                    {
                        eval_time: "38m",
                        alertname: "LoaderPodsUnschedulable",
                        exp_alerts: [
                            fired(r("LoaderPodsUnschedulable"), { namespace: "swh-loader-git" }, "1"),
                        ],
                    },
                    {
                        eval_time: "38m",
                        alertname: "LoaderScalingAtMax",
                        exp_alerts: [
                            fired(
                                r("LoaderScalingAtMax"),
                                {
                                    namespace: "swh-loader-git",
                                    horizontalpodautoscaler: "keda-hpa-loader-git",
                                },
                                "10",
                            ),
                        ],
                    },
                    {
                        eval_time: "10m",
                        alertname: "NodeMemoryPressure",
                        exp_alerts: [
                            fired(
                                r("NodeMemoryPressure"),
                                { node: "worker1", condition: "MemoryPressure", status: "true" },
                                "1",
                            ),
                        ],
                    },
                    {
                        eval_time: "30m",
                        alertname: "LoaderQueueWithoutWorker",
                        exp_alerts: [
                            fired(r("LoaderQueueWithoutWorker"), { namespace: "swh-loader-git" }, "50"),
                        ],
                    },
                    // Not yet: the pending periods have not passed.
                    { eval_time: "3m", alertname: "KedaScaledObjectErrors", exp_alerts: [] },
                    { eval_time: "20m", alertname: "LoaderScalingAtMax", exp_alerts: [] },
                ],
            },
        ],
    };
}

/** Dashboard queries evaluated on shaped series: each panel target with the samples it must return. */
export function dashboardQueryTests(targets: { panel: string; expr: string }[]) {
    const at = (panel: string, i = 0) => targets.filter((t) => t.panel === panel)[i].expr;
    return {
        rule_files: [],
        evaluation_interval: "1m",
        tests: [
            {
                interval: "1m",
                input_series: [
                    {
                        series: 'kube_pod_status_phase{namespace="swh-loader-git",pod="a",phase="Running"}',
                        values: "1x10",
                    },
                    {
                        series: 'kube_pod_status_phase{namespace="swh-loader-git",pod="b",phase="Running"}',
                        values: "1x10",
                    },
                    {
                        series: 'kube_pod_status_phase{namespace="swh-loader-git",pod="c",phase="Running"}',
                        values: "0x10",
                    },
                    {
                        series: 'kube_pod_status_phase{namespace="swh-loader-git",pod="c",phase="Pending"}',
                        values: "1x10",
                    },
                    {
                        series: 'kube_pod_status_phase{namespace="swh-loader-svn",pod="d",phase="Running"}',
                        values: "1x10",
                    },
                    // kube-state-metrics exports every phase of every pod, 0 or 1.
                    {
                        series: 'kube_pod_status_phase{namespace="swh-loader-svn",pod="d",phase="Pending"}',
                        values: "0x10",
                    },
                    {
                        series: 'kube_pod_status_phase{namespace="swh-loader-git",pod="a",phase="Pending"}',
                        values: "0x10",
                    },
                    {
                        series: 'kube_pod_status_phase{namespace="swh-loader-git",pod="b",phase="Pending"}',
                        values: "0x10",
                    },
                    {
                        series: 'kube_pod_status_phase{namespace="kube-system",pod="e",phase="Running"}',
                        values: "1x10",
                    },
                    {
                        series: 'keda_scaler_metrics_value{namespace="swh-loader-git",metric="s0-rabbitmq-update"}',
                        values: "120x10",
                    },
                    {
                        series: 'kube_horizontalpodautoscaler_status_desired_replicas{namespace="swh-loader-git"}',
                        values: "3x10",
                    },
                    {
                        series: 'kube_deployment_status_replicas_available{namespace="swh-loader-git"}',
                        values: "2x10",
                    },
                    {
                        series: 'swh_task_called_count{deployment="loader-git",task="swh.loader.git.tasks.UpdateGitRepository"}',
                        values: "0+60x10",
                    },
                    {
                        series: 'swh_task_failure_count{deployment="loader-git",task="swh.loader.git.tasks.UpdateGitRepository"}',
                        values: "0+6x10",
                    },
                    // A loader that never failed: the exporter has no failure series for it.
                    {
                        series: 'swh_task_called_count{deployment="loader-svn",task="swh.loader.svn.tasks.LoadSvnRepository"}',
                        values: "0+30x10",
                    },
                    {
                        series: 'swh_task_duration_seconds_bucket{deployment="loader-git",le="60"}',
                        values: "0+30x20",
                    },
                    {
                        series: 'swh_task_duration_seconds_bucket{deployment="loader-git",le="120"}',
                        values: "0+60x20",
                    },
                    {
                        series: 'swh_task_duration_seconds_bucket{deployment="loader-git",le="+Inf"}',
                        values: "0+60x20",
                    },
                    {
                        series: 'node_cpu_seconds_total{instance="worker1",cpu="0",mode="idle"}',
                        values: "0+15x10",
                    },
                    { series: 'node_memory_MemAvailable_bytes{instance="worker1"}', values: "2x10" },
                    { series: 'node_memory_MemTotal_bytes{instance="worker1"}', values: "8x10" },
                ],
                promql_expr_test: [
                    {
                        expr: at("Running workers per loader"),
                        eval_time: "5m",
                        exp_samples: [
                            { labels: '{namespace="swh-loader-git"}', value: 2 },
                            { labels: '{namespace="swh-loader-svn"}', value: 1 },
                        ],
                    },
                    {
                        expr: at("Queue length"),
                        eval_time: "5m",
                        exp_samples: [
                            {
                                labels: '{namespace="swh-loader-git",metric="s0-rabbitmq-update"}',
                                value: 120,
                            },
                        ],
                    },
                    {
                        expr: at("Desired vs running replicas", 0),
                        eval_time: "5m",
                        exp_samples: [{ labels: '{namespace="swh-loader-git"}', value: 3 }],
                    },
                    {
                        expr: at("Desired vs running replicas", 1),
                        eval_time: "5m",
                        exp_samples: [{ labels: '{namespace="swh-loader-git"}', value: 2 }],
                    },
                    {
                        expr: at("Pending loader pods"),
                        eval_time: "5m",
                        exp_samples: [
                            { labels: '{namespace="swh-loader-git"}', value: 1 },
                            { labels: '{namespace="swh-loader-svn"}', value: 0 },
                        ],
                    },
                    {
                        expr: at("Task rate", 0),
                        eval_time: "8m",
                        exp_samples: [
                            { labels: '{deployment="loader-git"}', value: 1 },
                            { labels: '{deployment="loader-svn"}', value: 0.5 },
                        ],
                    },
                    // loader-svn has no failure series yet, and reads 0 failures, not "No data".
                    {
                        expr: at("Task rate", 1),
                        eval_time: "8m",
                        exp_samples: [
                            { labels: '{deployment="loader-git"}', value: 0.1 },
                            { labels: '{deployment="loader-svn"}', value: 0 },
                        ],
                    },
                    // Half the tasks under 60 s, all under 120 s: the median is at the 60 s bucket's edge.
                    {
                        expr: at("Task duration (p50, p95)", 0),
                        eval_time: "18m",
                        exp_samples: [{ labels: '{deployment="loader-git"}', value: 60 }],
                    },
                    // p95: 57 of 60 tasks, 27 past the 60 s edge into the 60-120 s bucket: 60 + (27 / 30) * 60.
                    {
                        expr: at("Task duration (p50, p95)", 1),
                        eval_time: "18m",
                        exp_samples: [{ labels: '{deployment="loader-git"}', value: 114 }],
                    },
                    {
                        expr: at("Node CPU use"),
                        eval_time: "8m",
                        exp_samples: [{ labels: '{instance="worker1"}', value: 0.75 }],
                    },
                    {
                        expr: at("Node memory use"),
                        eval_time: "5m",
                        exp_samples: [{ labels: '{instance="worker1"}', value: 0.75 }],
                    },
                ],
            },
        ],
    };
}
