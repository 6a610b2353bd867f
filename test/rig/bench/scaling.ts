/**
 * npm run bench:scaling [-- --only burst,trickle,two-loaders] [--strategies project,fast-up,cpu-hpa,fixed]
 *
 * Backlog profiles run in the box (test/rig/box) under each scaling strategy, deployed by the real engine:
 *   project  this project's configuration (Pulumi.box.yaml with the component defaults for HPA behaviour)
 *   fast-up  the same with a rejected tuning candidate (FAST_UP_HPA_BEHAVIOR), not run unless asked for
 *   fixed    replicas fixed at the max (minReplicas = maxReplicas, no scale to zero)
 *   cpu-hpa  a plain CPU-based HPA (autoscaling/v2, 80 % of the CPU request, min 1, Kubernetes' default
 *            behaviour) instead of the ScaledObject: the real HPA and metrics-server; kwok reports each pod's CPU
 *            from its worker's state (busy: its request, idle: 1m), see test/rig/box/bridge.ts
 * Per run: time to first worker, drain time over the capacity-bound optimum (ceil(N / slots) x task time),
 * worker-seconds over N x task time, mean use of the pool's slots while a backlog exists, time back to zero,
 * tasks lost or duplicated. Prints a table and writes .state/bench/scaling.json.
 */
import * as fs from "fs";
import { DEFAULT_HPA_BEHAVIOR } from "../../../components/keda-scaled-loader/plan";
import * as path from "path";
import { Box } from "../box/box";
import { BOX_STACK_FILE, BoxLoader, boxWithStack, deployBoxStack, publish, purgeQueues } from "../box/stack";
import { Sample, Sampler, TaskRecord, atZero, replicaState, taskRecords, until } from "../box/watch";
import { STATE } from "../engine/env";
import * as YAML from "yaml";

const TASK_SECONDS = 15;

interface Publication {
    loader: string;
    /** Seconds after the run's start. */
    at: number;
    count: number;
}

interface Profile {
    name: string;
    what: string;
    publications: Publication[];
}

const PROFILES: Profile[] = [
    {
        name: "burst",
        what: `40 tasks of ${TASK_SECONDS}s at once (git)`,
        publications: [{ loader: "git", at: 0, count: 40 }],
    },
    {
        name: "trickle",
        what: `1 task of ${TASK_SECONDS}s every 3s for 90s (git)`,
        publications: Array.from({ length: 30 }, (_, i) => ({ loader: "git", at: i * 3, count: 1 })),
    },
    {
        name: "two-loaders",
        what: `30 git and 12 svn tasks of ${TASK_SECONDS}s at once, one pool`,
        publications: [
            { loader: "svn", at: 0, count: 12 },
            { loader: "git", at: 0, count: 30 },
        ],
    },
];

type Strategy = "project" | "fast-up" | "fixed" | "cpu-hpa";

/**
 * A tuning candidate the benchmark rejected, kept to re-run the comparison: scale up to the queue's target in
 * one HPA sync (the defaults allow 4 pods per 15 s), the default scale-down.
 */
const FAST_UP_HPA_BEHAVIOR = {
    ...DEFAULT_HPA_BEHAVIOR,
    scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: "Pods", value: 100, periodSeconds: 15 }] },
};

/** Cost horizon, in optimum drain times: what every strategy pays for, idle or not. */
const HORIZON = 2;

/** The CPU-based HPA's target: a common choice, and what SWH's earlier charts would have used. */
const CPU_TARGET_PERCENT = 80;

interface Result {
    profile: string;
    strategy: Strategy;
    tasks: number;
    slots: number;
    timeToFirstWorkerS?: number;
    drainS?: number;
    optimumS?: number;
    drainOverOptimum?: number;
    workerSeconds?: number;
    costOverWork?: number;
    /** drain/optimum x cost/work: lower is better; 1 would be the optimum at no idle cost. */
    score?: number;
    meanSlotUse?: number;
    backToZeroS?: number | null;
    lost?: number;
    duplicated?: number;
}

const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

/**
 * Fixed replicas "at the max": each loader's share of the pool. Alone, all it holds; n loaders sharing it get
 * 1/n of it each (both at their full max would leave one Pending for good).
 */
