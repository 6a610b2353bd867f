/** The arguments of KedaScaledLoader and KedaOperator: one schema for the types, checks, defaults and docs. */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import {
    dnsLabel,
    labels,
    loaderType,
    memoryQuantity,
    port,
    positiveCpu,
    positiveMemory,
    seconds,
    toleration,
    version,
    wholeNumberAtLeast,
} from "../common/schema";
import { versions } from "../common/versions";
import { observabilityStackSchema } from "../observability-stack/args";
import { statsdEndpoint } from "../observability-stack/statsd";
import { NodeCapacity } from "../worker-node-pool/capacity";

/** SWH's loader priority classes (swh-charts), lowest first. */
export const PRIORITY_CLASSES = {
    low: { name: "low-workload", value: -5500 },
    normal: { name: "normal-workload", value: 6500 },
    high: { name: "high-workload", value: 20500 },
} as const;
export type Priority = keyof typeof PRIORITY_CLASSES;

const hpaRules = z.strictObject({
    stabilizationWindowSeconds: wholeNumberAtLeast(0).optional(),
    selectPolicy: z.enum(["Max", "Min", "Disabled"]).optional(),
    policies: z
        .array(
            z.strictObject({
                type: z.enum(["Pods", "Percent"]),
                value: wholeNumberAtLeast(1),
                periodSeconds: seconds,
            }),
        )
        .optional(),
});
const hpaBehavior = z.strictObject({ scaleUp: hpaRules.optional(), scaleDown: hpaRules.optional() });
/** KEDA's fallback behaviours (ScaledObject `spec.fallback.behavior`, KEDA >= 2.17). */
export const FALLBACK_BEHAVIORS = [
    "currentReplicasIfHigher",
    "static",
    "currentReplicas",
    "currentReplicasIfLower",
] as const;

/** HPA scaling behaviour (autoscaling/v2 `behavior`), passed through KEDA. */
export type HpaBehavior = z.infer<typeof hpaBehavior>;
export type HpaRules = z.infer<typeof hpaRules>;

/**
 * Up to 4 pods per 15 s, down one pod per 15 s after a minute below target (SWH's earlier PoC). Kept after
 * `npm run bench:scaling` (docs/benchmark.md): it beats fixed replicas and a CPU-based HPA on drain time x cost
 * in every profile; the variants tried (scale up to the target in one sync; hold the peak 5 minutes before
 * scaling down) drained bursts faster but cost 40 % more on a trickle, and lost over the three profiles. Measured
 * again at SWH's time scale (5-minute tasks, every period / 15): scaling up or down faster gained nothing and
 * stopped more busy workers. The scale-down window must outlast the queue lengths' age (KEDA's poll + RabbitMQ's
 * 5 s samples): without one, the HPA goes below the running tasks and the ReplicaSet has only busy pods left.
 */
export const DEFAULT_HPA_BEHAVIOR: HpaBehavior = {
    scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: "Pods", value: 4, periodSeconds: 15 }] },
    scaleDown: {
        stabilizationWindowSeconds: 60,
        policies: [{ type: "Percent", value: 2, periodSeconds: 15 }],
    },
};

/** The shape of one replica where SWH's loaders differ by type (swh-charts); other types take `default`. */
export const LOADER_SHAPES: Record<"default" | "git", { limits: { memory: string }; tmp: LoaderTmp }> = {
    default: { limits: { memory: "1Gi" }, tmp: { medium: "disk", sizeLimit: "10Gi" } },
    // Git packs are unpacked in /tmp: SWH gives git loaders a large limit and a memory-backed /tmp.
    git: { limits: { memory: "20Gi" }, tmp: { medium: "memory", sizeLimit: "16Gi" } },
};
export type LoaderTmp = { medium: "memory" | "disk"; sizeLimit: string };

/** Default statsd target: the ObservabilityStack's exporter service in its default namespace. */
export const DEFAULT_STATSD = statsdEndpoint(observabilityStackSchema.parse({}).namespace);

