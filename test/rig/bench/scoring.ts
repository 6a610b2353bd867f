/**
 * The scaling benchmark's scoring, from what a run observed: drain time over the capacity-bound optimum, cost in
 * worker-seconds over the work, the pool's slots in use, tasks lost or duplicated. Pure: no I/O, no clock.
 * Times are epoch milliseconds, except task records (epoch seconds, as the workers write them).
 *
 * Cost is counted over one window for every strategy of a profile: from the first publication until the last of
 * them is back at its resting state (zero pods, a CPU HPA's minimum, fixed replicas), so a strategy that stops
 * early is not charged less because another one's horizon was cut short, and one that keeps pods pays for them.
 */
import type { TaskRecord } from "../box/watch";

/** One loader's part of a run. */
export interface Backlog {
    loader: string;
    /** Tasks published to it. */
    tasks: number;
    /** What the pool holds of it (its maxReplicas after the capacity bound). */
    slots: number;
    /** Its tasks' completions. */
    records: TaskRecord[];
    /** Its pods holding a worker (Running, or finishing in their grace period), sampled; every loader of a run
     * is sampled at the same times. */
    pods: PodSample[];
}

/** Pods holding a worker at `at` (epoch ms). */
export interface PodSample {
    at: number;
    pods: number;
}

/** What a run observed. */
export interface Run {
    taskSeconds: number;
    /** When the first tasks were in the queue (the clock's zero). */
    start: number;
    /** When the last tasks were published. */
    lastPublish: number;
    /** When each task was published, by its name (the waits before tasks start). */
    published: Record<string, number>;
    backlogs: Backlog[];
    /** Seconds from the last task's end to every loader at zero; null for a strategy that does not scale to zero. */
    backToZeroS: number | null;
    /** Seconds from `start` until the strategy was back at its resting state (its pods then stay as they are). */
    restS: number;
    /** Workers stopped by a scale-down while a task ran, from `start` to the rest. */
    busyStops: number;
}

/** One loader's part of a run's scores: several loaders sharing a pool must each make progress. */
export interface LoaderScores {
    loader: string;
    tasks: number;
    /** When its first task started, in seconds from the run's start: a starved loader starts late. */
    firstStartS: number;
    waitP95S: number;
    /** Its last task's end over the run's optimum (the shared pool's, every loader's waves). */
    drainOverOptimum: number;
    /** Its own pods' worker-seconds over its own work, over the run's cost window. */
    costOverWork: number;
}

export interface Scores {
    tasks: number;
    /** What the pool holds of each loader (the optimum's waves). */
    slots: Record<string, number>;
    /** The work: tasks x task seconds. */
    workS: number;
    /** The cost window, in seconds from the first publication (the same for every strategy of a profile). */
    horizonS: number;
    timeToFirstWorkerS: number;
    /** 95th percentile of the time from a task's publication to its start (the trickle's target). */
    waitP95S: number;
    drainS: number;
    optimumS: number;
    drainOverOptimum: number;
    workerSeconds: number;
    costOverWork: number;
    /** drain/optimum x cost/work: lower is better; 1 would be the optimum at no idle cost. */
    score: number;
    meanSlotUse: number;
    backToZeroS: number | null;
    /** Busy workers stopped by a scale-down (their task then finishes in the grace period, or is cut off). */
    busyStops: number;
    lost: number;
    duplicated: number;
    /** Each loader's part, in the order of the run's backlogs. */
    loaders: LoaderScores[];
}

export function round(x: number): number {
    return Math.round(x * 100) / 100;
}

/**
 * The capacity-bound optimum drain time, in seconds: each loader's backlog in waves of what the pool holds of it,
 * one loader after the other (they share the pool); a trickle also waits for its last task to arrive and run.
 */
export function optimumSeconds(
    backlogs: { tasks: number; slots: number }[],
    taskSeconds: number,
    lastArrivalS: number,
): number {
    const waves = backlogs.reduce((sum, b) => sum + Math.ceil(b.tasks / b.slots) * taskSeconds, 0);
    return Math.max(waves, lastArrivalS + taskSeconds);
}

/**
 * Worker-seconds from `start` to `horizonEnd`: each sample's pods over the time since the previous sample; past
 * the last sample, its pods to the horizon (fixed replicas never stop).
 */
