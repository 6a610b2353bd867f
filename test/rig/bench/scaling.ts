/**
 * npm run bench:scaling [-- --only burst,trickle,two-loaders] [--strategies project,at-most-once,fast-up,follow,settle,cpu-hpa,fixed]
 *                          [--time-scale 15]
 *
 * Runs the backlog profiles (profiles.ts) in the box (test/rig/box) under each scaling strategy, deployed by
 * the real engine. Profiles and strategies are real time; the box runs them at --time-scale (default
 * BENCH_TIME_SCALE: every control period, task and timeout divided by it, see test/rig/box/time-scale.ts), and
 * each profile's results print the scenario it stands for. The strategies:
 *   project  this project's configuration: Pulumi.box.yaml's loaders, every period the component's default (SWH's)
 *   at-most-once  SWH's early ack at the box's earlier queue value (the project's configuration before)
 *   scaled-job  KEDA ScaledJob: the component's job mode, one Job per task
 *   fast-up  the same with a rejected tuning candidate (FAST_UP_HPA_BEHAVIOR), not run unless asked for
 *   follow   the same with a candidate that scales down as fast as up (FOLLOW_HPA_BEHAVIOR), only when asked for
 *   settle   follow with a 30 s scale-down stabilisation window (SETTLE_HPA_BEHAVIOR), only when asked for
 *   fixed    replicas fixed at the max (minReplicas = maxReplicas, no scale to zero)
 *   cpu-hpa  a plain CPU-based HPA (autoscaling/v2, 80 % of the CPU request, min 1, Kubernetes' default
 *            behaviour) instead of the ScaledObject: the real HPA and metrics-server; kwok reports each pod's CPU
 *            from its worker's state (busy: its request, idle: 1m), see test/rig/box/bridge.ts
 * Scores each run (scoring.ts), prints a table and writes .state/bench/scaling.json.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { Box } from "../box/box";
import { BOX_STACK_FILE, BoxLoader, boxWithStack, deployBoxStack, publish, purgeQueues } from "../box/stack";
import { Sampler, TaskRecord, replicaState, taskRecords, terminations, until } from "../box/watch";
import { STATE } from "../engine/env";
import {
    CPU_TARGET_PERCENT,
    LoaderEntry,
    PROFILES,
    Profile,
    STRATEGIES,
    Strategy,
    TASK_REAL_SECONDS,
    fixedReplicas,
    loadersConfig,
    profileLoaders,
    publishedTasks,
    scenario,
} from "./profiles";
import { BENCH_TIME_SCALE, boxSeconds, checkTimeScale, metricsResolutionRefusal } from "../box/time-scale";
import { Result, Run, commonHorizonS, loaderTable, scoreRun, table } from "./scoring";

const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

function stackLoaders(): LoaderEntry[] {
    const doc = YAML.parse(fs.readFileSync(BOX_STACK_FILE, "utf8")) as { config: Record<string, unknown> };
    return doc.config["elastic-workers:loaders"] as LoaderEntry[];
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

/** How long, in real time, a run's tasks may take to be done, and its strategy to get back to rest after. */
const DONE_TIMEOUT_REAL_S = 4 * 3600;
const REST_TIMEOUT_REAL_S = 2.5 * 3600;

