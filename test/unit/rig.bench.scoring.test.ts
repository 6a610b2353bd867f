/**
 * The scaling benchmark's scoring and strategies, on runs small enough to compute by hand. The benchmark itself
 * runs in the box (npm run bench:scaling).
 */
import { strict as assert } from "assert";
import { planLoader } from "../../components/keda-scaled-loader/plan";
import {
    AT_MOST_ONCE_QUEUE_VALUE,
    PROFILES,
    STRATEGIES,
    TASK_REAL_SECONDS,
    fixedReplicas,
    loadersConfig,
    profileLoaders,
    publishedTasks,
    realDuration,
    scenario,
} from "../rig/bench/profiles";
import { BENCH_TIME_SCALE, boxSeconds } from "../rig/box/time-scale";
import {
    Result,
    Run,
    busyAt,
    commonHorizonS,
    loaderTable,
    lostAndDuplicated,
    meanSlotUse,
    optimumSeconds,
    percentile,
    waits,
    scoreRun,
    table,
    workerSeconds,
} from "../rig/bench/scoring";

/** Epoch ms of the run's start: 1000 s, so task records (epoch seconds) read as 1000 + offset. */
const T0 = 1_000_000;
const rec = (task: string, started: number, finished: number) => ({ task, pod: "p", started, finished });

