import { z } from "zod";
import { NODE_ROLES } from "../components/worker-node-pool/hosts";

/** Structured config of the stack, as `Pulumi.<stack>.yaml` holds it (secrets are separate keys). */

const dnsLabel = z
    .string()
    .regex(
        /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
        "expected a DNS-1123 label (lower-case letters, digits, '-')",
    );
const dnsName = z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "expected a DNS name like rancher.example.org");
const cpu = z.union([
    z.number().positive("expected a positive number of cores"),
    z.string().regex(/^\d+(\.\d+)?m?$/, 'expected a CPU quantity like "500m" or "4"'),
]);
const memory = z
    .string()
    .regex(/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/, 'expected a memory quantity like "512Mi" or "8Gi"');
const seconds = z
    .number()
    .int("expected a whole number of seconds")
    .positive("expected a positive number of seconds");
const count = (min: number) => z.number().int("expected a whole number").min(min, `expected at least ${min}`);
const version = z
    .string()
    .regex(/^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]*)?$/, 'expected a version like "2.13.1"');
const labels = z.record(
    z
        .string()
        .regex(
            /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/,
            "expected a label key",
        ),
    z.string().regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/, "expected a label value"),
);

export const hostSchema = z.strictObject({
    name: dnsLabel,
    address: z.string().regex(/^[^\s]+$/, "expected a host name or IP address"),
    port: z.number().int().min(1).max(65535, "expected a TCP port 1-65535").optional(),
    user: z
        .string()
        .regex(/^[a-z_][a-z0-9_-]*$/, "expected a Unix user name")
        .optional(),
    hostKey: z
        .string()
        .regex(/^(ssh-|ecdsa-)\S+ \S+/, 'expected a public key like "ssh-ed25519 AAAA..."')
        .optional(),
});

export const poolHostSchema = hostSchema.extend({
    roles: z.array(z.enum(NODE_ROLES)).min(1, "expected at least one role").optional(),
    labels: labels.optional(),
    taints: z
        .array(
            z.strictObject({
                key: z.string().min(1),
                value: z.string().optional(),
                effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
            }),
        )
        .optional(),
    cpu,
    memory,
});

const resourcePair = z.strictObject({
    cpu: z.string().regex(/^\d+(\.\d+)?m?$/, 'expected a CPU quantity like "500m"'),
    memory,
});

export const rancherSchema = z.strictObject({
    host: hostSchema,
    hostname: dnsName,
    version: version.optional(),
    k3sVersion: z
        .string()
        .regex(/^v\d+\.\d+\.\d+\+k3s\d+$/, 'expected a k3s release like "v1.33.4+k3s1"')
        .optional(),
    certManagerVersion: version.optional(),
    flannelBackend: z.enum(["host-gw", "vxlan", "wireguard-native"]).optional(),
    replicas: count(1).optional(),
    caCerts: z.string().optional(),
});

export const poolSchema = z.strictObject({
    clusterName: dnsLabel.optional(),
    kubernetesVersion: z
        .string()
        .regex(/^v\d+\.\d+\.\d+\+(rke2r|k3s)\d+$/, 'expected an RKE2 or k3s version like "v1.33.4+rke2r1"')
        .optional(),
    register: z.boolean().optional(),
    prepareHosts: z.boolean().optional(),
    cni: z.enum(["calico", "canal", "cilium"]).optional(),
    flannelBackend: z.enum(["host-gw", "vxlan", "wireguard-native"]).optional(),
    drainTimeoutSeconds: seconds.optional(),
    reservations: z
        .strictObject({
            kubeReserved: resourcePair.optional(),
            systemReserved: resourcePair.optional(),
            evictionHardMemory: memory.optional(),
            evictionSoftMemory: memory.optional(),
            evictionSoftGracePeriod: z
                .string()
                .regex(/^\d+(s|m|h)$/, 'expected a duration like "1m"')
                .optional(),
            evictionMaxPodGracePeriod: count(0).optional(),
            daemonSetOverhead: resourcePair.optional(),
        })
        .optional(),
    hosts: z.array(poolHostSchema).min(1, "expected at least one host"),
});

export const imagesSchema = z.strictObject({
    registry: z
        .string()
        .regex(/^[a-z0-9.-]+(:\d+)?$/, 'expected a registry host like "docker.io" or "127.0.0.1:5000"')
        .optional(),
    namespace: z
        .string()
        .regex(/^[a-z0-9]+([._-][a-z0-9]+)*$/, 'expected a repository namespace like "softwareheritage"')
        .optional(),
    username: z.string().min(1).optional(),
    baseImage: z
        .string()
        .regex(/^[a-z0-9./:@_-]+$/, 'expected an image reference like "python:3.11-bookworm"')
        .optional(),
    releaseDate: z
        .string()
        .regex(/^\d{8}(\.\d+)?$/, 'expected a date tag like "20261125"')
        .optional(),
    pipIndexUrl: z.url().optional(),
    pipCaBundle: z.string().min(1).optional(),
    builder: z.string().min(1).optional(),
    push: z.boolean().optional(),
});