async function runOne(
    box: Box,
    profile: Profile,
    strategy: Strategy,
    loaders: BoxLoader[],
    fits: Record<string, number>,
    timeScale: number,
): Promise<Run> {
    const names = profileLoaders(profile);
    const involved = loaders.filter((l) => names.includes(l.loader));
    const tasks = publishedTasks(profile);
    const taskSeconds = boxSeconds(TASK_REAL_SECONDS, timeScale);
    const doneTimeout = boxSeconds(DONE_TIMEOUT_REAL_S, timeScale);
    const restTimeout = boxSeconds(REST_TIMEOUT_REAL_S, timeScale);

    console.log(`\n== ${profile.name} (${profile.what}) under ${strategy.name}`);
    purgeQueues(
        box,
        loaders.flatMap((l) => l.queues),
    );
    // A CPU HPA left by an interrupted run would hold its loader at one replica.
    for (const l of loaders) await dropCpuHpa(box, l);
    const config = loadersConfig(strategy, stackLoaders(), fits, names, timeScale);
    await deployBoxStack(config);
    if (strategy.cpuHpa) {
        for (const l of involved) await useCpuHpa(box, l, fits[l.loader]);
    }
    // Start from the strategy's resting state: no pods (scaled to zero), or its warm or fixed replicas all created
    // (two fixed loaders may not fit the pool together: the rest waits Pending, as it would in production).
    // A loader at rest under the strategy: its warm or fixed replicas (none for a loader the profile leaves out)
    // all Running, nothing wanted beyond them, nothing coming or going. Checked before the run and after it.
    const resting = (l: BoxLoader) =>
        involved.includes(l) ? strategy.resting(fixedReplicas(l.loader, fits, names)) : 0;
    const atRest = async (l: BoxLoader) => {
        const s = await replicaState(box.kube, l.namespace, `loader-${l.loader}`);
        return s.running === resting(l) && s.desired <= resting(l) && s.pending + s.terminating === 0;
    };
    for (const l of loaders) {
        await until(`${l.loader} at rest (${resting(l)} pods Running)`, 300, async () =>
            (await atRest(l)) ? true : undefined,
        );
    }
    const prefix = `bench-${profile.name}-${strategy.name}-${Date.now()}`;
    const sampler = new Sampler(
        box.kube,
        loaders.map((l) => ({ name: l.loader, namespace: l.namespace, deployment: `loader-${l.loader}` })),
        500,
        doneTimeout + restTimeout + 600,
    );
    // The clock starts when the first tasks are in the queue.
    let start = 0;
    const counters: Record<string, number> = {};
    const published: Record<string, number> = {};
    const boxAt = (p: { at: number }) => (p.at / timeScale) * 1000;
    for (const p of [...profile.publications].sort((a, b) => a.at - b.at)) {
        const wait = start + boxAt(p) - Date.now();
        if (start && wait > 0) await sleep(wait / 1000);
        const l = loaders.find((x) => x.loader === p.loader);
        if (!l) throw new Error(`profile ${profile.name}: no loader "${p.loader}" in the box's stack`);
        const first = counters[p.loader] ?? 0;
        counters[p.loader] = first + p.count;
        publish(box, l.queues[0], p.count, taskSeconds, `${prefix}-${p.loader}`, first);
        const now = Date.now();
        for (let i = first; i < first + p.count; i++) published[`${prefix}-${p.loader}-${i}`] = now;
        if (!start) start = now;
    }
    const lastPublish = start + Math.max(...profile.publications.map(boxAt));
    const records = await until(`${tasks} tasks done`, doneTimeout, async () => {
        const r = taskRecords(box.taskRecord, `${prefix}-`);
        return new Set(r.map((x) => x.task)).size >= tasks ? r : undefined;
    });
    const drainedAt = Math.max(...records.map((r) => r.finished)) * 1000;
    // The cooldown the run deployed (in the box's time), not the stack file's.
    const cooldown = Math.max(
        ...config.filter((c) => names.includes(String(c.loader))).map((c) => Number(c.cooldownPeriod)),
    );
    let backToZero: number | null = null;
    // Back at rest: at zero; a CPU HPA at its minimum (after Kubernetes' 5-minute scale-down window); fixed
    // replicas always are. From then on its pods stay as they are, to the profile's common cost window.
    await until(`${strategy.name} back at rest`, cooldown + restTimeout, async () => {
        for (const l of involved) if (!(await atRest(l))) return undefined;
        return true;
    });
    const restAt = Date.now();
    if (strategy.scalesToZero) backToZero = (restAt - drainedAt) / 1000;
    const samples = await sampler.stop();
    if (strategy.cpuHpa) for (const l of involved) await dropCpuHpa(box, l);
    const mine = (l: BoxLoader): TaskRecord[] =>
        records.filter((r) => r.task.startsWith(`${prefix}-${l.loader}-`));
    return {
        taskSeconds,
        start,
        lastPublish,
        published,
        backlogs: involved.map((l) => ({
            loader: l.loader,
            tasks: publishedTasks(profile, l.loader),
            slots: fits[l.loader],
            records: mine(l),
            pods: samples.map((s) => ({
                at: sampler.started + s.t,
                pods: s.loaders[l.loader].running + s.loaders[l.loader].terminating,
            })),
        })),
        backToZeroS: backToZero,
        restS: (restAt - start) / 1000,
        busyStops: involved.reduce(
            (n, l) =>
                n +
                terminations(box.terminations, start, l.namespace).filter((t) => t.at <= restAt && t.busy)
                    .length,
            0,
        ),
    };
}