/** How a loader's tasks are acknowledged; the first is the default. */
export const DELIVERIES = ["at-least-once", "at-most-once"] as const;
export type Delivery = (typeof DELIVERIES)[number];
/** RabbitMQ's default consumer_timeout (docs/consumers.md, "Delivery Acknowledgement Timeout"). */
export const RABBITMQ_CONSUMER_TIMEOUT_SECONDS = 1800;
/** What a stopping worker needs past its longest task: Celery's warm shutdown and exit. */
export const SHUTDOWN_MARGIN_SECONDS = 30;

/** RabbitMQ's queue-name rule. */
export const queueName = z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,255}$/, "expected a RabbitMQ queue name ([A-Za-z0-9_.:-], 1-255)");

/** The loader settings that shape its objects; structural, so plain values rather than Outputs. */
export const loaderSettingsSchema = z.strictObject({
    loader: loaderType.describe('Loader type, e.g. "git"; names the Deployment `loader-<type>`.'),
    queues: z
        .array(queueName)
        .min(1, "expected at least one queue")
        .describe("RabbitMQ queues this loader consumes."),
    namespace: dnsLabel
        .optional()
        .describe('Namespace. Defaults to "swh-loader-<type>" (swh* namespaces ship logs to the SWH index).'),
    createNamespace: z.boolean().default(true).describe("Create the namespace."),
    mode: z
        .enum(["deployment", "job"], { error: 'expected "deployment" or "job"' })
        .default("deployment")
        .describe(
            '"deployment" (long-lived workers, KEDA ScaledObject) or "job" (one task per Job, KEDA ScaledJob).',
        ),
    delivery: z
        .enum(DELIVERIES, { error: `expected one of ${DELIVERIES.join(", ")}` })
        .default("at-least-once")
        .describe(
            '"at-least-once": Celery acknowledges a task when it ends (late ack, task_reject_on_worker_lost), so ' +
                "the queue KEDA reads counts running tasks and a worker killed mid-task has its task delivered " +
                'again. "at-most-once": SWH\'s current early ack, where a running task is invisible to KEDA and ' +
                "lost if its worker is killed.",
        ),
    queueThreshold: wholeNumberAtLeast(1)
        .optional()
        .describe(
            "Messages per replica before KEDA adds one (trigger `value`; with several queues, of their sum). " +
                "Defaults to what one replica runs at once (concurrency; 1 in job mode): one replica per task " +
                'waiting or running. With "at-least-once" it can be no more (a larger value removes busy ' +
                "workers, as the running tasks are counted); SWH's at-most-once charts use 10.",
        ),
    activationThreshold: wholeNumberAtLeast(0)
        .default(0)
        .describe("Messages needed to wake from zero (trigger `activationValue`)."),
    minReplicas: wholeNumberAtLeast(0).default(0).describe("Replicas while the queues hold work."),
    scaleToZero: z
        .boolean()
        .default(true)
        .describe(
            "Scale to zero when the queues are idle, even with minReplicas > 0 (KEDA idleReplicaCount 0). " +
                "false keeps minReplicas running always (warm workers); it needs minReplicas >= 1.",
        ),
    maxReplicas: wholeNumberAtLeast(1)
        .default(5)
        .describe("Upper bound, as SWH; clamped to what the pool holds at this loader's requests."),
    capacityPolicy: z
        .enum(["clamp", "fail"])
        .default("clamp")
        .describe('When maxReplicas exceeds the pool\'s capacity: "clamp" with a warning, or "fail".'),
    pollingInterval: seconds.default(30).describe("Seconds between KEDA polls of the queues."),
    cooldownPeriod: wholeNumberAtLeast(0)
        .default(300)
        .describe("Seconds of empty queues before scaling to zero."),
    fallback: z
        .strictObject({
            failureThreshold: wholeNumberAtLeast(1),
            replicas: wholeNumberAtLeast(0),
            behavior: z
                .enum(FALLBACK_BEHAVIORS, { error: `expected one of ${FALLBACK_BEHAVIORS.join(", ")}` })
                .default("currentReplicasIfHigher"),
        })
        .default({ failureThreshold: 3, replicas: 1, behavior: "currentReplicasIfHigher" })
        .describe(
            "While the scaler fails failureThreshold times in a row (a RabbitMQ management outage): KEDA's " +
                "fallback: behavior currentReplicasIfHigher keeps busy workers (max of the running replicas and " +
                "`replicas`); static sets exactly `replicas`, which would stop workers in the middle of their tasks.",
        ),
    hpaBehavior: hpaBehavior
        .default(DEFAULT_HPA_BEHAVIOR)
        .describe("HPA behaviour (see DEFAULT_HPA_BEHAVIOR)."),
    requests: z
        .strictObject({ cpu: positiveCpu, memory: positiveMemory })
        .default({ cpu: "500m", memory: "512Mi" })
        .describe("Requests of one replica, as SWH."),
    limits: z
        .strictObject({ cpu: positiveCpu.optional(), memory: memoryQuantity })
        .optional()
        .describe(
            "Limits of one replica (no CPU limit by default: throttling only slows tasks). Defaults to the " +
                "loader type's shape (LOADER_SHAPES): memory 20Gi for git (real repositories need it), else 1Gi.",
        ),
    tmp: z
        .strictObject({
            medium: z.enum(["memory", "disk"], { error: 'expected "memory" or "disk"' }),
            sizeLimit: positiveMemory,
        })
        .optional()
        .describe(
            "The worker's /tmp, an emptyDir: memory-backed (tmpfs, charged to the memory limit) or on the " +
                "node's disk, bounded by sizeLimit. Defaults to the loader type's shape (LOADER_SHAPES): " +
                "memory, 16Gi for git; disk, 10Gi otherwise.",
        ),
    concurrency: wholeNumberAtLeast(1).default(1).describe("Celery worker processes per replica."),
    maxTasksPerChild: wholeNumberAtLeast(1)
        .default(10)
        .describe("Tasks a worker process runs before it is replaced (SWH's value)."),

    logLevel: z
        .enum(["DEBUG", "INFO", "WARNING", "ERROR"], { error: "expected DEBUG, INFO, WARNING or ERROR" })
        .default("INFO")
        .describe("Log level."),
    logFormat: z
        .enum(["json", "text"], { error: 'expected "json" or "text"' })
        .default("json")
        .describe(
            "Worker logs: JSON lines as SWH ships them (SWH_LOG_CONFIG, python-json-logger's formatter, which " +
                "built images include) or Celery's plain text.",
        ),
    priority: z
        .enum(Object.keys(PRIORITY_CLASSES) as [Priority, ...Priority[]], {
            error: "expected low, normal or high",
        })
        .default("normal")
        .describe("Priority class (SWH's low-workload, normal-workload, high-workload)."),
    taskTimeoutSeconds: seconds
        .default(RABBITMQ_CONSUMER_TIMEOUT_SECONDS - 300)
        .describe(
            "Longest task, in seconds: Celery's task_time_limit ends a task that runs longer (it is then failed, " +
                "not delivered again), and the grace period must cover it. The default stays below RabbitMQ's " +
                "default consumer_timeout; longer loaders set it with consumerTimeoutSeconds.",
        ),
    terminationGracePeriodSeconds: seconds
        .optional()
        .describe(
            `Seconds a stopping worker gets to finish its task. Defaults to taskTimeoutSeconds + ${SHUTDOWN_MARGIN_SECONDS} ` +
                "(the worker's own shutdown).",
        ),
    consumerTimeoutSeconds: seconds
        .default(RABBITMQ_CONSUMER_TIMEOUT_SECONDS)
        .describe(
            "The broker's consumer_timeout for these queues (RabbitMQ's default: 30 minutes). With " +
                '"at-least-once", RabbitMQ closes the channel of a task unacknowledged for longer and delivers it ' +
                "again, so taskTimeoutSeconds must stay below it: raise it on the broker (rabbitmq.conf " +
                "consumer_timeout, or a consumer-timeout policy) and give the value here.",
        ),
    nodeSelector: labels.default({ "swh/loader": "true" }).describe("Node labels loader pods require."),
    tolerations: z.array(toleration).default([]).describe("Tolerations of loader pods."),
    workerConfig: z
        .record(z.string(), z.unknown())
        .default({})
        .describe("Non-secret worker config merged into config.yml (storage, loader options)."),
    statsd: z
        .strictObject({ host: z.string().min(1, "expected a host name"), port })
        .default(DEFAULT_STATSD)
        .describe("statsd target (UDP). Defaults to the ObservabilityStack's exporter."),
});
export type LoaderSettings = z.input<typeof loaderSettingsSchema>;