function fixedReplicas(l: string, fits: Record<string, number>, involved: string[]): number {
    return Math.max(1, Math.floor(fits[l] / involved.length));
}

/** The loaders' config for a strategy (the stack's `loaders` key), changing only the profile's loaders. */
function loadersConfig(strategy: Strategy, fits: Record<string, number>, involved: string[]): unknown[] {
    const doc = YAML.parse(fs.readFileSync(BOX_STACK_FILE, "utf8")) as { config: Record<string, unknown> };
    const loaders = doc.config["elastic-workers:loaders"] as Record<string, unknown>[];
    return loaders.map((l) => {
        const name = l.loader as string;
        if (!involved.includes(name)) return l;
        if (strategy === "fixed") {
            const n = fixedReplicas(name, fits, involved);
            return { ...l, minReplicas: n, maxReplicas: n, scaleToZero: false };
        }
        if (strategy === "fast-up") return { ...l, hpaBehavior: FAST_UP_HPA_BEHAVIOR };
        // One warm replica (a CPU HPA cannot scale from zero); its ScaledObject is then replaced.
        if (strategy === "cpu-hpa") return { ...l, minReplicas: 1, scaleToZero: false };
        return l;
    });
}

/**
 * Swaps a loader's ScaledObject for a CPU-based HPA on its Deployment. The next `pulumi up --refresh` puts the
 * ScaledObject back (and the HPA is deleted after the run).
 */
async function useCpuHpa(box: Box, l: BoxLoader, max: number): Promise<void> {
    const ns = l.namespace;
    await box.kube.delete(`/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects/loader-${l.loader}`);
    await until("KEDA to remove its HPA", 60, async () =>
        (await box.kube.find(
            `/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers/keda-hpa-loader-${l.loader}`,
        ))
            ? undefined
            : true,
    );
    await box.kube.ensure(`/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers`, {
        metadata: { name: `cpu-hpa-loader-${l.loader}`, namespace: ns },
        spec: {
            scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: `loader-${l.loader}` },
            minReplicas: 1,
            maxReplicas: max,
            metrics: [
                {
                    type: "Resource",
                    resource: {
                        name: "cpu",
                        target: { type: "Utilization", averageUtilization: CPU_TARGET_PERCENT },
                    },
                },
            ],
        },
    });
}

async function dropCpuHpa(box: Box, l: BoxLoader): Promise<void> {
    await box.kube.delete(
        `/apis/autoscaling/v2/namespaces/${l.namespace}/horizontalpodautoscalers/cpu-hpa-loader-${l.loader}`,
    );
}

/** Busy workers over time from the task records: the number of tasks running at `t` (ms epoch). */
function busyAt(records: TaskRecord[], t: number): number {
    const s = t / 1000;
    return records.filter((r) => r.started <= s && s < r.finished).length;
}

