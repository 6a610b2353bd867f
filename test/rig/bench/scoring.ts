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
    /** Pods holding a worker (Running, or finishing in their grace period) over the profile's loaders, sampled. */
    pods: { at: number; pods: number }[];
    /** Seconds from the last task's end to every loader at zero; null for a strategy that does not scale to zero. */
    backToZeroS: number | null;
    /** Seconds from `start` until the strategy was back at its resting state (its pods then stay as they are). */
    restS: number;
    /** Workers stopped by a scale-down while a task ran, from `start` to the rest. */
    busyStops: number;
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
export function workerSeconds(
    pods: { at: number; pods: number }[],
    start: number,
    horizonEnd: number,
): number {
    let ms = 0;
    for (let i = 1; i < pods.length; i++) {
        if (pods[i].at >= start) ms += pods[i].pods * (pods[i].at - pods[i - 1].at);
    }
    const last = pods[pods.length - 1];
    if (last && last.at < horizonEnd) ms += last.pods * (horizonEnd - last.at);
    return ms / 1000;
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
export function meanSlotUse(times: number[], backlogs: Backlog[], start: number, drainedAt: number): number {
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

/** Scores a run, its cost over `horizonS` seconds from its start (default: until it was back at rest). */
export function scoreRun(run: Run, horizonS = commonHorizonS([run])): Scores {
    const records = run.backlogs.flatMap((b) => b.records);
    if (records.length === 0) throw new Error("no task was recorded: nothing to score");
    const tasks = run.backlogs.reduce((n, b) => n + b.tasks, 0);
    const work = tasks * run.taskSeconds;
    const optimum = optimumSeconds(run.backlogs, run.taskSeconds, (run.lastPublish - run.start) / 1000);
    const drainedAt = Math.max(...records.map((r) => r.finished)) * 1000;
    const drain = (drainedAt - run.start) / 1000;
    const cost = workerSeconds(run.pods, run.start, run.start + horizonS * 1000);
    return {
        tasks,
        slots: Object.fromEntries(run.backlogs.map((b) => [b.loader, b.slots])),
        workS: work,
        horizonS: round(horizonS),
        // First worker = when the first task starts (a warm replica counts from the publication).
        timeToFirstWorkerS: round(Math.max(0, Math.min(...records.map((r) => r.started)) - run.start / 1000)),
        waitP95S: round(percentile(waits(records, run.published), 95)),
        drainS: round(drain),
        optimumS: optimum,
        drainOverOptimum: round(drain / optimum),
        workerSeconds: round(cost),
        costOverWork: round(cost / work),
        score: round((drain / optimum) * (cost / work)),
        meanSlotUse: round(
            meanSlotUse(
                run.pods.map((p) => p.at),
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
    };
}

/** One row of the results. */
export interface Result extends Scores {
    profile: string;
    strategy: string;
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
    const head = columns.map(([h]) => h);
    const rows = results.map((r) => columns.map(([, f]) => String(f(r))));
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ");
    return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
