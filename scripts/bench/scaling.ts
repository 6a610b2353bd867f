/**
 * npm run bench:scaling [-- --only burst,trickle,two-loaders] [-- --strategies project,fixed]
 *
 * Backlog profiles run in the box (scripts/box) under each scaling strategy, deployed by the real engine:
 *   project  this project's configuration (Pulumi.box.yaml with the component defaults for HPA behaviour)
 *   fixed    replicas fixed at the max (minReplicas = maxReplicas, no scale to zero)
 *   cpu-hpa  a CPU-based HPA: not runnable here (see NOT_RUN below), reported as such
 * Per run: time to first worker, drain time over the capacity-bound optimum (ceil(N / slots) x task time),
 * worker-seconds over N x task time, mean use of the pool's slots while a backlog exists, time back to zero,
 * tasks lost or duplicated. Prints a table and writes .state/bench/scaling.json.
 */
import * as fs from "fs";
import * as path from "path";
import { Box, boxUp } from "../box/box";
import { poolNodes } from "../box/nodes";
import {
    BOX_STACK_FILE,
    BoxLoader,
    boxLoaders,
    declareQueues,
    deployBoxStack,
    loaderFits,
    publish,
    purgeQueues,
} from "../box/stack";
import { Sample, Sampler, TaskRecord, replicaState, taskRecords } from "../box/watch";
import { STATE } from "../engine/env";
import * as YAML from "yaml";

const TASK_SECONDS = 20;

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
        what: `1 task of ${TASK_SECONDS}s every 4s for 120s (git)`,
        publications: Array.from({ length: 30 }, (_, i) => ({ loader: "git", at: i * 4, count: 1 })),
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

type Strategy = "project" | "fixed" | "cpu-hpa";

const NOT_RUN: Partial<Record<Strategy, string>> = {
    "cpu-hpa":
        "needs the resource metrics API (metrics-server scraping kubelets); the box's kwok nodes have no kubelet " +
        "and no metrics pipeline was built here. The loaders' tasks are I/O-bound (this box's tasks sleep), so a CPU " +
        "target would see idle workers whatever the backlog",
};

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
    meanSlotUse?: number;
    backToZeroS?: number | null;
    lost?: number;
    duplicated?: number;
    notRun?: string;
}

const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

async function waitFor<T>(what: string, seconds: number, f: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
        const v = await f();
        if (v !== undefined) return v;
        await sleep(1);
    }
    throw new Error(`bench: timed out after ${seconds}s waiting for ${what}`);
}