async function runOne(
    box: Box,
    profile: Profile,
    strategy: Strategy,
    loaders: BoxLoader[],
    fits: Record<string, number>,
): Promise<Result> {
    const involved = loaders.filter((l) => profile.publications.some((p) => p.loader === l.loader));
    const tasks = profile.publications.reduce((s, p) => s + p.count, 0);
    // Slots: what the pool holds of the loader. Two loaders split one pool: slot use is the sum of each one's
    // busy workers over what the pool holds of it, and the optimum runs their backlogs one after the other.
    const slots = Math.min(...involved.map((l) => fits[l.loader]));
    const base: Result = { profile: profile.name, strategy, tasks, slots };

    console.log(`\n== ${profile.name} (${profile.what}) under ${strategy}`);
    const queues = loaders.flatMap((l) => l.queues);
    purgeQueues(box, queues);
    // A CPU HPA left by an interrupted run would hold its loader at one replica.
    for (const l of loaders) await dropCpuHpa(box, l);
    await deployBoxStack(
        loadersConfig(
            strategy,
            fits,
            involved.map((l) => l.loader),
        ),
    );
    if (strategy === "cpu-hpa") {
        for (const l of involved) await useCpuHpa(box, l, fits[l.loader]);
    }
    // Start from the strategy's resting state: no pods (scaled to zero), or the fixed replicas all created
    // (two fixed loaders may not fit the pool together: the rest waits Pending, as it would in production).
    for (const l of loaders) {
        const mine = involved.includes(l);
        const want = !mine
            ? 0
            : strategy === "fixed"
              ? fixedReplicas(
                    l.loader,
                    fits,
                    involved.map((x) => x.loader),
                )
              : strategy === "cpu-hpa"
                ? 1
                : 0;
        await until(`${l.loader} at rest (${want} pods Running)`, 300, async () => {
            const s = await replicaState(box.kube, l.namespace, `loader-${l.loader}`);
            return s.running === want && s.pending + s.terminating === 0 ? s : undefined;
        });
    }
    const prefix = `bench-${profile.name}-${strategy}-${Date.now()}`;
    const sampler = new Sampler(
        box.kube,
        loaders.map((l) => ({ name: l.loader, namespace: l.namespace, deployment: `loader-${l.loader}` })),
        1000,
        1200,
    );
    // The clock starts when the first tasks are in the queue.
    let start = 0;
    const counters: Record<string, number> = {};
    for (const p of [...profile.publications].sort((a, b) => a.at - b.at)) {
        const wait = start + p.at * 1000 - Date.now();
        if (start && wait > 0) await sleep(wait / 1000);
        const l = loaders.find((x) => x.loader === p.loader)!;
        const first = counters[p.loader] ?? 0;
        counters[p.loader] = first + p.count;
        publish(box, l.queues[0], p.count, TASK_SECONDS, `${prefix}-${p.loader}`, first);
        if (!start) start = Date.now();
    }
    const lastPublish = start + Math.max(...profile.publications.map((p) => p.at)) * 1000;
    const records = await until(`${tasks} tasks done`, 900, async () => {
        const r = taskRecords(box.taskRecord, `${prefix}-`);
        return new Set(r.map((x) => x.task)).size >= tasks ? r : undefined;
    });
    const drainedAt = Math.max(...records.map((r) => r.finished)) * 1000;
    let backToZero: number | null = null;
    if (strategy === "project" || strategy === "fast-up") {
        const cooldown = Math.max(...involved.map((l) => l.cooldownPeriod));
        await until("back to zero", cooldown + 300, async () => {
            for (const l of involved) {
                const s = await replicaState(box.kube, l.namespace, `loader-${l.loader}`);
                if (!atZero(s)) return undefined;
            }
            return true;
        });
        backToZero = (Date.now() - drainedAt) / 1000;
    } else {
        // Fixed replicas and a CPU HPA (min 1) keep paying after the drain: observe as long as a scaled run's
        // cooldown would take.
        await sleep(Math.max(...involved.map((l) => l.cooldownPeriod)));
    }
    const samples = await sampler.stop();
    if (strategy === "cpu-hpa") for (const l of involved) await dropCpuHpa(box, l);
    const t = (s: Sample) => sampler.started + s.t;
    // Capacity bound: each loader's backlog in waves of what the pool holds (one loader after the other); a
    // trickle's optimum also waits for its last task to arrive.
    const waves = involved.reduce((sum, l) => {
        const n = profile.publications.filter((p) => p.loader === l.loader).reduce((c, p) => c + p.count, 0);
        return sum + Math.ceil(n / fits[l.loader]) * TASK_SECONDS;
    }, 0);
    const optimum = Math.max(waves, (lastPublish - start) / 1000 + TASK_SECONDS);
    // Cost: worker-seconds of every pod holding a worker (Running, or finishing in its grace period), over the
    // same horizon for every strategy: HORIZON x the optimum from the first publication, or the whole run if
    // longer. After the run, the pods it ended with are counted to the horizon (fixed replicas never stop).
    const podsAt = (x: Sample) =>
        involved.reduce((n, l) => n + x.loaders[l.loader].running + x.loaders[l.loader].terminating, 0);
    let workerSeconds = 0;
    for (let i = 1; i < samples.length; i++) {
        if (t(samples[i]) < start) continue;
        workerSeconds += (podsAt(samples[i]) * (samples[i].t - samples[i - 1].t)) / 1000;
    }
    const runEnd = t(samples[samples.length - 1]);
    const horizonEnd = start + HORIZON * optimum * 1000;
    if (runEnd < horizonEnd)
        workerSeconds += (podsAt(samples[samples.length - 1]) * (horizonEnd - runEnd)) / 1000;
    const backlog = samples.filter((s) => t(s) >= start && t(s) <= drainedAt);
    const poolShare = (at: number) =>
        involved.reduce(
            (sum, l) =>
                sum +
                busyAt(
                    records.filter((r) => r.task.startsWith(`${prefix}-${l.loader}-`)),
                    at,
                ) /
                    fits[l.loader],
            0,
        );
    const meanSlotUse = backlog.length
        ? backlog.reduce((s, x) => s + poolShare(t(x)), 0) / backlog.length
        : 0;
    const ids = records.map((r) => r.task);
    const drain = (drainedAt - start) / 1000;
    return {
        ...base,
        // First worker = when the first task starts (a warm replica counts from the publication).
        timeToFirstWorkerS: round(Math.max(0, Math.min(...records.map((r) => r.started)) - start / 1000)),
        drainS: round(drain),
        optimumS: optimum,
        drainOverOptimum: round(drain / optimum),
        workerSeconds: round(workerSeconds),
        costOverWork: round(workerSeconds / (tasks * TASK_SECONDS)),
        score: round((drain / optimum) * (workerSeconds / (tasks * TASK_SECONDS))),
        meanSlotUse: round(meanSlotUse),
        backToZeroS: backToZero === null ? null : round(backToZero),
        lost: tasks - new Set(ids).size,
        duplicated: ids.length - new Set(ids).size,
    };
}