export function workerSeconds(pods: PodSample[], start: number, horizonEnd: number): number {
    let ms = 0;
    for (let i = 1; i < pods.length; i++) {
        if (pods[i].at >= start) ms += pods[i].pods * (pods[i].at - pods[i - 1].at);
    }
    const last = pods[pods.length - 1];
    if (last && last.at < horizonEnd) ms += last.pods * (horizonEnd - last.at);
    return ms / 1000;
}

/** Every loader's pods at each sample time (the loaders of a run are sampled together). */
export function totalPods(backlogs: Backlog[]): PodSample[] {
    const [first, ...rest] = backlogs;
    if (!first) return [];
    for (const b of rest)
        if (b.pods.length !== first.pods.length || b.pods.some((p, i) => p.at !== first.pods[i].at))
            throw new Error(`${b.loader}'s pods were not sampled with ${first.loader}'s`);
    return first.pods.map((p, i) => ({ at: p.at, pods: backlogs.reduce((n, b) => n + b.pods[i].pods, 0) }));
}

/** Tasks running at `at`. */
export function busyAt(records: TaskRecord[], at: number): number {
    const s = at / 1000;
    return records.filter((r) => r.started <= s && s < r.finished).length;
}

/**
 * Mean use of the pool's slots at the sample times from `start` to `drainedAt`: at each, the sum over loaders of
 * busy workers over what the pool holds of that loader.
 */
export function meanSlotUse(
    times: number[],
    backlogs: Pick<Backlog, "slots" | "records">[],
    start: number,
    drainedAt: number,
): number {
    const during = times.filter((t) => t >= start && t <= drainedAt);
    if (during.length === 0) return 0;
    const use = (t: number) => backlogs.reduce((sum, b) => sum + busyAt(b.records, t) / b.slots, 0);
    return during.reduce((sum, t) => sum + use(t), 0) / during.length;
}

