import * as k8s from "@pulumi/kubernetes";
import * as YAML from "yaml";
import inputs = k8s.types.input;

/** Histogram buckets of SWH's statsd exporter, 5 ms to 2 h: loader tasks run from seconds to hours. */
export const DURATION_BUCKETS = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 5, 10, 15, 30, 45, 60, 120, 300, 600, 900, 1800,
    2700, 3600, 7200,
];

/** Buckets of `*_percent` metrics (ratios 0-1). */
export const PERCENT_BUCKETS = [0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1];

/**
 * statsd_exporter mapping: every timer becomes a histogram with the duration buckets, `*_percent` metrics a
 * histogram over 0-1. DogStatsD tags (`|#task:...,deployment:loader-git`) become labels as they are.
 */
export function statsdMapping(): string {
    return YAML.stringify({
        defaults: {
            observer_type: "histogram",
            histogram_options: { buckets: DURATION_BUCKETS },
        },
        mappings: [
            {
                match: "(.*_percent)",
                match_type: "regex",
                name: "${1}",
                observer_type: "histogram",
                histogram_options: { buckets: PERCENT_BUCKETS },
            },
        ],
    });
}

/** The exporter's name and ports: SWH's workers send to `prometheus-statsd-exporter:9125`. */
export const STATSD = { name: "prometheus-statsd-exporter", udpPort: 9125, metricsPort: 9102 };

/** Where workers send statsd when the exporter runs in `namespace`. */
export function statsdEndpoint(namespace: string): { host: string; port: number } {
    return { host: `${STATSD.name}.${namespace}.svc.cluster.local`, port: STATSD.udpPort };
}

const labels = { "app.kubernetes.io/name": STATSD.name, "app.kubernetes.io/part-of": "swh-elastic-workers" };

export function statsdConfigMap(namespace: string): inputs.core.v1.ConfigMap {
    return {
        metadata: { name: `${STATSD.name}-mapping`, namespace, labels },
        data: { "mapping.yml": statsdMapping() },
    };
}

export function statsdDeployment(namespace: string, image: string): inputs.apps.v1.Deployment {
    return {
        metadata: { name: STATSD.name, namespace, labels },
        spec: {
            replicas: 1,
            selector: { matchLabels: { "app.kubernetes.io/name": STATSD.name } },
            template: {
                metadata: { labels },
                spec: {
                    securityContext: { runAsNonRoot: true, runAsUser: 65534 },
                    containers: [
                        {
                            name: "statsd-exporter",
                            image,
                            args: [
                                "--statsd.mapping-config=/etc/statsd/mapping.yml",
                                `--statsd.listen-udp=:${STATSD.udpPort}`,
                                "--statsd.listen-tcp=",
                                `--web.listen-address=:${STATSD.metricsPort}`,
                            ],
                            ports: [
                                { name: "statsd-udp", containerPort: STATSD.udpPort, protocol: "UDP" },
                                { name: "metrics", containerPort: STATSD.metricsPort, protocol: "TCP" },
                            ],
                            readinessProbe: { httpGet: { path: "/metrics", port: "metrics" } },
                            resources: {
                                requests: { cpu: "50m", memory: "64Mi" },
                                limits: { memory: "256Mi" },
                            },
                            volumeMounts: [{ name: "mapping", mountPath: "/etc/statsd" }],
                        },
                    ],
                    volumes: [{ name: "mapping", configMap: { name: `${STATSD.name}-mapping` } }],
                },
            },
        },
    };
}

export function statsdService(namespace: string): inputs.core.v1.Service {
    return {
        metadata: { name: STATSD.name, namespace, labels },
        spec: {
            selector: { "app.kubernetes.io/name": STATSD.name },
            ports: [
                { name: "statsd-udp", port: STATSD.udpPort, targetPort: "statsd-udp", protocol: "UDP" },
                { name: "metrics", port: STATSD.metricsPort, targetPort: "metrics", protocol: "TCP" },
            ],
        },
    };
}