/** Writes the results so far to .state/bench/scaling.json (after every run: a failed run keeps the others). */
function writeResults(results: Result[]): string {
    const out = path.join(STATE, "bench", "scaling.json");
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const doc = {
        date: new Date().toISOString(),
        taskSeconds: TASK_SECONDS,
        cpuTargetPercent: CPU_TARGET_PERCENT,
        costHorizonOptima: HORIZON,
        profiles: PROFILES.map((p) => ({ name: p.name, what: p.what })),
        results,
    };
    fs.writeFileSync(out, JSON.stringify(doc, null, 2));
    return out;
}

function round(x: number): number {
    return Math.round(x * 100) / 100;
}

function table(results: Result[]): string {
    const head = [
        "profile",
        "strategy",
        "N",
        "slots",
        "first worker s",
        "drain s",
        "optimum s",
        "drain/opt",
        "worker-s",
        "cost/work",
        "score",
        "slot use",
        "to zero s",
        "lost",
        "dup",
    ];
    const rows = results.map((r) =>
        [
            r.profile,
            r.strategy,
            r.tasks,
            r.slots,
            r.timeToFirstWorkerS,
            r.drainS,
            r.optimumS,
            r.drainOverOptimum,
            r.workerSeconds,
            r.costOverWork,
            r.score,
            r.meanSlotUse,
            r.backToZeroS ?? "never",
            r.lost,
            r.duplicated,
        ].map(String),
    );
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ");
    return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

async function main(): Promise<void> {
    const arg = (name: string) => {
        const i = process.argv.indexOf(`--${name}`);
        return i > 0 ? process.argv[i + 1]?.split(",") : undefined;
    };
    const only = arg("only");
    const strategies = (arg("strategies") ?? ["project", "cpu-hpa", "fixed"]) as Strategy[];
    const profiles = PROFILES.filter((p) => !only || only.includes(p.name));
    const { box, loaders, fits } = await boxWithStack({ resourceMetrics: strategies.includes("cpu-hpa") });
    const results: Result[] = [];
    const total = profiles.length * strategies.length;
    for (const profile of profiles) {
        for (const strategy of strategies) {
            console.log(`\n[${results.length + 1}/${total}] ${profile.name} / ${strategy}`);
            results.push(await runOne(box, profile, strategy, loaders, fits));
            writeResults(results);
        }
    }
    // Leave the box as the stack file says.
    await deployBoxStack();
    box.kube.close();
    console.log(`\n${table(results)}\n\nJSON: ${path.relative(process.cwd(), writeResults(results))}`);
}

main().catch((e: Error) => {
    console.error(`bench: ${e.message}`);
    process.exit(1);
});
