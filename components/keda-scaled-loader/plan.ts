import { ArgumentError, wholeNumber } from "../common/errors";
import { Resources, parseCpu, parseMemory } from "../common/quantity";
import { CapacityPlan, NodeCapacity, TolerationSpec, capacityPlan } from "../worker-node-pool/capacity";
import { checkDnsLabel, checkLabels } from "../worker-node-pool/hosts";

/** SWH's loader priority classes (swh-charts), lowest first. */
export const PRIORITY_CLASSES = {
    low: { name: "low-workload", value: -5500 },
    normal: { name: "normal-workload", value: 6500 },
    high: { name: "high-workload", value: 20500 },
} as const;
export type Priority = keyof typeof PRIORITY_CLASSES;

/** HPA scaling behaviour (autoscaling/v2 `behavior`), passed through KEDA. */
export interface HpaBehavior {
    scaleUp?: HpaRules;
    scaleDown?: HpaRules;
}
export interface HpaRules {
    stabilizationWindowSeconds?: number;
    selectPolicy?: "Max" | "Min" | "Disabled";
    policies?: { type: "Pods" | "Percent"; value: number; periodSeconds: number }[];
}

/** The loader settings that shape its objects; structural, so plain values rather than Outputs. */
export interface LoaderSettings {
    /** Loader type, e.g. "git"; names the Deployment `loader-<type>`. */
    loader: string;
    /** RabbitMQ queues this loader consumes. At least one. */
    queues: string[];
    /** Namespace. Defaults to "swh-loader-<type>" (swh* namespaces ship logs to the SWH index). */
    namespace?: string;
    /** Create the namespace. Defaults to true. */
    createNamespace?: boolean;
    /** "deployment" (long-lived workers, KEDA ScaledObject) or "job" (one task per Job, KEDA ScaledJob). Defaults to "deployment". */
    mode?: "deployment" | "job";
    /** Messages per replica before KEDA adds one (trigger `value`). Defaults to 10, as SWH. */
    queueThreshold?: number;
    /** Messages needed to wake from zero (trigger `activationValue`). Defaults to 0. */
    activationThreshold?: number;
    /** Replicas while the queues hold work. Defaults to 0. */
    minReplicas?: number;
    /**
     * Scale to zero when the queues are idle, even with minReplicas > 0 (KEDA idleReplicaCount 0). false keeps
     * minReplicas running always (warm workers); it needs minReplicas >= 1. Defaults to true.
     */
    scaleToZero?: boolean;
    /** Upper bound; clamped to what the pool holds at this loader's requests. Defaults to 5, as SWH. */
    maxReplicas?: number;
    /** When maxReplicas exceeds the pool's capacity: "clamp" with a warning, or "fail". Defaults to "clamp". */
    capacityPolicy?: "clamp" | "fail";
    /** Seconds between KEDA polls of the queues. Defaults to 30. */
    pollingInterval?: number;
    /** Seconds of empty queues before scaling to zero. Defaults to 300. */
    cooldownPeriod?: number;
    /** Replicas while the scaler fails `failureThreshold` times in a row. Defaults to { failureThreshold: 3, replicas: 1 }. */
    fallback?: { failureThreshold: number; replicas: number };
    /** HPA behaviour. Defaults to DEFAULT_HPA_BEHAVIOR. */
    hpaBehavior?: HpaBehavior;
    /** Requests of one replica. Defaults to { cpu: "500m", memory: "512Mi" }, as SWH. */
    requests?: { cpu: string; memory: string };
    /** Limits of one replica. Defaults to { memory: "1Gi" } (no CPU limit: throttling only slows tasks). */
    limits?: { cpu?: string; memory: string };
    /** Celery worker processes per replica. Defaults to 1. */
    concurrency?: number;
    /** Tasks a worker process runs before it is replaced. Defaults to 5. */
    maxTasksPerChild?: number;
    /** Log level. Defaults to "INFO". */
    logLevel?: "DEBUG" | "INFO" | "WARNING" | "ERROR";
    /** Priority class. Defaults to "normal". */
    priority?: Priority;
    /** Longest task, in seconds; the grace period must cover it. Defaults to 3600. */
    taskTimeoutSeconds?: number;
    /** Seconds a stopping worker gets to finish its task. Defaults to taskTimeoutSeconds. */
    terminationGracePeriodSeconds?: number;
    /** Node labels loader pods require. Defaults to { "swh/loader": "true" }. */
    nodeSelector?: Record<string, string>;
    /** Tolerations. Defaults to none. */
    tolerations?: TolerationSpec[];
    /** Non-secret worker config merged into config.yml (storage, loader options). Defaults to {}. */
    workerConfig?: Record<string, unknown>;
    /** statsd target. Defaults to the ObservabilityStack's exporter. */
    statsd?: { host: string; port: number };
}