describe("scaling benchmark: scoring", () => {
    it("bounds the drain by capacity: waves of what the pool holds, one loader after the other", () => {
        // 3 tasks on 2 slots: two waves of 10 s.
        assert.equal(optimumSeconds([{ tasks: 3, slots: 2 }], 10, 0), 20);
        // Two loaders sharing the pool: 30 on 10 (3 waves) then 12 on 4 (3 waves), 15 s each.
        assert.equal(
            optimumSeconds(
                [
                    { tasks: 30, slots: 10 },
                    { tasks: 12, slots: 4 },
                ],
                15,
                0,
            ),
            90,
        );
        // A trickle: the last task arrives at 87 s and runs 15 s, later than the 3 waves' 45 s.
        assert.equal(optimumSeconds([{ tasks: 30, slots: 10 }], 15, 87), 102);
    });

    it("gives the profiles' optima on the box's pool (git 10, svn 4), in box seconds at the bench's scale", () => {
        const fits: Record<string, number> = { git: 10, svn: 4 };
        const optimum = (name: string) => {
            const p = PROFILES.find((x) => x.name === name)!;
            const last = Math.max(...p.publications.map((x) => x.at)) / BENCH_TIME_SCALE;
            return optimumSeconds(
                profileLoaders(p).map((l) => ({ tasks: publishedTasks(p, l), slots: fits[l] })),
                boxSeconds(TASK_REAL_SECONDS, BENCH_TIME_SCALE),
                last,
            );
        };
        // Tasks of 5 min are 20 s in the box; the trickle's last arrives at 29 x 45 s = 21 min 45 s, 87 s.
        assert.deepEqual(
            PROFILES.map((p) => [p.name, publishedTasks(p), optimum(p.name)]),
            [
                ["burst", 40, 80],
                ["trickle", 30, 107],
                ["two-loaders", 42, 120],
            ],
        );
    });

    it("states the real-time scenario each profile stands for, and its control periods in the box", () => {
        assert.equal(realDuration(300), "5 min");
        assert.equal(realDuration(1350), "22 min 30 s");
        assert.equal(realDuration(5400), "1 h 30 min");
        const burst = PROFILES[0];
        assert.equal(
            scenario(burst, 15),
            "40 git loads of 5 min queued at once (a task 5 min, HPA sync 15 s, KEDA polling 30 s, cooldown 5 min); " +
                "in the box at 1/15: a task 20 s, HPA sync 1 s, KEDA polling 2 s, cooldown 20 s",
        );
        assert.match(
            scenario(PROFILES[1], 1),
            /^a git load of 5 min every 45 s for 22 min 30 s \(real time: /,
        );
    });

    it("measures the wait before each task starts, from its publication, and its 95th percentile", () => {
        assert.equal(percentile([], 95), 0);
        assert.equal(percentile([3, 1, 2], 50), 2);
        // Nearest rank: of 20 values, the 19th.
        assert.equal(
            percentile(
                [...Array(20).keys()].map((i) => i + 1),
                95,
            ),
            19,
        );
        assert.equal(percentile([5], 95), 5);
        const published = { a: T0, b: T0 + 3000, c: T0 + 3000 };
        // c ran twice: its wait is to its first start; a warm worker's start before the clock counts as 0.
        const w = waits(
            [rec("a", 999.5, 1010), rec("b", 1005, 1015), rec("c", 1009, 1019), rec("c", 1020, 1030)],
            published,
        );
        assert.deepEqual(w, [0, 2, 6]);
        assert.throws(() => waits([rec("x", 1001, 1002)], published), /task x ran but its publication/);
    });

    it("counts worker-seconds from the start to the horizon, the last pods kept to its end", () => {
        const pods = [
            { at: T0 - 1000, pods: 3 }, // before the start: not counted
            { at: T0, pods: 0 },
            { at: T0 + 2000, pods: 2 },
            { at: T0 + 12_000, pods: 2 },
            { at: T0 + 22_000, pods: 1 },
            { at: T0 + 30_000, pods: 0 },
        ];
        // 2x2 + 2x10 + 1x10 = 34; nothing left running to the horizon.
        assert.equal(workerSeconds(pods, T0, T0 + 40_000), 34);
        // Fixed replicas: 2 pods for the 10 s observed, then 30 s more to the horizon.
        assert.equal(
            workerSeconds(
                [
                    { at: T0, pods: 2 },
                    { at: T0 + 10_000, pods: 2 },
                ],
                T0,
                T0 + 40_000,
            ),
            80,
        );
        // A run longer than the horizon is counted to its end.
        assert.equal(workerSeconds(pods, T0, T0 + 10_000), 34);
    });

    it("measures slot use as busy workers over what the pool holds, while tasks remain", () => {
        const records = [rec("a", 1002, 1012), rec("b", 1002, 1012), rec("c", 1012, 1022)];
        assert.equal(busyAt(records, T0 + 2000), 2);
        // A task's end is not busy time: at 1012 s a and b are done and c has begun.
        assert.equal(busyAt(records, T0 + 12_000), 1);
        const backlog = { loader: "git", tasks: 3, slots: 2, records };
        // At 1000, 1002, 1012, 1022 s: 0, 2/2, 1/2, 0; the sample at 1030 s is after the drain.
        const times = [T0, T0 + 2000, T0 + 12_000, T0 + 22_000, T0 + 30_000];
        assert.equal(meanSlotUse(times, [backlog], T0, T0 + 22_000), 0.375);
        // Two loaders on one pool: each one's busy workers over its own share.
        const svn = { loader: "svn", tasks: 1, slots: 4, records: [rec("s", 1002, 1012)] };
        assert.equal(meanSlotUse([T0 + 2000], [backlog, svn], T0, T0 + 22_000), 1.25);
        assert.equal(meanSlotUse([T0 + 30_000], [backlog], T0, T0 + 22_000), 0);
    });

    it("counts tasks lost and run twice", () => {
        assert.deepEqual(lostAndDuplicated(3, ["t-0", "t-1", "t-1"]), { lost: 1, duplicated: 1 });
        assert.deepEqual(lostAndDuplicated(2, ["t-0", "t-1"]), { lost: 0, duplicated: 0 });
    });

    it("scores a run: drain/optimum x cost/work", () => {
        const scores = scoreRun({
            taskSeconds: 10,
            start: T0,
            lastPublish: T0,
            published: { a: T0, b: T0, c: T0 },
            backlogs: [
                {
                    loader: "git",
                    tasks: 3,
                    slots: 2,
                    records: [rec("a", 1002, 1012), rec("b", 1002, 1012), rec("c", 1012, 1022)],
                    pods: [
                        { at: T0, pods: 0 },
                        { at: T0 + 2000, pods: 2 },
                        { at: T0 + 12_000, pods: 2 },
                        { at: T0 + 22_000, pods: 1 },
                        { at: T0 + 30_000, pods: 0 },
                    ],
                },
            ],
            backToZeroS: 8.004,
            restS: 30,
            busyStops: 1,
        });
        assert.deepEqual(scores, {
            tasks: 3,
            slots: { git: 2 },
            workS: 30,
            // Its own window: until it was back at rest, 30 s after the start.
            horizonS: 30,
            timeToFirstWorkerS: 2,
            // Waits 2, 2 and 12 s.
            waitP95S: 12,
            drainS: 22,
            optimumS: 20,
            drainOverOptimum: 1.1,
            workerSeconds: 34,
            // 34 / 30 = 1.133...; 1.1 x 1.133... = 1.2466...
            costOverWork: 1.13,
            score: 1.25,
            meanSlotUse: 0.38,
            backToZeroS: 8,
            busyStops: 1,
            lost: 0,
            duplicated: 0,
            loaders: [
                {
                    loader: "git",
                    tasks: 3,
                    firstStartS: 2,
                    waitP95S: 12,
                    drainOverOptimum: 1.1,
                    costOverWork: 1.13,
                },
            ],
        });
    });

    it("scores each loader sharing the pool: its first start, waits, drain over the shared optimum, own cost", () => {
        const at = (s: number, pods: number) => ({ at: T0 + s * 1000, pods });
        // git's two tasks on 2 slots at once (10 s), then svn's task on its 1 slot: optimum 10 + 10 = 20 s.
        const run: Run = {
            taskSeconds: 10,
            start: T0,
            lastPublish: T0,
            published: { g0: T0, g1: T0, s0: T0 },
            backlogs: [
                {
                    loader: "git",
                    tasks: 2,
                    slots: 2,
                    records: [rec("g0", 1001, 1011), rec("g1", 1001, 1011)],
                    pods: [at(0, 0), at(1, 2), at(11, 2), at(16, 0), at(30, 0)],
                },
                {
                    // svn waits for git's room: its first task starts at 12 s, and it drains at 22 s.
                    loader: "svn",
                    tasks: 1,
                    slots: 1,
                    records: [rec("s0", 1012, 1022)],
                    pods: [at(0, 0), at(1, 0), at(11, 1), at(16, 1), at(30, 0)],
                },
            ],
            backToZeroS: 8,
            restS: 30,
            busyStops: 0,
        };
        const scores = scoreRun(run);
        assert.equal(scores.drainOverOptimum, 1.1);
        // Each sample's pods count for the interval it ends. git: 2 x 1 + 2 x 10 = 22 worker-s for 20 s of work;
        // svn: 1 x 10 + 1 x 5 = 15 for 10.
        assert.equal(scores.workerSeconds, 37);
        assert.deepEqual(scores.loaders, [
            {
                loader: "git",
                tasks: 2,
                firstStartS: 1,
                waitP95S: 1,
                drainOverOptimum: 0.55,
                costOverWork: 1.1,
            },
            {
                loader: "svn",
                tasks: 1,
                firstStartS: 12,
                waitP95S: 12,
                drainOverOptimum: 1.1,
                costOverWork: 1.5,
            },
        ]);
        // A loader with no task done starved: the run is refused, naming it.
        assert.throws(
            () => scoreRun({ ...run, backlogs: [run.backlogs[0], { ...run.backlogs[1], records: [] }] }),
            /no task of svn was recorded: it starved/,
        );
        // Loaders sampled apart cannot be summed.
        assert.throws(
            () =>
                scoreRun({
                    ...run,
                    backlogs: [run.backlogs[0], { ...run.backlogs[1], pods: [at(0, 0)] }],
                }),
            /svn's pods were not sampled with git's/,
        );
        const result: Result = { profile: "two-loaders", strategy: "project", ...scores };
        const lines = loaderTable([
            result,
            { ...result, profile: "burst", loaders: [scores.loaders[0]] },
        ]).split("\n");
        assert.match(lines[0], /^profile\s+strategy\s+loader\s+N\s+first start s\s+wait p95 s\s+drain\/opt/);
        assert.deepEqual(
            lines.slice(2).map((l) => l.trimEnd().split(/\s{2,}/)),
            [
                ["two-loaders", "project", "git", "2", "1", "1", "0.55", "1.1"],
                ["two-loaders", "project", "svn", "1", "12", "12", "1.1", "1.5"],
            ],
            "one row per loader, for the runs of several loaders only",
        );
        assert.equal(loaderTable([{ ...result, loaders: [scores.loaders[0]] }]), "");
    });

    it("charges every strategy of a profile over one window: until the last is back at rest", () => {
        const at = (s: number, pods: number) => ({ at: T0 + s * 1000, pods });
        const backlog = { loader: "git", tasks: 1, slots: 2, records: [rec("a", 1000, 1010)] };
        // Scaled: one pod for the task (each sample counts for the interval it ends), at zero at 20 s.
        const scaled: Run = {
            taskSeconds: 10,
            start: T0,
            lastPublish: T0,
            published: { a: T0 },
            backlogs: [{ ...backlog, pods: [at(0, 1), at(5, 1), at(10, 1), at(15, 1), at(20, 0)] }],
            backToZeroS: 10,
            restS: 20,
            busyStops: 0,
        };
        // Fixed: two pods all along, observed for 12 s; a CPU HPA back at its one pod only at 40 s.
        const fixed: Run = {
            ...scaled,
            backlogs: [{ ...backlog, pods: [at(0, 2), at(12, 2)] }],
            backToZeroS: null,
            restS: 10,
        };
        const cpu: Run = {
            ...scaled,
            backlogs: [{ ...backlog, pods: [at(0, 2), at(30, 2), at(40, 1)] }],
            backToZeroS: null,
            restS: 40,
        };
        const window = commonHorizonS([scaled, fixed, cpu]);
        assert.equal(window, 40);
        const cost = (r: Run) => scoreRun(r, window).workerSeconds;
        // 1 x 15; 2 x 40 (fixed keeps paying to the window's end); 2 x 30 + 1 x 10.
        assert.deepEqual([cost(scaled), cost(fixed), cost(cpu)], [15, 80, 70]);
        assert.equal(scoreRun(fixed, window).horizonS, 40);
        // Charged to its own rest only, fixed would pay for the 12 s observed: the bias the common window removes.
        assert.equal(scoreRun(fixed).workerSeconds, 24);
    });

    it("counts a warm replica's first task from the publication, and refuses a run with no task", () => {
        const warm = scoreRun({
            taskSeconds: 10,
            start: T0,
            lastPublish: T0,
            published: { a: T0 },
            // The warm worker took the task before the publisher's clock started.
            backlogs: [
                {
                    loader: "git",
                    tasks: 1,
                    slots: 1,
                    records: [rec("a", 999.8, 1009.8)],
                    pods: [
                        { at: T0, pods: 1 },
                        { at: T0 + 20_000, pods: 1 },
                    ],
                },
            ],
            backToZeroS: null,
            restS: 9.8,
            busyStops: 0,
        });
        assert.equal(warm.timeToFirstWorkerS, 0);
        assert.equal(warm.backToZeroS, null);
        // 1 pod over the 20 s observed (the window is at least the run's samples): twice the work.
        assert.equal(warm.costOverWork, 2);
        assert.throws(
            () =>
                scoreRun({
                    taskSeconds: 10,
                    start: T0,
                    lastPublish: T0,
                    published: {},
                    backlogs: [{ loader: "git", tasks: 1, slots: 1, records: [], pods: [] }],
                    backToZeroS: null,
                    restS: 0,
                    busyStops: 0,
                }),
            /no task was recorded/,
        );
    });

    it("prints a table with one row per run, 'never' for a strategy that does not scale to zero", () => {
        const row: Result = {
            profile: "burst",
            strategy: "fixed",
            tasks: 40,
            slots: { git: 10 },
            workS: 600,
            horizonS: 75,
            timeToFirstWorkerS: 0,
            waitP95S: 45,
            drainS: 60,
            optimumS: 60,
            drainOverOptimum: 1,
            workerSeconds: 1200,
            costOverWork: 2,
            score: 2,
            meanSlotUse: 1,
            backToZeroS: null,
            busyStops: 2,
            lost: 0,
            duplicated: 0,
            loaders: [],
        };
        const lines = table([row]).split("\n");
        assert.equal(lines.length, 3);
        assert.match(lines[0], /^profile\s+strategy\s+N\s+slots\s+window s\s+first worker s/);
        assert.deepEqual(lines[2].trimEnd().split(/\s{2,}/), [
            "burst",
            "fixed",
            "40",
            "10",
            "75",
            "0",
            "45",
            "60",
            "60",
            "1",
            "1200",
            "2",
            "2",
            "1",
            "never",
            "2",
            "0",
            "0",
        ]);
    });
});

describe("scaling benchmark: strategies", () => {
    const stack = [
        // The box's own seconds (Pulumi.box.yaml scales them by hand): dropped for the real-time defaults.
        { loader: "git", queues: ["g"], maxReplicas: 20, pollingInterval: 2, cooldownPeriod: 10 },
        { loader: "svn", queues: ["s"], maxReplicas: 20, taskTimeoutSeconds: 60 },
    ];
    const fits = { git: 10, svn: 4 };
    const strategy = (name: string) => STRATEGIES.find((s) => s.name === name)!;
    /** A strategy's loaders in real time (scale 1), as the component plans them. */
    const plans = (name: string, involved: string[]) =>
        loadersConfig(strategy(name), stack, fits, involved, 1).map((l) =>
            planLoader(l as Parameters<typeof planLoader>[0], (field) => field),
        );
    const defaults = planLoader({ loader: "git", queues: ["g"] }, (field) => field);

    it("runs project, at-most-once, cpu-hpa and fixed by default, the tuning candidates only when asked", () => {
        assert.deepEqual(
            STRATEGIES.filter((s) => s.byDefault).map((s) => s.name),
            ["project", "at-most-once", "scaled-job", "cpu-hpa", "fixed"],
        );
    });

    it("puts every loader in real time, the component's defaults (SWH's), then in the box's time", () => {
        for (const p of plans("project", ["git"])) {
            assert.deepEqual(
                [p.pollingInterval, p.cooldownPeriod, p.taskTimeoutSeconds, p.hpaBehavior],
                [30, 300, defaults.taskTimeoutSeconds, defaults.hpaBehavior],
            );
        }
        const [git, svn] = loadersConfig(strategy("project"), stack, fits, ["git"], BENCH_TIME_SCALE);
        assert.deepEqual([git.pollingInterval, git.cooldownPeriod, svn.pollingInterval], [2, 20, 2]);
        assert.equal(git.maxReplicas, 20);
    });

    it("at-most-once is the component with SWH's early ack at the box's earlier queue value, which it accepts", () => {
        const [git] = plans("at-most-once", ["git"]);
        assert.deepEqual([git.delivery, git.queueThreshold], ["at-most-once", AT_MOST_ONCE_QUEUE_VALUE]);
        // The project's own default refuses that value: running tasks would count, and busy workers go.
        assert.throws(() => planLoader({ ...stack[0], queueThreshold: 2 }, (f) => f), /queueThreshold/);
    });

    it("scaled-job runs the profile's loaders in the component's job mode, one task per Job", () => {
        const [git, svn] = plans("scaled-job", ["git"]);
        assert.deepEqual([git.mode, git.queueThreshold, svn.mode], ["job", 1, "deployment"]);
    });

    it("fixes each profile loader at its share of the pool, and leaves the others as the stack has them", () => {
        assert.equal(fixedReplicas("git", fits, ["git"]), 10);
        assert.equal(fixedReplicas("git", fits, ["git", "svn"]), 5);
        assert.equal(fixedReplicas("svn", fits, ["git", "svn"]), 2);
        assert.equal(fixedReplicas("svn", { svn: 1 }, ["git", "svn"]), 1, "at least one replica");
        const replicas = (name: string, involved: string[]) =>
            plans(name, involved).map((p) => [p.minReplicas, p.requestedMaxReplicas, p.scaleToZero]);
        assert.deepEqual(replicas("fixed", ["git", "svn"]), [
            [5, 5, false],
            [2, 2, false],
        ]);
        assert.deepEqual(replicas("cpu-hpa", ["git"]), [
            [1, 20, false],
            [0, 20, true],
        ]);
        assert.deepEqual(replicas("project", ["git"]), [
            [0, 20, true],
            [0, 20, true],
        ]);
    });

    it("rests at zero when it scales to zero, at its warm or fixed replicas otherwise", () => {
        assert.deepEqual(
            STRATEGIES.map((s) => [s.name, s.resting(5), s.scalesToZero, s.cpuHpa]),
            [
                ["project", 0, true, false],
                ["at-most-once", 0, true, false],
                ["scaled-job", 0, true, false],
                ["cpu-hpa", 1, false, true],
                ["fixed", 5, false, false],
                ["fast-up", 0, true, false],
                ["follow", 0, true, false],
                ["settle", 0, true, false],
            ],
        );
    });

    it("fast-up changes only the scale-up of the component's default HPA behaviour", () => {
        const [git] = plans("fast-up", ["git"]);
        assert.deepEqual(git.hpaBehavior.scaleUp?.policies, [
            { type: "Pods", value: 100, periodSeconds: 15 },
        ]);
        assert.deepEqual(git.hpaBehavior.scaleDown, defaults.hpaBehavior.scaleDown);
        assert.notDeepEqual(git.hpaBehavior.scaleUp, defaults.hpaBehavior.scaleUp);
    });

    it("follow scales up as fast-up does, and down to the target in one sync with no stabilisation window", () => {
        const [git] = plans("follow", ["git"]);
        assert.deepEqual(git.hpaBehavior, {
            scaleUp: {
                stabilizationWindowSeconds: 0,
                policies: [{ type: "Pods", value: 100, periodSeconds: 15 }],
            },
            scaleDown: {
                stabilizationWindowSeconds: 0,
                policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
            },
        });
    });

    it("settle is follow with a 30 s scale-down stabilisation window", () => {
        const behavior = (name: string) => plans(name, ["git"])[0].hpaBehavior;
        assert.deepEqual(behavior("settle"), {
            ...behavior("follow"),
            scaleDown: { ...behavior("follow").scaleDown, stabilizationWindowSeconds: 30 },
        });
    });
});
