import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ArgumentError, argKey } from "../common/errors";
import { chartRepos, versions } from "../common/versions";
import { checkDnsLabel } from "../worker-node-pool/hosts";
import { prometheusRule } from "./alerts";
import { dashboardConfigMap } from "./dashboard";
import { LogShippingSpec, collectorConfigMap, collectorDaemonSet, collectorSecret } from "./logging";
import { kedaServiceMonitors, statsdServiceMonitor } from "./monitors";
import { statsdConfigMap, statsdDeployment, statsdService } from "./statsd";

export * from "./alerts";
export * from "./dashboard";
export * from "./logging";
export * from "./monitors";
export * from "./statsd";

/** Arguments of {@link ObservabilityStack}. */
export interface ObservabilityStackArgs {
    /** Namespace of the monitoring pieces. Defaults to "swh-monitoring". */
    namespace?: string;
    /** Install kube-prometheus-stack; false when the cluster already runs one (rancher-monitoring). Defaults to true. */
    installPrometheus?: boolean;
    /** kube-prometheus-stack chart version. Defaults to versions.kubePrometheusStack. */
    prometheusChartVersion?: string;
    /** Namespace KEDA runs in. Defaults to "keda". */
    kedaNamespace?: string;
    /** Regex of loader namespaces, for alerts and the dashboard. Defaults to "swh-loader-.*". */
    loaderNamespaces?: string;
    /** Elasticsearch log shipping; unset ships no logs. */
    logs?: Partial<LogShippingSpec> & { url: string };
    /** Elasticsearch password. Secret. */
    elasticsearchPassword?: pulumi.Input<string>;
    /** Defaults to versions.statsdExporterImage. */
    statsdExporterImage?: string;
    /** Defaults to versions.otelCollectorImage. */
    otelCollectorImage?: string;
    /** Kubernetes provider of the cluster. Defaults to the ambient one. */
    provider?: k8s.Provider;
}

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

    constructor(name: string, args: ObservabilityStackArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        const key = argKey("ObservabilityStack", name);
        const namespace = args.namespace ?? "swh-monitoring";
        checkDnsLabel(namespace, key("namespace"));
        const kedaNamespace = args.kedaNamespace ?? "keda";
        checkDnsLabel(kedaNamespace, key("kedaNamespace"));
        const loaderNamespaces = args.loaderNamespaces ?? "swh-loader-.*";
        try {
            new RegExp(loaderNamespaces);
        } catch {
            throw new ArgumentError(key("loaderNamespaces"), "a regular expression", loaderNamespaces);
        }
        const logs = args.logs ? logShippingSpec(args.logs, key) : undefined;
        if (logs?.username && args.elasticsearchPassword === undefined) {
            throw new ArgumentError(key("elasticsearchPassword"), "a password when logs.username is set");
        }
        super("swh:elastic:ObservabilityStack", name, {}, opts);
        this.namespace = namespace;

        const o = { parent: this, provider: args.provider };
        const ns = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: namespace } }, o);
        const inNs = { ...o, dependsOn: [ns] };
        if (args.installPrometheus ?? true) {
            this.prometheus = new k8s.helm.v3.Release(
                `${name}-prometheus`,
                {
                    chart: "kube-prometheus-stack",
                    version: args.prometheusChartVersion ?? versions.kubePrometheusStack,
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

        const image = args.statsdExporterImage ?? versions.statsdExporterImage;
        new k8s.core.v1.ConfigMap(`${name}-statsd-mapping`, statsdConfigMap(namespace), inNs);
        new k8s.apps.v1.Deployment(`${name}-statsd-exporter`, statsdDeployment(namespace, image), inNs);
        const svc = new k8s.core.v1.Service(`${name}-statsd-service`, statsdService(namespace), inNs);
        this.statsdEndpoint = {
            host: `prometheus-statsd-exporter.${namespace}.svc.cluster.local`,
            port: 9125,
        };

        new k8s.apiextensions.CustomResource(
            `${name}-statsd-monitor`,
            statsdServiceMonitor(namespace) as never,
            {
                ...crOpts,
                dependsOn: [...crOpts.dependsOn, svc],
            },
        );
        for (const sm of kedaServiceMonitors(namespace, kedaNamespace)) {
            new k8s.apiextensions.CustomResource(`${name}-${sm.metadata!.name}-monitor`, sm as never, crOpts);
        }
        new k8s.apiextensions.CustomResource(
            `${name}-alerts`,
            prometheusRule(namespace, loaderNamespaces) as never,
            crOpts,
        );
        new k8s.core.v1.ConfigMap(`${name}-dashboard`, dashboardConfigMap(namespace, loaderNamespaces), inNs);

        if (logs) {
            const withPassword = args.elasticsearchPassword !== undefined;
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
                        collectorSecret(namespace, args.elasticsearchPassword!),
                        inNs,
                    ),
                );
            }
            new k8s.apps.v1.DaemonSet(
                `${name}-log-shipper`,
                collectorDaemonSet(
                    namespace,
                    args.otelCollectorImage ?? versions.otelCollectorImage,
                    withPassword,
                ),
                { ...inNs, dependsOn: [ns, ...deps] },
            );
        }
        this.logShipping = pulumi.output(
            logs
                ? `to ${logs.url}: ${logs.swhIndex} (namespaces ${logs.swhNamespaces}), ${logs.systemIndex}`
                : "off (no logs.url)",
        );
        this.registerOutputs({ statsdEndpoint: this.statsdEndpoint, logShipping: this.logShipping });
    }
}

/** Resolves and checks the log shipping settings. */
export function logShippingSpec(
    logs: Partial<LogShippingSpec> & { url: string },
    key: (field: string) => string,
): LogShippingSpec {
    let url: URL;
    try {
        url = new URL(logs.url);
    } catch {
        throw new ArgumentError(key("logs.url"), "an http(s) URL of Elasticsearch", logs.url);
    }
    if (!["http:", "https:"].includes(url.protocol) || url.username || url.password) {
        throw new ArgumentError(
            key("logs.url"),
            "an http(s) URL without credentials (set logs.username and the password secret)",
            logs.url,
        );
    }
    const spec: LogShippingSpec = {
        url: logs.url,
        username: logs.username,
        swhIndex: logs.swhIndex ?? "swh-logs",
        systemIndex: logs.systemIndex ?? "system-logs",
        swhNamespaces: logs.swhNamespaces ?? "^swh",
    };
    for (const index of ["swhIndex", "systemIndex"] as const) {
        if (!/^[a-z0-9][a-z0-9._-]*$/.test(spec[index])) {
            throw new ArgumentError(
                key(`logs.${index}`),
                "a lower-case Elasticsearch index name",
                spec[index],
            );
        }
    }
    try {
        new RegExp(spec.swhNamespaces);
    } catch {
        throw new ArgumentError(key("logs.swhNamespaces"), "a regular expression", spec.swhNamespaces);
    }
    return spec;
}
