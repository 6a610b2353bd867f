/** The arguments of ObservabilityStack: one schema for the type, the checks, the defaults and the docs. */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { dnsLabel, imageReference, regexSource, version } from "../common/schema";
import { versions } from "../common/versions";

const indexName = z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]*$/, "expected a lower-case Elasticsearch index name");

/** Where logs go. */
export const logShippingSchema = z.strictObject({
    url: z
        .url({ protocol: /^https?$/, error: "expected an http(s) URL of Elasticsearch" })
        .refine(
            (u) => !/^[a-z]+:\/\/[^/]*@/.test(u),
            "expected an http(s) URL without credentials (set logs.username and the password secret)",
        )
        .describe("Elasticsearch URL, without credentials."),
    username: z.string().min(1).optional().describe("Basic-auth user; unset sends no credentials."),
    swhIndex: indexName.default("swh-logs").describe("Index of SWH namespaces' logs, as SWH."),
    systemIndex: indexName.default("system-logs").describe("Index of everything else."),
    swhNamespaces: regexSource.default("^swh").describe("Regex of the namespaces whose logs are SWH's."),
});
export type LogShippingSpec = z.output<typeof logShippingSchema>;

/** Rancher monitoring's namespaces (rancher-monitoring chart): its Prometheus, and where its Grafana reads dashboards. */
export const RANCHER_MONITORING = {
    namespace: "cattle-monitoring-system",
    dashboards: "cattle-dashboards",
} as const;

/** The monitoring modes: everything of our own, or the cluster's Rancher monitoring (SWH's clusters). */
export const MONITORING_MODES = ["self-contained", "rancher"] as const;

export const observabilityStackSchema = z.strictObject({
    namespace: dnsLabel.default("swh-monitoring").describe("Namespace of the monitoring pieces."),
    monitoring: z
        .enum(MONITORING_MODES, { error: 'expected "self-contained" or "rancher"' })
        .default("self-contained")
        .describe(
            '"self-contained": this stack installs kube-prometheus-stack and may ship logs. "rancher": the ' +
                "cluster runs Rancher monitoring (SWH's clusters): its Prometheus scrapes the ServiceMonitors and " +
                `rules (it selects every namespace), the dashboard goes to ${RANCHER_MONITORING.dashboards} where ` +
                "its Grafana reads dashboards, and logs are left to the cluster's own collector (no logs key).",
        ),
    installPrometheus: z
        .boolean()
        .optional()
        .describe(
            "Install kube-prometheus-stack. Defaults to true in self-contained mode; false when the cluster " +
                "already runs one. Never in rancher mode.",
        ),
    prometheusChartVersion: version
        .default(versions.kubePrometheusStack)
        .describe("kube-prometheus-stack chart version."),
    kedaNamespace: dnsLabel
        .default("keda")
        .describe("Namespace KEDA runs in, whose metrics are scraped (the stack passes keda.namespace)."),
    loaderNamespaces: regexSource
        .default("swh-loader-.*")
        .describe("Regex of loader namespaces, for alerts and the dashboard."),
    logs: logShippingSchema.optional().describe("Elasticsearch log shipping; unset ships no logs."),
    statsdExporterImage: imageReference
        .default(versions.statsdExporterImage)
        .describe("statsd exporter image."),
    otelCollectorImage: imageReference
        .default(versions.otelCollectorImage)
        .describe("OpenTelemetry collector (contrib) image, ships pod logs."),
});

export type ObservabilityStackSettings = z.output<typeof observabilityStackSchema>;

/** Arguments of {@link ObservabilityStack}; the Kubernetes provider comes in `opts`. */
export type ObservabilityStackArgs = z.input<typeof observabilityStackSchema> & {
    /** Elasticsearch password. Secret. Required when logs.username is set. */
    elasticsearchPassword?: pulumi.Input<string>;
};
