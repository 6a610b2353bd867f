import { ArgumentError } from "../common/errors";
import { Resources, parseCpu, parseMemory } from "../common/quantity";
import { parseArgs } from "../common/schema";
import { CapacityPlan, NodeCapacity, TolerationSpec, capacityPlan } from "../worker-node-pool/capacity";
import {
    Delivery,
    FALLBACK_BEHAVIORS,
    HpaBehavior,
    LOADER_SHAPES,
    LoaderSettings,
    LoaderTmp,
    PRIORITY_CLASSES,
    SHUTDOWN_MARGIN_SECONDS,
    loaderSettingsSchema,
} from "./args";
import { OWNED_CELERY_SETTINGS } from "./delivery";

/** Every setting resolved, checked and bounded. */
export interface LoaderPlan {
    loader: string;
    /** `loader-<type>`: Deployment, ScaledObject, and the statsd `deployment` tag. */
    baseName: string;
    namespace: string;
    createNamespace: boolean;
    mode: "deployment" | "job";
    delivery: Delivery;
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
    fallback: { failureThreshold: number; replicas: number; behavior: (typeof FALLBACK_BEHAVIORS)[number] };
    hpaBehavior: HpaBehavior;
    requests: { cpu: string; memory: string };
    request: Resources;
    limits: { cpu?: string; memory: string };
    /** The worker's /tmp emptyDir. */
    tmp: LoaderTmp;
    concurrency: number;
    maxTasksPerChild: number;
    logLevel: string;
    logFormat: "json" | "text";
    priorityClassName: string;
    taskTimeoutSeconds: number;
    terminationGracePeriodSeconds: number;
    consumerTimeoutSeconds: number;
    nodeSelector: Record<string, string>;
    tolerations: TolerationSpec[];
    workerConfig: Record<string, unknown>;
    statsd: { host: string; port: number };
    /** Sentry reporting (the DSN itself is in the broker Secret); undefined when off. */
    sentry?: { environment?: string };
    /** The pods pull their image with the Secret `loader-<type>-registry`. */
    pullSecret?: boolean;
    /** How many replicas the pool holds; undefined when no pool capacity was given. */
    capacity?: CapacityPlan;
    /** Why maxReplicas was lowered, when it was. */
    clampedBecause?: string;
}

/**
 * Resolves, checks and bounds a loader's settings. `nodes` is the pool's capacity (WorkerNodePool.nodes):
 * with it, maxReplicas is bounded by what fits; without it (an existing cluster), maxReplicas is taken as is.
 */