/** The nearest-rank percentile `p` (0-100) of `values`; 0 when there are none. */
export function percentile(values: number[], p: number): number {
    if (values.length === 0) return 0;
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Seconds from each task's publication to its first start (a task run twice waited until the first). */
export function waits(records: TaskRecord[], published: Record<string, number>): number[] {
    const firstStart = new Map<string, number>();
    for (const r of records) firstStart.set(r.task, Math.min(r.started, firstStart.get(r.task) ?? Infinity));
    return [...firstStart].map(([task, started]) => {
        const at = published[task];
        if (at === undefined) throw new Error(`task ${task} ran but its publication was not recorded`);
        return Math.max(0, started - at / 1000);
    });
}

/** Tasks published but never recorded, and recorded more than once. */
export function lostAndDuplicated(tasks: number, ids: string[]): { lost: number; duplicated: number } {
    const unique = new Set(ids).size;
    return { lost: tasks - unique, duplicated: ids.length - unique };
}

/** The cost window of a profile's runs: until the last of them is back at rest, and at least each one's drain. */
export function commonHorizonS(runs: Run[]): number {
    return Math.max(
        ...runs.map((r) =>
            Math.max(
                r.restS,
                ...r.backlogs.flatMap((b) => b.records.map((x) => x.finished - r.start / 1000)),
            ),
        ),
    );
}

/**
 * What a run's tasks, or one loader's, show (unrounded): when the first started (a warm worker's counts from the
 * publication), the waits' p95, the drain, and the pods' worker-seconds over the cost window.
 */
function part(run: Run, records: TaskRecord[], pods: PodSample[], horizonEnd: number) {
    const drainedAt = Math.max(...records.map((r) => r.finished)) * 1000;
    return {
        firstStartS: Math.max(0, Math.min(...records.map((r) => r.started)) - run.start / 1000),
        waitP95S: percentile(waits(records, run.published), 95),
        drainedAt,
        drainS: (drainedAt - run.start) / 1000,
        workerSeconds: workerSeconds(pods, run.start, horizonEnd),
    };
}

/** Each loader's part: its first start, waits, drain over the shared optimum and cost over its own work. */
function loaderScores(run: Run, optimum: number, horizonEnd: number): LoaderScores[] {
    return run.backlogs.map((b) => {
        if (b.records.length === 0) throw new Error(`no task of ${b.loader} was recorded: it starved`);
        const p = part(run, b.records, b.pods, horizonEnd);
        return {
            loader: b.loader,
            tasks: b.tasks,
            firstStartS: round(p.firstStartS),
            waitP95S: round(p.waitP95S),
            drainOverOptimum: round(p.drainS / optimum),
            costOverWork: round(p.workerSeconds / (b.tasks * run.taskSeconds)),
        };
    });
}

/** Scores a run, its cost over `horizonS` seconds from its start (default: until it was back at rest). */
export function scoreRun(run: Run, horizonS = commonHorizonS([run])): Scores {
    const records = run.backlogs.flatMap((b) => b.records);
    if (records.length === 0) throw new Error("no task was recorded: nothing to score");
    const tasks = run.backlogs.reduce((n, b) => n + b.tasks, 0);
    const work = tasks * run.taskSeconds;
    const optimum = optimumSeconds(run.backlogs, run.taskSeconds, (run.lastPublish - run.start) / 1000);
    const pods = totalPods(run.backlogs);
    const horizonEnd = run.start + horizonS * 1000;
    const {
        firstStartS,
        waitP95S,
        drainedAt,
        drainS: drain,
        workerSeconds: cost,
    } = part(run, records, pods, horizonEnd);
    return {
        tasks,
        slots: Object.fromEntries(run.backlogs.map((b) => [b.loader, b.slots])),
        workS: work,
        horizonS: round(horizonS),
        // First worker = when the first task starts (a warm replica counts from the publication).
        timeToFirstWorkerS: round(firstStartS),
        waitP95S: round(waitP95S),
        drainS: round(drain),
        optimumS: optimum,
        drainOverOptimum: round(drain / optimum),
        workerSeconds: round(cost),
        costOverWork: round(cost / work),
        score: round((drain / optimum) * (cost / work)),
        meanSlotUse: round(
            meanSlotUse(
                pods.map((p) => p.at),
                run.backlogs,
                run.start,
                drainedAt,
            ),
        ),
        backToZeroS: run.backToZeroS === null ? null : round(run.backToZeroS),
        busyStops: run.busyStops,
        ...lostAndDuplicated(
            tasks,
            records.map((r) => r.task),
        ),
        loaders: loaderScores(run, optimum, horizonEnd),
    };
}

/** One row of the results. */
export interface Result extends Scores {
    profile: string;
    strategy: string;
}

/** `rows` under `columns`' headings, each column as wide as its widest cell. */
function textTable<T>(columns: [string, (r: T) => unknown][], rows: T[]): string {
    const head = columns.map(([h]) => h);
    const cells = rows.map((r) => columns.map(([, f]) => String(f(r))));
    const widths = head.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
    const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i])).join("  ");
    return [line(head), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

/** The results as a plain-text table. */
export function table(results: Result[]): string {
    const columns: [string, (r: Result) => unknown][] = [
        ["profile", (r) => r.profile],
        ["strategy", (r) => r.strategy],
        ["N", (r) => r.tasks],
        [
            "slots",
            (r) =>
                Object.entries(r.slots)
                    .map(([l, n]) => (Object.keys(r.slots).length > 1 ? `${l} ${n}` : String(n)))
                    .join(", "),
        ],
        ["window s", (r) => r.horizonS],
        ["first worker s", (r) => r.timeToFirstWorkerS],
        ["wait p95 s", (r) => r.waitP95S],
        ["drain s", (r) => r.drainS],
        ["optimum s", (r) => r.optimumS],
        ["drain/opt", (r) => r.drainOverOptimum],
        ["worker-s", (r) => r.workerSeconds],
        ["cost/work", (r) => r.costOverWork],
        ["score", (r) => r.score],
        ["slot use", (r) => r.meanSlotUse],
        ["to zero s", (r) => r.backToZeroS ?? "never"],
        ["busy stops", (r) => r.busyStops],
        ["lost", (r) => r.lost],
        ["dup", (r) => r.duplicated],
    ];
    return textTable(columns, results);
}

/** Each loader's part of the runs of several loaders (none: ""): whether each made progress, and at what cost. */
export function loaderTable(results: Result[]): string {
    const rows = results
        .filter((r) => r.loaders.length > 1)
        .flatMap((r) => r.loaders.map((l) => ({ profile: r.profile, strategy: r.strategy, ...l })));
    if (rows.length === 0) return "";
    return textTable<(typeof rows)[number]>(
        [
            ["profile", (r) => r.profile],
            ["strategy", (r) => r.strategy],
            ["loader", (r) => r.loader],
            ["N", (r) => r.tasks],
            ["first start s", (r) => r.firstStartS],
            ["wait p95 s", (r) => r.waitP95S],
            ["drain/opt", (r) => r.drainOverOptimum],
            ["cost/work", (r) => r.costOverWork],
        ],
        rows,
    );
}