/**
 * Up to 4 pods per 15 s, down one pod per 15 s after a minute below target (SWH's earlier PoC). Kept after
 * `npm run bench:scaling` (README, "Scaling benchmark"): it beats fixed replicas and a CPU-based HPA on drain
 * time x cost in every profile; the variants tried (scale up to the target in one sync; hold the peak 5 minutes
 * before scaling down) drained bursts faster but cost 40 % more on a trickle, and lost over the three profiles.
 */
export const DEFAULT_HPA_BEHAVIOR: HpaBehavior = {
    scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: "Pods", value: 4, periodSeconds: 15 }] },
    scaleDown: {
        stabilizationWindowSeconds: 60,
        policies: [{ type: "Percent", value: 2, periodSeconds: 15 }],
    },
};

/** Default statsd target: the ObservabilityStack's exporter service. */
export const DEFAULT_STATSD = {
    host: "prometheus-statsd-exporter.swh-monitoring.svc.cluster.local",
    port: 9125,
};

/** Every setting resolved, checked and bounded. */
export interface LoaderPlan {
    loader: string;
    /** `loader-<type>`: Deployment, ScaledObject, and the statsd `deployment` tag. */
    baseName: string;
    namespace: string;
    createNamespace: boolean;
    mode: "deployment" | "job";
    queues: string[];
    queueThreshold: number;
    activationThreshold: number;
    minReplicas: number;
    scaleToZero: boolean;
    /** After the capacity bound. */
    maxReplicas: number;
    requestedMaxReplicas: number;
    pollingInterval: number;
    cooldownPeriod: number;
    fallback: { failureThreshold: number; replicas: number };
    hpaBehavior: HpaBehavior;
    requests: { cpu: string; memory: string };
    request: Resources;
    limits: { cpu?: string; memory: string };
    concurrency: number;
    maxTasksPerChild: number;
    logLevel: string;
    priorityClassName: string;
    taskTimeoutSeconds: number;
    terminationGracePeriodSeconds: number;
    nodeSelector: Record<string, string>;
    tolerations: TolerationSpec[];
    workerConfig: Record<string, unknown>;
    statsd: { host: string; port: number };
    /** How many replicas the pool holds; undefined when no pool capacity was given. */
    capacity?: CapacityPlan;
    /** Why maxReplicas was lowered, when it was. */
    clampedBecause?: string;
}

const QUEUE_NAME = /^[A-Za-z0-9_.:-]{1,255}$/;

/**
 * Resolves, checks and bounds a loader's settings. `nodes` is the pool's capacity (WorkerNodePool.nodes):
 * with it, maxReplicas is bounded by what fits; without it (an existing cluster), maxReplicas is taken as is.
 */
