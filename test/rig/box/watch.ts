/**
 * What the tests and the benchmark observe in the box: replicas and pod phases per loader, what each node's
 * bound pods request against its allocatable, and the tasks the workers recorded.
 */
import * as fs from "fs";
import { parseCpu, parseMemory } from "../../../components/common/quantity";
import { POD_DELETION_COST } from "../../../components/keda-scaled-loader/manifests";
import { Kube, KubeObject } from "./kube";

export interface ReplicaState {
    /** The Deployment's spec.replicas (what KEDA/the HPA asked for). */
    desired: number;
    /** Pods Running and not being deleted: each has a Celery worker. */
    running: number;
    /** Pods not (yet) placed by the scheduler. */
    pending: number;
    /** Pods deleted whose worker is still finishing (the grace period). */
    terminating: number;
}

/** The pods of a loader's Deployment (its `app.kubernetes.io/name` label). */
function loaderPods(kube: Kube, namespace: string, deployment: string): Promise<KubeObject[]> {
    return kube.list(
        `/api/v1/namespaces/${namespace}/pods?labelSelector=app.kubernetes.io%2Fname%3D${deployment}`,
    );
}

export async function replicaState(kube: Kube, namespace: string, deployment: string): Promise<ReplicaState> {
    const d = await kube.find(`/apis/apps/v1/namespaces/${namespace}/deployments/${deployment}`);
    return { desired: d?.spec?.replicas ?? 0, ...podCounts(await loaderPods(kube, namespace, deployment)) };
}

export function podCounts(pods: KubeObject[]): Omit<ReplicaState, "desired"> {
    let running = 0;
    let pending = 0;
    let terminating = 0;
    for (const p of pods) {
        if (p.metadata.deletionTimestamp) terminating++;
        else if (p.status?.phase === "Running") running++;
        else if (!p.spec.nodeName) pending++;
    }
    return { running, pending, terminating };
}

export interface NodeLoad {
    node: string;
    cpuMillis: number;
    memoryBytes: number;
    allocatableCpuMillis: number;
    allocatableMemoryBytes: number;
}

/** Requests of the pods bound to each node (terminating ones included: they still hold their share). */
export async function nodeLoads(kube: Kube): Promise<NodeLoad[]> {
    const nodes = await kube.list("/api/v1/nodes");
    const pods = await kube.list("/api/v1/pods");
    return nodes.map((n) => {
        const bound = pods.filter((p) => p.spec.nodeName === n.metadata.name);
        const sum = (f: (q: string) => number | undefined, res: "cpu" | "memory") =>
            bound.reduce(
                (acc, p) =>
                    acc +
                    (p.spec.containers as KubeObject[]).reduce(
                        (a, c) => a + (f(c.resources?.requests?.[res] ?? "0") ?? 0),
                        0,
                    ),
                0,
            );
        return {
            node: n.metadata.name,
            cpuMillis: sum(parseCpu, "cpu"),
            memoryBytes: sum(parseMemory, "memory"),
            allocatableCpuMillis: parseCpu(n.status.allocatable.cpu) ?? 0,
            allocatableMemoryBytes: parseMemory(n.status.allocatable.memory) ?? 0,
        };
    });
}

export function overcommitted(loads: NodeLoad[]): NodeLoad[] {
    return loads.filter(
        (l) => l.cpuMillis > l.allocatableCpuMillis || l.memoryBytes > l.allocatableMemoryBytes,
    );
}

export interface TaskRecord {
    task: string;
    pod: string;
    started: number;
    finished: number;
}

/** Task completions recorded by the workers, optionally only those whose name starts with `prefix`. */
export function taskRecords(file: string, prefix = ""): TaskRecord[] {
    return jsonLines<TaskRecord>(file).filter((r) => r.task.startsWith(prefix));
}

/** One line of the bridge's TERMINATIONS: a worker stopped because its pod was deleted. */
export interface Termination {
    namespace: string;
    pod: string;
    /** A task was running when the stop began. */
    busy: boolean;
    /** Epoch milliseconds. */
    at: number;
    /** "graceful" (SIGTERM, then the grace period) or "lost" (the pod vanished: SIGKILL at once). */
    how: "graceful" | "lost";
}

/** JSON lines of `file`, oldest first (none when it does not exist). */
function jsonLines<T>(file: string): T[] {
    if (!fs.existsSync(file)) return [];
    return fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as T);
}

/** The workers the bridge stopped since `since` (epoch ms), in `namespace` when given. */
export function terminations(file: string, since: number, namespace?: string): Termination[] {
    return jsonLines<Termination>(file).filter(
        (t) => t.at >= since && (namespace === undefined || t.namespace === namespace),
    );
}

/** A loader's Running pods whose worker marked them busy (pod-deletion-cost 1, images/loader). */
export async function busyPods(kube: Kube, namespace: string, deployment: string): Promise<KubeObject[]> {
    return (await loaderPods(kube, namespace, deployment)).filter(
        (p) => !p.metadata.deletionTimestamp && p.metadata.annotations?.[POD_DELETION_COST] === "1",
    );
}

/** A scaled object's status conditions, by type (Ready, Active, Fallback). */
export async function scaledObjectConditions(
    kube: Kube,
    namespace: string,
    name: string,
): Promise<Record<string, string>> {
    const so = await kube.find(`/apis/keda.sh/v1alpha1/namespaces/${namespace}/scaledobjects/${name}`);
    return Object.fromEntries(
        ((so?.status?.conditions ?? []) as { type: string; status: string }[]).map((c) => [c.type, c.status]),
    );
}

export interface Sample {
    /** Milliseconds since the sampler started. */
    t: number;
    loaders: Record<string, ReplicaState>;
    loads: NodeLoad[];
}

/** Samples every loader's replicas and every node's load until stopped (bounded by `maxSeconds`). */
export class Sampler {
    readonly samples: Sample[] = [];
    private stopped = false;
    private readonly done: Promise<void>;
    readonly started = Date.now();

    constructor(
        kube: Kube,
        loaders: { namespace: string; deployment: string; name: string }[],
        intervalMs = 1000,
        maxSeconds = 1800,
    ) {
        this.done = (async () => {
            while (!this.stopped && Date.now() - this.started < maxSeconds * 1000) {
                try {
                    const states: Record<string, ReplicaState> = {};
                    for (const l of loaders)
                        states[l.name] = await replicaState(kube, l.namespace, l.deployment);
                    this.samples.push({
                        t: Date.now() - this.started,
                        loaders: states,
                        loads: await nodeLoads(kube),
                    });
                } catch {
                    // a transient API error (e.g. while RabbitMQ restarts nothing here should fail); next tick
                }
                await new Promise((r) => setTimeout(r, intervalMs));
            }
        })();
    }

    /** Samples where some node's bound pods requested more than its allocatable. */
    overcommits(): { t: number; node: NodeLoad }[] {
        return this.samples.flatMap((s) => overcommitted(s.loads).map((node) => ({ t: s.t, node })));
    }

    async stop(): Promise<Sample[]> {
        this.stopped = true;
        await this.done;
        return this.samples;
    }
}

/** No replicas asked for and no pod left: a loader scaled to zero. */
export function atZero(s: ReplicaState): boolean {
    return s.desired === 0 && s.running + s.pending + s.terminating === 0;
}

// The rig's one poll helper, where the tests and the benchmark import it from.
export { until } from "../supervisor";
