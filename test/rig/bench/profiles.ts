/**
 * What the scaling benchmark runs, as data: the backlog profiles, and the strategies each is run under (how a
 * strategy changes the stack's loaders, where its loaders rest before a run, whether it scales to zero).
 * Everything here is in real time; the runner divides it by the box's time scale (test/rig/box/time-scale.ts).
 */
import { subKey } from "../../../components/common/schema";
import { HpaBehavior } from "../../../components/keda-scaled-loader/args";
import { planLoader } from "../../../components/keda-scaled-loader/plan";
import { CLUSTER_PERIODS, LOADER_SECONDS_KEYS, compressLoader } from "../box/time-scale";

/** Every task lasts this long, in real time: a 5-minute loader visit (SWH's last from minutes to hours). */
export const TASK_REAL_SECONDS = 300;

export interface Publication {
    loader: string;
    /** Real seconds after the run's start. */
    at: number;
    count: number;
}

export interface Profile {
    name: string;
    /** The real-time scenario it stands for. */
    what: string;
    publications: Publication[];
}

/** A duration in real time, as people say it: "5 min", "45 s", "22 min 30 s". */
export function realDuration(seconds: number): string {
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = Math.round(seconds % 60);
    return [h && `${h} h`, m && `${m} min`, s && `${s} s`].filter(Boolean).join(" ") || "0 s";
}

const task = realDuration(TASK_REAL_SECONDS);
/** The trickle: one task every 45 s for 30 tasks. */
const TRICKLE_GAP_S = 45;

export const PROFILES: Profile[] = [
    {
        name: "burst",
        what: `40 git loads of ${task} queued at once`,
        publications: [{ loader: "git", at: 0, count: 40 }],
    },
    {
        name: "trickle",
        what: `a git load of ${task} every ${realDuration(TRICKLE_GAP_S)} for ${realDuration(30 * TRICKLE_GAP_S)}`,
        publications: Array.from({ length: 30 }, (_, i) => ({
            loader: "git",
            at: i * TRICKLE_GAP_S,
            count: 1,
        })),
    },
    {
        name: "two-loaders",
        what: `30 git and 12 svn loads of ${task} queued at once, one pool`,
        publications: [
            { loader: "svn", at: 0, count: 12 },
            { loader: "git", at: 0, count: 30 },
        ],
    },
];

/**
 * What a profile stands for at `timeScale`, to print beside its results: the real-time scenario, the control
 * periods it runs under (the cluster's and the component's defaults, SWH's), and their values in the box.
 */
export function scenario(profile: Profile, timeScale: number): string {
    const d = planLoader({ loader: "bench", queues: ["bench"] }, (field) => field);
    const periods: [string, number][] = [
        ["a task", TASK_REAL_SECONDS],
        ["HPA sync", CLUSTER_PERIODS.hpaSyncSeconds],
        ["KEDA polling", d.pollingInterval],
        ["cooldown", d.cooldownPeriod],
    ];
    const real = periods.map(([what, s]) => `${what} ${realDuration(s)}`).join(", ");
    if (timeScale === 1) return `${profile.what} (real time: ${real})`;
    const box = periods.map(([what, s]) => `${what} ${Math.round((s / timeScale) * 100) / 100} s`).join(", ");
    return `${profile.what} (${real}); in the box at 1/${timeScale}: ${box}`;
}

/**
 * A box stack file's loader in real time: without the box's own seconds (Pulumi.box.yaml scales them by hand for
 * the e2e tier), so it takes the component's defaults, SWH's (KEDA polling 30 s, cooldown 5 min, the HPA
 * behaviour of DEFAULT_HPA_BEHAVIOR). The runner then scales it to the box's time.
 */
export function realTimeLoader(l: LoaderEntry): LoaderEntry {
    const drop: string[] = [...LOADER_SECONDS_KEYS, "hpaBehavior"];
    return Object.fromEntries(Object.entries(l).filter(([k]) => !drop.includes(k)));
}

/** The loaders a profile publishes to, in the order they first appear. */
export function profileLoaders(p: Profile): string[] {
    return [...new Set(p.publications.map((x) => x.loader))];
}

/** How many tasks a profile publishes to `loader` (all loaders when not given). */
export function publishedTasks(p: Profile, loader?: string): number {
    return p.publications.filter((x) => !loader || x.loader === loader).reduce((n, x) => n + x.count, 0);
}

/**
 * A tuning candidate the benchmark rejected, kept to re-run the comparison: scale up to the queue's target in
 * one HPA sync (the defaults allow 4 pods per 15 s), the default scale-down.
 */
export const FAST_UP_HPA_BEHAVIOR: HpaBehavior = {
    // The component's default behaviour, as planLoader resolves it for a loader that sets none.
    ...planLoader({ loader: "bench", queues: ["bench"] }, (field) => field).hpaBehavior,
    scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: "Pods", value: 100, periodSeconds: 15 }] },
};

/**
 * A tuning candidate the benchmark rejected for the at-least-once signal (waiting + running tasks): replicas
 * follow it both ways, up to the target in one HPA sync and down to it in one sync with no stabilisation window.
 * It pays less on a steady flow, but stops busy workers there: a pod marked idle takes the flow's next task
 * before its SIGTERM comes.
 */
export const FOLLOW_HPA_BEHAVIOR: HpaBehavior = {
    scaleUp: FAST_UP_HPA_BEHAVIOR.scaleUp,
    scaleDown: {
        stabilizationWindowSeconds: 0,
        policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
    },
};