export function planLoader(
    s: LoaderSettings,
    key: (field: string) => string,
    nodes?: NodeCapacity[],
): LoaderPlan {
    if (typeof s.loader !== "string" || !/^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/.test(s.loader)) {
        throw new ArgumentError(
            key("loader"),
            'a loader type like "git" (lower-case letters, digits, "-")',
            s.loader,
        );
    }
    if (!Array.isArray(s.queues) || s.queues.length === 0) {
        throw new ArgumentError(key("queues"), "a non-empty list of RabbitMQ queue names", s.queues);
    }
    s.queues.forEach((q, i) => {
        if (typeof q !== "string" || !QUEUE_NAME.test(q)) {
            throw new ArgumentError(key(`queues[${i}]`), "a RabbitMQ queue name ([A-Za-z0-9_.:-], 1-255)", q);
        }
    });
    const dup = s.queues.find((q, i) => s.queues.indexOf(q) !== i);
    if (dup) throw new ArgumentError(key("queues"), "each queue once", dup);

    const baseName = `loader-${s.loader}`;
    const namespace = s.namespace ?? `swh-loader-${s.loader}`;
    checkDnsLabel(namespace, key("namespace"));
    const mode = s.mode ?? "deployment";
    if (mode !== "deployment" && mode !== "job")
        throw new ArgumentError(key("mode"), '"deployment" or "job"', mode);

    const queueThreshold = wholeNumber(s.queueThreshold, key("queueThreshold"), 1, 10);
    const activationThreshold = wholeNumber(s.activationThreshold, key("activationThreshold"), 0, 0);
    const minReplicas = wholeNumber(s.minReplicas, key("minReplicas"), 0, 0);
    const scaleToZero = s.scaleToZero ?? true;
    if (typeof scaleToZero !== "boolean")
        throw new ArgumentError(key("scaleToZero"), "true or false", scaleToZero);
    if (!scaleToZero && minReplicas < 1) {
        throw new ArgumentError(
            key("scaleToZero"),
            "true, or false with minReplicas >= 1 (with minReplicas 0 KEDA scales to zero anyway)",
            scaleToZero,
        );
    }
    const requestedMax = wholeNumber(s.maxReplicas, key("maxReplicas"), 1, 5);
    if (minReplicas > requestedMax) {
        throw new ArgumentError(key("minReplicas"), `at most maxReplicas (${requestedMax})`, minReplicas);
    }
    const pollingInterval = wholeNumber(s.pollingInterval, key("pollingInterval"), 1, 30);
    const cooldownPeriod = wholeNumber(s.cooldownPeriod, key("cooldownPeriod"), 0, 300);
    const fallback = s.fallback ?? { failureThreshold: 3, replicas: 1 };
    wholeNumber(fallback.failureThreshold, key("fallback.failureThreshold"), 1, 3);
    wholeNumber(fallback.replicas, key("fallback.replicas"), 0, 1);

    const requests = s.requests ?? { cpu: "500m", memory: "512Mi" };
    const cpu = parseCpu(requests.cpu);
    const memory = parseMemory(requests.memory);
    if (!cpu)
        throw new ArgumentError(key("requests.cpu"), 'a positive CPU quantity like "500m"', requests.cpu);
    if (!memory)
        throw new ArgumentError(
            key("requests.memory"),
            'a positive memory quantity like "512Mi"',
            requests.memory,
        );
    const limits = s.limits ?? { memory: "1Gi" };
    const limitMemory = parseMemory(limits.memory);
    if (!limitMemory)
        throw new ArgumentError(key("limits.memory"), 'a memory quantity like "1Gi"', limits.memory);
    if (limitMemory < memory) {
        throw new ArgumentError(
            key("limits.memory"),
            `at least requests.memory (${requests.memory})`,
            limits.memory,
        );
    }
    if (limits.cpu !== undefined) {
        const limitCpu = parseCpu(limits.cpu);
        if (!limitCpu || limitCpu < cpu) {
            throw new ArgumentError(
                key("limits.cpu"),
                `a CPU quantity of at least requests.cpu (${requests.cpu})`,
                limits.cpu,
            );
        }
    }

    const concurrency = wholeNumber(s.concurrency, key("concurrency"), 1, 1);
    const maxTasksPerChild = wholeNumber(s.maxTasksPerChild, key("maxTasksPerChild"), 1, 5);
    const logLevel = s.logLevel ?? "INFO";
    if (!["DEBUG", "INFO", "WARNING", "ERROR"].includes(logLevel)) {
        throw new ArgumentError(key("logLevel"), "DEBUG, INFO, WARNING or ERROR", logLevel);
    }
    const priority = s.priority ?? "normal";
    if (!(priority in PRIORITY_CLASSES))
        throw new ArgumentError(key("priority"), "low, normal or high", priority);
    const taskTimeoutSeconds = wholeNumber(s.taskTimeoutSeconds, key("taskTimeoutSeconds"), 1, 3600);
    const grace = wholeNumber(
        s.terminationGracePeriodSeconds,
        key("terminationGracePeriodSeconds"),
        1,
        taskTimeoutSeconds,
    );
    if (grace < taskTimeoutSeconds) {
        throw new ArgumentError(
            key("terminationGracePeriodSeconds"),
            `at least taskTimeoutSeconds (${taskTimeoutSeconds}): a shorter grace period kills running tasks, ` +
                "and SWH's early-ack Celery loses them",
            grace,
        );
    }
    const nodeSelector = s.nodeSelector ?? { "swh/loader": "true" };
    checkLabels(nodeSelector, key("nodeSelector"));
    const tolerations = s.tolerations ?? [];
    const statsd = s.statsd ?? DEFAULT_STATSD;
    if (!statsd.host || !Number.isInteger(statsd.port) || statsd.port < 1 || statsd.port > 65535) {
        throw new ArgumentError(key("statsd"), "{ host, port } with a UDP port 1-65535", statsd);
    }

    const request = { cpuMillis: cpu, memoryBytes: memory };
    let maxReplicas = requestedMax;
    let capacity: CapacityPlan | undefined;
    let clampedBecause: string | undefined;
    if (nodes) {
        capacity = capacityPlan(nodes, { nodeSelector, tolerations, request });
        if (capacity.fits === 0) {
            throw new ArgumentError(
                key("requests"),
                `requests that fit on at least one worker host labelled ${JSON.stringify(nodeSelector)}; ` +
                    `none of ${nodes.map((n) => n.name).join(", ") || "(no hosts)"} can hold one replica of ` +
                    `cpu ${requests.cpu} / memory ${requests.memory}`,
            );
        }
        if (requestedMax > capacity.fits) {
            clampedBecause =
                `maxReplicas ${requestedMax} exceeds the ${capacity.fits} replicas of cpu ${requests.cpu} / ` +
                `memory ${requests.memory} the pool's loader hosts hold (` +
                capacity.nodes.map((n) => `${n.name}: ${n.replicas}`).join(", ") +
                ")";
            if ((s.capacityPolicy ?? "clamp") === "fail") {
                throw new ArgumentError(
                    key("maxReplicas"),
                    `at most ${capacity.fits}: ${clampedBecause}`,
                    requestedMax,
                );
            }
            maxReplicas = capacity.fits;
        }
    }
    if (minReplicas > maxReplicas) {
        throw new ArgumentError(
            key("minReplicas"),
            `at most ${maxReplicas}, what the pool holds`,
            minReplicas,
        );
    }
    const fallbackReplicas = Math.min(fallback.replicas, maxReplicas);

    return {
        loader: s.loader,
        baseName,
        namespace,
        createNamespace: s.createNamespace ?? true,
        mode,
        queues: [...s.queues],
        queueThreshold,
        activationThreshold,
        minReplicas,
        scaleToZero,
        maxReplicas,
        requestedMaxReplicas: requestedMax,
        pollingInterval,
        cooldownPeriod,
        fallback: { failureThreshold: fallback.failureThreshold, replicas: fallbackReplicas },
        hpaBehavior: s.hpaBehavior ?? DEFAULT_HPA_BEHAVIOR,
        requests,
        request,
        limits,
        concurrency,
        maxTasksPerChild,
        logLevel,
        priorityClassName: PRIORITY_CLASSES[priority].name,
        taskTimeoutSeconds,
        terminationGracePeriodSeconds: grace,
        nodeSelector,
        tolerations,
        workerConfig: s.workerConfig ?? {},
        statsd,
        capacity,
        clampedBecause,
    };
}