/** How a loader's Secrets come to the cluster: made by the component, or out of band (rendered manifests). */
export const SECRET_MODES = ["create", "existing"] as const;
export type SecretMode = (typeof SECRET_MODES)[number];

/** A registry's credentials, for the loader pods' image pull Secret. */
export interface RegistryCredentials {
    /** Registry host the image is pulled from, e.g. "docker.io" or "registry.example.org:5000". */
    server: string;
    username: pulumi.Input<string>;
    /** Password or access token. Secret. */
    password: pulumi.Input<string>;
}

/** Arguments of {@link KedaScaledLoader}: the loader settings plus its image, broker and placement. */
export type KedaScaledLoaderArgs = LoaderSettings & {
    /** Digest-pinned image reference (LoaderImage.ref): `repo@sha256:...`. */
    image: pulumi.Input<string>;
    /**
     * "create" (default): the component creates the broker Secret from amqpUrl and managementUrl.
     * "existing": the Secret `loader-<type>-broker` (keys config.yml, host) is made out of band, e.g. by sealed
     * secrets; use it when manifests are rendered to files, which would hold secret values in plain text.
     */
    brokerSecret?: SecretMode;
    /** Celery broker URL with credentials (amqp://user:pass@host:5672/%2f). Secret. Required with "create". */
    amqpUrl?: pulumi.Input<string>;
    /** RabbitMQ management API URL with credentials (http://user:pass@host:15672), polled by KEDA. Secret. Required with "create". */
    managementUrl?: pulumi.Input<string>;
    /**
     * Sentry DSN the worker reports task errors to (swh.core reads SWH_SENTRY_DSN). Secret: it goes into the broker
     * Secret, never the ConfigMap. Unset: no Sentry.
     */
    sentryDsn?: pulumi.Input<string>;
    /** SWH_SENTRY_ENVIRONMENT, e.g. "staging"; sent with sentryDsn. */
    sentryEnvironment?: string;
    /**
     * The image pull Secret `loader-<type>-registry` (`kubernetes.io/dockerconfigjson`), listed in the pods'
     * `imagePullSecrets`: "create" makes it from `registry`; "existing" uses one made out of band (rendered
     * manifests). Unset: the pods pull without credentials (a public image).
     */
    imagePullSecret?: SecretMode;
    /** The registry's credentials. Required with imagePullSecret "create". */
    registry?: RegistryCredentials;
    /** The pool's capacity (WorkerNodePool.nodes), bounding maxReplicas. Unset: maxReplicas as given. */
    capacity?: NodeCapacity[];
    /** The KEDA operator (KedaOperator); KEDA objects wait for its CRDs. */
    kedaOperator?: pulumi.Resource;
};

/** What every loader of a cluster needs once: KEDA itself. */
export const kedaOperatorSchema = z.strictObject({
    version: version.default(versions.keda).describe("KEDA chart version."),
    namespace: dnsLabel.default("keda").describe("Namespace KEDA runs in."),
    installChart: z
        .boolean()
        .default(true)
        .describe(
            "Install KEDA's chart. False when the cluster already runs KEDA, or when manifests are rendered to " +
                "files (Helm releases cannot be rendered).",
        ),
});
/** Arguments of {@link KedaOperator}; the Kubernetes provider comes in `opts`. */
export type KedaOperatorArgs = z.input<typeof kedaOperatorSchema>;