export function planLoader(
    settings: LoaderSettings,
    key: (field: string) => string,
    nodes?: NodeCapacity[],
): LoaderPlan {
    const s = parseArgs(loaderSettingsSchema, settings, key);
    // What no single field can say: the rules between fields.
    const dup = s.queues.find((q, i) => s.queues.indexOf(q) !== i);
    if (dup) throw new ArgumentError(key("queues"), "each queue once", dup);
    if (!s.scaleToZero && s.minReplicas < 1) {
        throw new ArgumentError(
            key("scaleToZero"),
            "true, or false with minReplicas >= 1 (with minReplicas 0 KEDA scales to zero anyway)",
            s.scaleToZero,
        );
    }
    const requestedMax = s.maxReplicas;
    if (s.minReplicas > requestedMax) {
        throw new ArgumentError(key("minReplicas"), `at most maxReplicas (${requestedMax})`, s.minReplicas);
    }
    const shape = s.loader === "git" ? LOADER_SHAPES.git : LOADER_SHAPES.default;
    const { requests } = s;
    const limits: LoaderPlan["limits"] = s.limits ?? shape.limits;
    const cpu = parseCpu(requests.cpu)!;
    const memory = parseMemory(requests.memory)!;
    const tmp = s.tmp ?? defaultTmp(shape.tmp, parseMemory(limits.memory)! - memory);
    if (parseMemory(limits.memory)! < memory) {
        throw new ArgumentError(
            key("limits.memory"),
            `at least requests.memory (${requests.memory})`,
            limits.memory,
        );
    }
    if (limits.cpu !== undefined && parseCpu(limits.cpu)! < cpu) {
        throw new ArgumentError(
            key("limits.cpu"),
            `a CPU quantity of at least requests.cpu (${requests.cpu})`,
            limits.cpu,
        );
    }
    // A memory-backed /tmp is charged to the container's memory: it must leave room for the worker itself.
    if (tmp.medium === "memory" && parseMemory(tmp.sizeLimit)! > parseMemory(limits.memory)! - memory) {
        throw new ArgumentError(
            key("tmp.sizeLimit"),
            `at most limits.memory - requests.memory (${limits.memory} - ${requests.memory}) for a memory-backed ` +
                '/tmp, whose files count against the memory limit; or tmp.medium "disk"',
            tmp.sizeLimit,
        );
    }
    const taskTimeoutSeconds = s.taskTimeoutSeconds;
    const grace = s.terminationGracePeriodSeconds ?? taskTimeoutSeconds + SHUTDOWN_MARGIN_SECONDS;
    if (grace < taskTimeoutSeconds) {
        throw new ArgumentError(
            key("terminationGracePeriodSeconds"),
            `at least taskTimeoutSeconds (${taskTimeoutSeconds}): a shorter grace period kills running tasks ` +
                "(with early ack, they are lost)",
            grace,
        );
    }
    // What one replica runs at once: its processes, or one task for a Job's one-shot worker.
    const perReplica = s.mode === "job" ? 1 : s.concurrency;
    const queueThreshold = s.queueThreshold ?? perReplica;
    if (s.delivery === "at-least-once") {
        if (queueThreshold > perReplica) {
            throw new ArgumentError(
                key("queueThreshold"),
                `at most ${s.mode === "job" ? "1 in job mode (one task per Job)" : `concurrency (${s.concurrency})`} ` +
                    'with delivery "at-least-once": the queue then counts running tasks, and a larger value scales ' +
                    'busy workers down; or delivery "at-most-once" (SWH\'s early ack), e.g. queueThreshold: 10 with ' +
                    "delivery: at-most-once",
                queueThreshold,
            );
        }
        if (taskTimeoutSeconds >= s.consumerTimeoutSeconds) {
            throw new ArgumentError(
                key("taskTimeoutSeconds"),
                `below consumerTimeoutSeconds (${s.consumerTimeoutSeconds}, the broker's consumer_timeout) with ` +
                    'delivery "at-least-once": RabbitMQ delivers a task unacknowledged for longer again. Raise ' +
                    `the broker's consumer_timeout and say so, e.g. consumerTimeoutSeconds: ${taskTimeoutSeconds * 2}`,
                taskTimeoutSeconds,
            );
        }
    }
    const celery = s.workerConfig.celery;
    if (celery !== undefined && (celery === null || typeof celery !== "object" || Array.isArray(celery))) {
        throw new ArgumentError(key("workerConfig.celery"), "a mapping of Celery settings", celery);
    }
    const owned = OWNED_CELERY_SETTINGS.find((k) => celery && k in celery);
    if (owned) {
        throw new ArgumentError(
            key(`workerConfig.celery.${owned}`),
            "unset: the component sets it (delivery, taskTimeoutSeconds, and remote control for the scale-down hand-back)",
            (celery as Record<string, unknown>)[owned],
        );
    }
    const { nodeSelector, tolerations, fallback } = s;
    const leak = credentialIn(s.workerConfig);
    if (leak) {
        throw new ArgumentError(
            key(`workerConfig.${leak}`),
            "no credentials in a URL: workerConfig is plain config, committed in clear (the broker's come from amqpUrl, a secret)",
        );
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
            if (s.capacityPolicy === "fail") {
                throw new ArgumentError(
                    key("maxReplicas"),
                    `at most ${capacity.fits}: ${clampedBecause}`,
                    requestedMax,
                );
            }
            maxReplicas = capacity.fits;
        }
    }
    if (s.minReplicas > maxReplicas) {
        throw new ArgumentError(
            key("minReplicas"),
            `at most ${maxReplicas}, what the pool holds`,
            s.minReplicas,
        );
    }
    const fallbackReplicas = Math.min(fallback.replicas, maxReplicas);

    return {
        loader: s.loader,
        baseName: `loader-${s.loader}`,
        namespace: s.namespace ?? `swh-loader-${s.loader}`,
        createNamespace: s.createNamespace,
        mode: s.mode,
        delivery: s.delivery,
        queues: [...s.queues],
        queueThreshold,
        activationThreshold: s.activationThreshold,
        minReplicas: s.minReplicas,
        scaleToZero: s.scaleToZero,
        maxReplicas,
        requestedMaxReplicas: requestedMax,
        pollingInterval: s.pollingInterval,
        cooldownPeriod: s.cooldownPeriod,
        fallback: { ...fallback, replicas: fallbackReplicas },
        hpaBehavior: s.hpaBehavior,
        requests,
        request,
        limits,
        tmp,
        concurrency: s.concurrency,
        maxTasksPerChild: s.maxTasksPerChild,
        logLevel: s.logLevel,
        logFormat: s.logFormat,
        priorityClassName: PRIORITY_CLASSES[s.priority].name,
        taskTimeoutSeconds,
        terminationGracePeriodSeconds: grace,
        consumerTimeoutSeconds: s.consumerTimeoutSeconds,
        nodeSelector,
        tolerations,
        workerConfig: s.workerConfig,
        statsd: s.statsd,
        capacity,
        clampedBecause,
    };
}

/** The path of the first string in `value` that holds a URL with a password, or undefined. */
function credentialIn(value: unknown, at = ""): string | undefined {
    if (typeof value === "string")
        return /[a-z][a-z0-9+.-]*:\/\/[^\s/:@]*:[^\s/@]+@/i.test(value) ? at : undefined;
    if (value === null || typeof value !== "object") return undefined;
    for (const [k, v] of Object.entries(value)) {
        const found = credentialIn(v, Array.isArray(value) ? `${at}[${k}]` : at ? `${at}.${k}` : k);
        if (found !== undefined) return found;
    }
    return undefined;
}

/**
 * The type's /tmp, a memory-backed one no larger than what the memory limit leaves above the request (its files
 * count against the limit); on disk when that is under 256Mi.
 */
function defaultTmp(shape: LoaderTmp, headroomBytes: number): LoaderTmp {
    if (shape.medium !== "memory" || parseMemory(shape.sizeLimit)! <= headroomBytes) return shape;
    const mib = Math.floor(headroomBytes / 2 ** 20);
    return mib >= 256 ? { medium: "memory", sizeLimit: `${mib}Mi` } : LOADER_SHAPES.default.tmp;
}