/**
 * FOLLOW_HPA_BEHAVIOR with a scale-down stabilisation window of two HPA syncs, so a steady flow's dips between
 * two tasks take no worker while a drained burst still goes down in one step. Rejected too: it still stopped a
 * busy worker on the trickle.
 */
export const SETTLE_HPA_BEHAVIOR: HpaBehavior = {
    ...FOLLOW_HPA_BEHAVIOR,
    scaleDown: { ...FOLLOW_HPA_BEHAVIOR.scaleDown, stabilizationWindowSeconds: 30 },
};

/** Tasks per replica of the at-most-once baseline: what Pulumi.box.yaml had before (SWH's 10, scaled to the box). */
export const AT_MOST_ONCE_QUEUE_VALUE = 2;

/** The CPU-based HPA's target: a common choice, and what SWH's earlier charts would have used. */
export const CPU_TARGET_PERCENT = 80;

/** A loader's entry in the stack file's `loaders` list. */
export type LoaderEntry = Record<string, unknown>;

export interface Strategy {
    name: "project" | "at-most-once" | "scaled-job" | "fast-up" | "follow" | "settle" | "fixed" | "cpu-hpa";
    what: string;
    /** A profile's loader's stack entry under this strategy; `share` is its fixed replica count. */
    loader(l: LoaderEntry, share: number): LoaderEntry;
    /** Pods Running before the tasks are published. */
    resting(share: number): number;
    /** It scales to zero: the run waits for it and times it; the others are watched for a cooldown instead. */
    scalesToZero: boolean;
    /** Its ScaledObjects are swapped for CPU-based HPAs once deployed. */
    cpuHpa: boolean;
    /** Run when --strategies does not name any. */
    byDefault: boolean;
}

/** The project's configuration with another HPA behaviour: a tuning candidate. */
function tuning(name: Strategy["name"], behaviour: string, hpaBehavior: HpaBehavior): Strategy {
    return {
        name,
        what: `the project's configuration with ${behaviour}`,
        loader: (l) => ({ ...l, hpaBehavior }),
        resting: () => 0,
        scalesToZero: true,
        cpuHpa: false,
        byDefault: false,
    };
}

export const STRATEGIES: Strategy[] = [
    {
        name: "project",
        what: "this project's configuration (Pulumi.box.yaml, the component's HPA behaviour)",
        loader: (l) => l,
        resting: () => 0,
        scalesToZero: true,
        cpuHpa: false,
        byDefault: true,
    },
    {
        name: "at-most-once",
        what:
            "SWH's delivery (early ack) with the box's earlier queue value 2, the project's configuration before " +
            "at-least-once became the default: running tasks are invisible to KEDA",
        loader: (l) => ({ ...l, delivery: "at-most-once", queueThreshold: AT_MOST_ONCE_QUEUE_VALUE }),
        resting: () => 0,
        scalesToZero: true,
        cpuHpa: false,
        byDefault: true,
    },
    {
        name: "scaled-job",
        what:
            "KEDA ScaledJob (the component's job mode): a Job per task waiting, its pod runs one task and exits, " +
            "so no worker is ever stopped by a scale-down",
        loader: (l) => ({ ...l, mode: "job" }),
        resting: () => 0,
        scalesToZero: true,
        cpuHpa: false,
        byDefault: true,
    },
    {
        name: "cpu-hpa",
        what: `a plain autoscaling/v2 HPA at ${CPU_TARGET_PERCENT} % CPU, min 1, instead of the ScaledObject`,
        // One warm replica (a CPU HPA cannot scale from zero); its ScaledObject is then replaced.
        loader: (l) => ({ ...l, minReplicas: 1, scaleToZero: false }),
        resting: () => 1,
        scalesToZero: false,
        cpuHpa: true,
        byDefault: true,
    },
    {
        name: "fixed",
        what: "replicas fixed at the loader's share of the pool (no scale to zero)",
        loader: (l, share) => ({ ...l, minReplicas: share, maxReplicas: share, scaleToZero: false }),
        resting: (share) => share,
        scalesToZero: false,
        cpuHpa: false,
        byDefault: true,
    },
    // Tuning candidates (docs/benchmark.md, "Tuning the defaults"), run only when named.
    tuning("fast-up", "the rejected FAST_UP_HPA_BEHAVIOR", FAST_UP_HPA_BEHAVIOR),
    tuning("follow", "the rejected FOLLOW_HPA_BEHAVIOR", FOLLOW_HPA_BEHAVIOR),
    tuning("settle", "the rejected SETTLE_HPA_BEHAVIOR", SETTLE_HPA_BEHAVIOR),
];

/**
 * Fixed replicas "at the max": each loader's share of the pool. Alone, all it holds; n loaders sharing it get
 * 1/n of it each (both at their full max would leave one Pending for good).
 */
export function fixedReplicas(loader: string, fits: Record<string, number>, involved: string[]): number {
    return Math.max(1, Math.floor(fits[loader] / involved.length));
}

/**
 * The stack's `loaders` under a strategy, in the box's time: each in real time (realTimeLoader), the profile's
 * (`involved`) changed by the strategy, then every second of it divided by `timeScale` (compressLoader).
 */
export function loadersConfig(
    strategy: Strategy,
    stackLoaders: LoaderEntry[],
    fits: Record<string, number>,
    involved: string[],
    timeScale: number,
): LoaderEntry[] {
    return stackLoaders.map((l, i) => {
        const name = String(l.loader);
        const real = realTimeLoader(l);
        const entry = involved.includes(name)
            ? strategy.loader(real, fixedReplicas(name, fits, involved))
            : real;
        return compressLoader(entry, timeScale, subKey(`loaders[${i}]`));
    });
}