/** The loaders' config for a strategy (the stack's `loaders` key). */
function loadersConfig(strategy: Strategy, fits: Record<string, number>): unknown[] {
    const doc = YAML.parse(fs.readFileSync(BOX_STACK_FILE, "utf8")) as { config: Record<string, unknown> };
    const loaders = doc.config["elastic-workers:loaders"] as Record<string, unknown>[];
    return loaders.map((l) =>
        strategy === "fixed"
            ? {
                  ...l,
                  minReplicas: fits[l.loader as string],
                  maxReplicas: fits[l.loader as string],
                  scaleToZero: false,
              }
            : l,
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
    if (NOT_RUN[strategy]) return { ...base, notRun: NOT_RUN[strategy] };

    console.log(`\n== ${profile.name} (${profile.what}) under ${strategy}`);
    const queues = loaders.flatMap((l) => l.queues);
    purgeQueues(box, queues);
    await deployBoxStack(box, loadersConfig(strategy, fits));
    // Start from the strategy's resting state: no pods (scaled to zero) or all fixed replicas Running.
    for (const l of loaders) {
        const want = strategy === "fixed" ? fits[l.loader] : 0;
        await waitFor(`${l.loader} at rest (${want} Running)`, 300, async () => {
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
    const records = await waitFor(`${tasks} tasks done`, 900, async () => {
        const r = taskRecords(box.taskRecord, `${prefix}-`);
        return new Set(r.map((x) => x.task)).size >= tasks ? r : undefined;
    });
    const drainedAt = Math.max(...records.map((r) => r.finished)) * 1000;
    let backToZero: number | null = null;
    if (strategy !== "fixed") {
        const cooldown = Math.max(...involved.map((l) => l.cooldownPeriod));
        await waitFor("back to zero", cooldown + 300, async () => {
            for (const l of involved) {
                const s = await replicaState(box.kube, l.namespace, `loader-${l.loader}`);
                if (s.desired + s.running + s.terminating + s.pending > 0) return undefined;
            }
            return true;
        });
        backToZero = (Date.now() - drainedAt) / 1000;
    } else {
        // Fixed replicas keep paying after the drain: observe as long as a scaled run's cooldown would take.
        await sleep(Math.max(...involved.map((l) => l.cooldownPeriod)));
    }
    const samples = await sampler.stop();
    const t = (s: Sample) => sampler.started + s.t;
    const firstRunning = samples.find((s) =>
        involved.some((l) => s.loaders[l.loader].running > 0 && t(s) >= start),
    );
    // Worker-seconds: every pod holding a worker (Running or finishing in its grace period), sample by sample.
    let workerSeconds = 0;
    for (let i = 1; i < samples.length; i++) {
        if (t(samples[i]) < start) continue;
        const pods = involved.reduce(
            (s, l) => s + samples[i].loaders[l.loader].running + samples[i].loaders[l.loader].terminating,
            0,
        );
        workerSeconds += (pods * (samples[i].t - samples[i - 1].t)) / 1000;
    }
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
    // Capacity bound: each loader's backlog in waves of what the pool holds (one loader after the other); a
    // trickle's optimum also waits for its last task to arrive.
    const waves = involved.reduce((sum, l) => {
        const n = profile.publications.filter((p) => p.loader === l.loader).reduce((c, p) => c + p.count, 0);
        return sum + Math.ceil(n / fits[l.loader]) * TASK_SECONDS;
    }, 0);
    const optimum = Math.max(waves, (lastPublish - start) / 1000 + TASK_SECONDS);
    const drain = (drainedAt - start) / 1000;
    return {
        ...base,
        timeToFirstWorkerS:
            firstRunning && strategy !== "fixed"
                ? round(firstRunning.t / 1000 - (start - sampler.started) / 1000)
                : 0,
        drainS: round(drain),
        optimumS: optimum,
        drainOverOptimum: round(drain / optimum),
        workerSeconds: round(workerSeconds),
        costOverWork: round(workerSeconds / (tasks * TASK_SECONDS)),
        meanSlotUse: round(meanSlotUse),
        backToZeroS: backToZero === null ? null : round(backToZero),
        lost: tasks - new Set(ids).size,
        duplicated: ids.length - new Set(ids).size,
    };
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
        "slot use",
        "to zero s",
        "lost",
        "dup",
    ];
    const rows = results.map((r) =>
        r.notRun
            ? [
                  r.profile,
                  r.strategy,
                  String(r.tasks),
                  String(r.slots),
                  "not run: see JSON",
                  "",
                  "",
                  "",
                  "",
                  "",
                  "",
                  "",
                  "",
                  "",
              ]
            : [
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
                  r.meanSlotUse,
                  r.backToZeroS ?? "-",
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
    const box = await boxUp(poolNodes(BOX_STACK_FILE));
    const loaders = boxLoaders();
    declareQueues(
        box,
        loaders.flatMap((l) => l.queues),
    );
    await deployBoxStack(box);
    const fits = await loaderFits(box);
    const results: Result[] = [];
    const total = profiles.length * strategies.length;
    for (const profile of profiles) {
        for (const strategy of strategies) {
            console.log(`\n[${results.length + 1}/${total}] ${profile.name} / ${strategy}`);
            results.push(await runOne(box, profile, strategy, loaders, fits));
        }
    }
    // Leave the box as the stack file says.
    await deployBoxStack(box);
    box.kube.close();
    const out = path.join(STATE, "bench", "scaling.json");
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(
        out,
        JSON.stringify(
            {
                date: new Date().toISOString(),
                taskSeconds: TASK_SECONDS,
                profiles: PROFILES.map((p) => ({ name: p.name, what: p.what })),
                results,
            },
            null,
            2,
        ),
    );
    console.log(`\n${table(results)}\n\nJSON: ${path.relative(process.cwd(), out)}`);
    for (const r of results.filter((x) => x.notRun)) console.log(`${r.strategy} not run: ${r.notRun}`);
}

main().catch((e: Error) => {
    console.error(`bench: ${e.message}`);
    process.exit(1);
});
