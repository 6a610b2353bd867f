import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ArgumentError, argKey } from "../common/errors";
import { parseArgs } from "../common/schema";
import { chartRepos } from "../common/versions";
import { ObservabilityStackArgs, observabilityStackSchema } from "./args";
import { planObservability } from "./plan";
import { prometheusRule } from "./alerts";
import { dashboardConfigMap } from "./dashboard";
import { collectorConfigMap, collectorDaemonSet, collectorSecret } from "./logging";
import { kedaServiceMonitors, statsdServiceMonitor } from "./monitors";
import { statsdConfigMap, statsdDeployment, statsdEndpoint, statsdService } from "./statsd";

export * from "./args";
export { ObservabilityPlan, planObservability } from "./plan";

/**
 * What operators watch the elastic workers with: statsd exporter with SWH's mapping, Prometheus (pinned
 * kube-prometheus-stack) scraping it and KEDA, alert rules, a Grafana dashboard, and pod logs shipped to
 * Elasticsearch (SWH namespaces and the rest in two indices).
 */
export class ObservabilityStack extends pulumi.ComponentResource {
    public readonly namespace: string;
    public readonly prometheus?: k8s.helm.v3.Release;
    /** Where workers send statsd: `<service>.<namespace>.svc.cluster.local:9125`. */
    public readonly statsdEndpoint: { host: string; port: number };
    /** Whether logs are shipped, and where. */
    public readonly logShipping: pulumi.Output<string>;

    /** @param opts `provider`: the Kubernetes provider of the cluster (defaults to the ambient one). */
    constructor(name: string, args: ObservabilityStackArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        const key = argKey("ObservabilityStack", name);
        const { elasticsearchPassword, ...settings } = args;
        const s = parseArgs(observabilityStackSchema, settings, key);
        const { namespace, kedaNamespace, loaderNamespaces, logs } = s;
        if (logs?.username && elasticsearchPassword === undefined) {
            throw new ArgumentError(key("elasticsearchPassword"), "a password when logs.username is set");
        }
        const plan = planObservability(s, key);
        super("swh:elastic:ObservabilityStack", name, {}, opts);
        this.namespace = namespace;

        // Children inherit the Kubernetes provider given in this component's opts.
        const o = { parent: this };
        const ns = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: namespace } }, o);
        const inNs = { ...o, dependsOn: [ns] };
        if (plan.installPrometheus) {
            this.prometheus = new k8s.helm.v3.Release(
                `${name}-prometheus`,
                {
                    chart: "kube-prometheus-stack",
                    version: s.prometheusChartVersion,
                    repositoryOpts: { repo: chartRepos.kubePrometheusStack },
                    name: "kube-prometheus-stack",
                    namespace,
                    values: {
                        prometheus: {
                            prometheusSpec: {
                                // Pick up every ServiceMonitor and rule, not only the chart's own.
                                serviceMonitorSelectorNilUsesHelmValues: false,
                                ruleSelectorNilUsesHelmValues: false,
                                retention: "15d",
                            },
                        },
                        grafana: {
                            sidecar: {
                                dashboards: {
                                    enabled: true,
                                    label: "grafana_dashboard",
                                    searchNamespace: "ALL",
                                },
                            },
                        },
                    },
                    timeout: 900,
                },
                inNs,
            );
        }
        const crOpts = { ...inNs, dependsOn: [ns, ...(this.prometheus ? [this.prometheus] : [])] };

        const image = s.statsdExporterImage;
        new k8s.core.v1.ConfigMap(`${name}-statsd-mapping`, statsdConfigMap(namespace), inNs);
        new k8s.apps.v1.Deployment(`${name}-statsd-exporter`, statsdDeployment(namespace, image), inNs);
        const svc = new k8s.core.v1.Service(`${name}-statsd-service`, statsdService(namespace), inNs);
        this.statsdEndpoint = statsdEndpoint(namespace);

        new k8s.apiextensions.CustomResource(`${name}-statsd-monitor`, statsdServiceMonitor(namespace), {
            ...crOpts,
            dependsOn: [...crOpts.dependsOn, svc],
        });
        for (const sm of kedaServiceMonitors(namespace, kedaNamespace)) {
            new k8s.apiextensions.CustomResource(`${name}-${sm.metadata!.name}-monitor`, sm, crOpts);
        }
        new k8s.apiextensions.CustomResource(
            `${name}-alerts`,
            prometheusRule(namespace, loaderNamespaces),
            crOpts,
        );
        new k8s.core.v1.ConfigMap(
            `${name}-dashboard`,
            dashboardConfigMap(plan.dashboardNamespace, loaderNamespaces),
            inNs,
        );

        if (logs) {
            const withPassword = elasticsearchPassword !== undefined;
            const deps: pulumi.Resource[] = [
                new k8s.core.v1.ConfigMap(
                    `${name}-log-shipper-config`,
                    collectorConfigMap(namespace, logs),
                    inNs,
                ),
            ];
            if (withPassword) {
                deps.push(
                    new k8s.core.v1.Secret(
                        `${name}-log-shipper-secret`,
                        collectorSecret(namespace, elasticsearchPassword!),
                        inNs,
                    ),
                );
            }
            new k8s.apps.v1.DaemonSet(
                `${name}-log-shipper`,
                collectorDaemonSet(namespace, s.otelCollectorImage, withPassword),
                { ...inNs, dependsOn: [ns, ...deps] },
            );
        }
        this.logShipping = pulumi.output(
            logs
                ? `to ${logs.url}: ${logs.swhIndex} (namespaces ${logs.swhNamespaces}), ${logs.systemIndex}`
                : s.monitoring === "rancher"
                  ? "left to the cluster's own collector (monitoring: rancher)"
                  : "off (no logs.url)",
        );
        this.registerOutputs({ statsdEndpoint: this.statsdEndpoint, logShipping: this.logShipping });
    }
}