/** Writes the results so far to .state/bench/scaling.json (after every run: a failed run keeps the others). */
function writeResults(results: Result[], timeScale: number): string {
    const out = path.join(STATE, "bench", "scaling.json");
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const doc = {
        date: new Date().toISOString(),
        timeScale,
        taskRealSeconds: TASK_REAL_SECONDS,
        taskBoxSeconds: boxSeconds(TASK_REAL_SECONDS, timeScale),
        secondsIn: "box seconds (real seconds / timeScale); ratios are the same in both",
        cpuTargetPercent: CPU_TARGET_PERCENT,
        costWindow: "per profile: from the first publication until every strategy is back at rest",
        profiles: PROFILES.map((p) => ({ name: p.name, what: p.what, standsFor: scenario(p, timeScale) })),
        results,
    };
    fs.writeFileSync(out, JSON.stringify(doc, null, 2));
    return out;
}

/** The named items of `all` (`what` for the error), in the order named; `fallback` when none are. */
function pick<T extends { name: string }>(
    all: T[],
    named: string[] | undefined,
    fallback: T[],
    what: string,
): T[] {
    if (!named) return fallback;
    return named.map((n) => {
        const found = all.find((x) => x.name === n);
        if (!found) throw new Error(`unknown ${what} "${n}" (have: ${all.map((x) => x.name).join(", ")})`);
        return found;
    });
}

async function main(): Promise<void> {
    const arg = (name: string) => {
        const i = process.argv.indexOf(`--${name}`);
        return i > 0 ? process.argv[i + 1]?.split(",") : undefined;
    };
    const profiles = pick(PROFILES, arg("only"), PROFILES, "profile");
    const timeScale = checkTimeScale(Number(arg("time-scale")?.[0] ?? BENCH_TIME_SCALE), "--time-scale");
    // A CPU-based HPA's metrics cannot be scaled as far as the rest (metrics-server's floor): by default it runs
    // only at a scale it takes; named at another, it is refused before anything starts.
    const cpuHpaRefusal = metricsResolutionRefusal(timeScale);
    if (cpuHpaRefusal) console.log(`cpu-hpa left out: ${cpuHpaRefusal}`);
    const strategies = pick(
        STRATEGIES,
        arg("strategies"),
        STRATEGIES.filter((s) => s.byDefault && !(s.cpuHpa && cpuHpaRefusal)),
        "strategy",
    );
    const resourceMetrics = strategies.some((s) => s.cpuHpa);
    if (resourceMetrics && cpuHpaRefusal) throw new Error(cpuHpaRefusal);
    const { box, loaders, fits } = await boxWithStack({ resourceMetrics, timeScale });
    const results: Result[] = [];
    const total = profiles.length * strategies.length;
    let done = 0;
    for (const profile of profiles) {
        const runs: Run[] = [];
        for (const strategy of strategies) {
            console.log(`\n[${++done}/${total}] ${profile.name} / ${strategy.name}`);
            runs.push(await runOne(box, profile, strategy, loaders, fits, timeScale));
        }
        // Every strategy of the profile pays over the same window.
        const horizon = commonHorizonS(runs);
        results.push(
            ...runs.map((run, i) => ({
                profile: profile.name,
                strategy: strategies[i].name,
                ...scoreRun(run, horizon),
            })),
        );
        writeResults(results, timeScale);
    }
    // Leave the box as the stack file says.
    await deployBoxStack();
    box.kube.close();
    const standsFor = profiles.map((p) => `  ${p.name}: ${scenario(p, timeScale)}`).join("\n");
    const perLoader = loaderTable(results);
    console.log(
        `\n${table(results)}\n${perLoader ? `\nEach loader's part where several share the pool:\n${perLoader}\n` : ""}` +
            `\nSeconds are the box's; each profile stands for:\n${standsFor}\n\n` +
            `JSON: ${path.relative(process.cwd(), writeResults(results, timeScale))}`,
    );
}

main().catch((e: Error) => {
    console.error(`bench: ${e.message}`);
    process.exit(1);
});
