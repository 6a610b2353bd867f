import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { z } from "zod";
import { parseValue } from "../common/schema";
import { LogShippingSpec, logShippingSchema } from "./args";
import inputs = k8s.types.input;

export type { LogShippingSpec };

const NAME = "swh-log-shipper";

/**
 * OpenTelemetry collector config: tail /var/log/pods, parse the CRI format and the path's Kubernetes
 * metadata, split SWH namespaces from the rest, and ship to Elasticsearch with a persistent, retrying queue,
 * so an Elasticsearch outage delays logs instead of dropping them.
 */
export function collectorConfig(
    spec: LogShippingSpec,
    storageDir: string,
    logGlob = "/var/log/pods/*/*/*.log",
): string {
    const isSwh = `IsMatch(resource.attributes["k8s.namespace.name"], "${spec.swhNamespaces}")`;
    const exporter = (index: string) => ({
        endpoints: [spec.url],
        logs_index: index,
        ...(spec.username ? { auth: { authenticator: "basicauth/elasticsearch" } } : {}),
        retry: { enabled: true, max_retries: 1000000, initial_interval: "1s", max_interval: "30s" },
        sending_queue: { enabled: true, storage: "file_storage/queue", queue_size: 100000 },
    });
    return YAML.stringify({
        extensions: {
            "file_storage/queue": { directory: `${storageDir}/queue`, create_directory: true },
            "file_storage/checkpoints": { directory: `${storageDir}/checkpoints`, create_directory: true },
            ...(spec.username
                ? {
                      "basicauth/elasticsearch": {
                          client_auth: { username: spec.username, password: "${env:ELASTICSEARCH_PASSWORD}" },
                      },
                  }
                : {}),
        },
        receivers: {
            filelog: {
                include: [logGlob],
                exclude: [`/var/log/pods/*/${NAME}*/*.log`],
                start_at: "beginning",
                include_file_path: true,
                storage: "file_storage/checkpoints",
                operators: [{ type: "container", id: "container-parser" }],
            },
        },
        processors: {
            "filter/swh": { error_mode: "ignore", logs: { log_record: [`not ${isSwh}`] } },
            "filter/system": { error_mode: "ignore", logs: { log_record: [isSwh] } },
            batch: { send_batch_size: 1000, timeout: "2s" },
        },
        exporters: {
            "elasticsearch/swh": exporter(spec.swhIndex),
            "elasticsearch/system": exporter(spec.systemIndex),
        },
        service: {
            extensions: [
                "file_storage/queue",
                "file_storage/checkpoints",
                ...(spec.username ? ["basicauth/elasticsearch"] : []),
            ],
            pipelines: {
                "logs/swh": {
                    receivers: ["filelog"],
                    processors: ["filter/swh", "batch"],
                    exporters: ["elasticsearch/swh"],
                },
                "logs/system": {
                    receivers: ["filelog"],
                    processors: ["filter/system", "batch"],
                    exporters: ["elasticsearch/system"],
                },
            },
        },
    });
}

const labels = { "app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "swh-elastic-workers" };

export function collectorConfigMap(namespace: string, spec: LogShippingSpec): inputs.core.v1.ConfigMap {
    return {
        metadata: { name: NAME, namespace, labels },
        data: { "config.yaml": collectorConfig(spec, "/var/lib/otelcol") },
    };
}

export function collectorSecret(namespace: string, password: pulumi.Input<string>): inputs.core.v1.Secret {
    return {
        metadata: { name: NAME, namespace, labels },
        type: "Opaque",
        stringData: { ELASTICSEARCH_PASSWORD: pulumi.secret(password) },
    };
}

/** The collector on every node, reading the node's pod logs, its queue on the host so it survives restarts. */
export function collectorDaemonSet(
    namespace: string,
    image: string,
    withPassword: boolean,
): inputs.apps.v1.DaemonSet {
    return {
        metadata: { name: NAME, namespace, labels },
        spec: {
            selector: { matchLabels: { "app.kubernetes.io/name": NAME } },
            template: {
                metadata: { labels },
                spec: {
                    tolerations: [{ operator: "Exists" }],
                    priorityClassName: "system-node-critical",
                    containers: [
                        {
                            name: "otelcol",
                            image,
                            args: ["--config=/etc/otelcol/config.yaml"],
                            envFrom: withPassword ? [{ secretRef: { name: NAME } }] : [],
                            resources: {
                                requests: { cpu: "100m", memory: "128Mi" },
                                limits: { memory: "512Mi" },
                            },
                            securityContext: { runAsUser: 0, readOnlyRootFilesystem: true },
                            volumeMounts: [
                                { name: "config", mountPath: "/etc/otelcol" },
                                { name: "pods", mountPath: "/var/log/pods", readOnly: true },
                                { name: "state", mountPath: "/var/lib/otelcol" },
                            ],
                        },
                    ],
                    volumes: [
                        { name: "config", configMap: { name: NAME } },
                        { name: "pods", hostPath: { path: "/var/log/pods" } },
                        {
                            name: "state",
                            hostPath: { path: "/var/lib/swh-otelcol", type: "DirectoryOrCreate" },
                        },
                    ],
                },
            },
        },
    };
}

/** Resolves and checks log shipping settings; `key` names the stack's field (`logs.url` under it). */
export function logShippingSpec(
    logs: z.input<typeof logShippingSchema>,
    key: (field: string) => string,
): LogShippingSpec {
    return parseValue(logShippingSchema, logs, key("logs"));
}