const hpaRules = z.strictObject({
    stabilizationWindowSeconds: count(0).optional(),
    selectPolicy: z.enum(["Max", "Min", "Disabled"]).optional(),
    policies: z
        .array(z.strictObject({ type: z.enum(["Pods", "Percent"]), value: count(1), periodSeconds: seconds }))
        .optional(),
});

export const loaderSchema = z.strictObject({
    loader: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/, 'expected a loader type like "git"'),
    packages: z
        .array(
            z
                .string()
                .regex(
                    /^[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!_-]+$/,
                    'expected a pinned requirement like "swh.loader.git==3.3.0"',
                ),
        )
        .min(1, "expected at least one pinned package")
        .optional(),
    /** A prebuilt, digest-pinned loader image, instead of building one from `packages`. */
    image: z
        .string()
        .regex(/^[^\s@]+@sha256:[0-9a-f]{64}$/, "expected a digest-pinned image (repository@sha256:<64 hex>)")
        .optional(),
    queues: z
        .array(z.string().regex(/^[A-Za-z0-9_.:-]{1,255}$/, "expected a RabbitMQ queue name"))
        .min(1, "expected at least one queue"),
    namespace: dnsLabel.optional(),
    mode: z.enum(["deployment", "job"]).optional(),
    queueThreshold: count(1).optional(),
    activationThreshold: count(0).optional(),
    minReplicas: count(0).optional(),
    scaleToZero: z.boolean().optional(),
    maxReplicas: count(1).optional(),
    capacityPolicy: z.enum(["clamp", "fail"]).optional(),
    pollingInterval: seconds.optional(),
    cooldownPeriod: count(0).optional(),
    fallback: z.strictObject({ failureThreshold: count(1), replicas: count(0) }).optional(),
    hpaBehavior: z.strictObject({ scaleUp: hpaRules.optional(), scaleDown: hpaRules.optional() }).optional(),
    requests: resourcePair.optional(),
    limits: z
        .strictObject({
            cpu: z
                .string()
                .regex(/^\d+(\.\d+)?m?$/, "expected a CPU quantity")
                .optional(),
            memory,
        })
        .optional(),
    concurrency: count(1).optional(),
    maxTasksPerChild: count(1).optional(),
    logLevel: z.enum(["DEBUG", "INFO", "WARNING", "ERROR"]).optional(),
    priority: z.enum(["low", "normal", "high"]).optional(),
    taskTimeoutSeconds: seconds.optional(),
    terminationGracePeriodSeconds: seconds.optional(),
    nodeSelector: labels.optional(),
    tolerations: z
        .array(
            z.strictObject({
                key: z.string().optional(),
                operator: z.enum(["Exists", "Equal"]).optional(),
                value: z.string().optional(),
                effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
            }),
        )
        .optional(),
    workerConfig: z.record(z.string(), z.unknown()).optional(),
    baseImage: z.string().optional(),
});

export const kedaSchema = z.strictObject({
    version: version.optional(),
    namespace: dnsLabel.optional(),
    installChart: z.boolean().optional(),
});

export const observabilitySchema = z.strictObject({
    enabled: z.boolean().optional(),
    installPrometheus: z.boolean().optional(),
    prometheusChartVersion: version.optional(),
    namespace: dnsLabel.optional(),
    logs: z
        .strictObject({
            url: z.url({ protocol: /^https?$/, error: "expected an http(s) URL of Elasticsearch" }),
            username: z.string().min(1).optional(),
            swhIndex: z
                .string()
                .regex(/^[a-z0-9][a-z0-9._-]*$/, "expected an index name")
                .optional(),
            systemIndex: z
                .string()
                .regex(/^[a-z0-9][a-z0-9._-]*$/, "expected an index name")
                .optional(),
            swhNamespaces: z.string().optional(),
        })
        .optional(),
});

export const kubernetesSchema = z.strictObject({
    /** Write manifests here instead of applying them (no cluster needed). */
    renderYamlToDirectory: z.string().min(1).optional(),
    /** Apply to the cluster of this kubeconfig file (relative to the project) instead of the pool's. */
    kubeconfig: z.string().min(1).optional(),
});

/** Plain (non-secret) structured keys and their schemas. */
export const structuredKeys = {
    rancher: rancherSchema.optional(),
    pool: poolSchema,
    images: imagesSchema.optional(),
    loaders: z.array(loaderSchema).min(1, "expected at least one loader"),
    keda: kedaSchema.optional(),
    observability: observabilitySchema.optional(),
    kubernetes: kubernetesSchema.optional(),
};

export type RancherConfig = z.infer<typeof rancherSchema>;
export type PoolConfig = z.infer<typeof poolSchema>;
export type ImagesConfig = z.infer<typeof imagesSchema>;
export type LoaderConfig = z.infer<typeof loaderSchema>;
export type KedaConfig = z.infer<typeof kedaSchema>;
export type ObservabilityConfig = z.infer<typeof observabilitySchema>;
export type KubernetesConfig = z.infer<typeof kubernetesSchema>;
