/**
 * The offline `local` stack as an operator runs it: the Pulumi CLI in the project directory, with the real
 * language host path, kubernetes and docker-build providers, Docker and a registry. A fresh stack's preview
 * plans the whole program; `npm run demo` (pulumi up) twice; a second preview plans nothing; refresh, outputs,
 * protection and destroy behave as docs/engine.md and docs/operations.md say.
 */
import { strict as assert } from "assert";
import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { LOCAL_STACK, RENDERED, localRegistry } from "../rig/demo";
import { PlannedStep, previewPlan, pulumi, pulumiOk, selectStack, stackOutputs } from "../rig/engine/cli";
import { ROOT, withStandInPlugins } from "../rig/engine/env";
import { E2E, RegistryAccess, registryDigest, registryTags, waitFor } from "../rig/e2e/env";
import {
    LoaderObjects,
    LoaderPod,
    deleteLoaderPod,
    podExit,
    podTemplate,
    podLog,
    removeLoaderPods,
    startLoaderPod,
} from "../rig/e2e/loader-run";
import { StatsdExporter, startStatsdExporter } from "../rig/e2e/statsd-exporter";
import { Prometheus, lastMinute, scraped, startPrometheus } from "../rig/e2e/prometheus";
import { dashboardPanels } from "../../components/observability-stack/dashboard";
import { DURATION_BUCKETS } from "../../components/observability-stack/statsd";
import { makeRepository, startGitDaemon } from "../rig/e2e/git-origins";
import { PORTS, startRabbitmq, stopRabbitmq } from "../rig/box/box";
import { rabbitCredentials } from "../rig/box/services";
import { Supervisor } from "../rig/supervisor";
import { FAKE_SECRETS, runProgram, stackConfig } from "../harness/program";
import { validateObject } from "../harness/schemas";
import { LOCAL_PLAN, LOCAL_RESOURCES } from "./fixtures/local-plan";

/**
 * Ports of the loading scenario's services, on loopback: below the kernel's range for outgoing connections
 * (32768-60999), apart from the box's. statsd is the port the program's env ConfigMap gives the loaders.
 */
const LOADING_PORTS = { storage: 25002, git: 29418, exporter: 29102, prometheus: 29090 } as const;

/** What the storage holds of an origin (fixtures/loader/origins.py). */
interface StoredOrigin {
    known: boolean;
    visits: { status: string; snapshot: string | null }[];
    branches: Record<string, { type: string; target: string }>;
}

/** Drops the messages on these queues (RabbitMQ's management API); a queue not declared yet has none. */
async function purgeQueues(rabbit: { user: string; password: string }, queues: string[]): Promise<void> {
    const auth = "Basic " + Buffer.from(`${rabbit.user}:${rabbit.password}`).toString("base64");
    for (const q of queues) {
        const r = await fetch(
            `http://127.0.0.1:${PORTS.rabbitManagement}/api/queues/%2F/${encodeURIComponent(q)}/contents`,
            { method: "DELETE", headers: { Authorization: auth } },
        );
        if (!r.ok && r.status !== 404) throw new Error(`purging ${q}: RabbitMQ answered ${r.status}`);
    }
}

/** Runs a command, echoing its output with a prefix, and returns the output. */
function run(cmd: string, args: string[], label: string): Promise<{ code: number; out: string }> {
    return new Promise((resolve) => {
        const child = spawn(cmd, args, { cwd: ROOT, env: process.env });
        let out = "";
        const onData = (b: Buffer) => {
            out += b.toString();
            for (const line of b.toString().split("\n"))
                if (line.trim()) process.stdout.write(`      [${label}] ${line}\n`);
        };
        child.stdout.on("data", onData);
        child.stderr.on("data", onData);
        child.on("close", (code) => resolve({ code: code ?? -1, out }));
    });
}

/** The resource types a preview plans, with their counts. */
function typeCounts(steps: PlannedStep[]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const s of steps) counts[s.type] = (counts[s.type] ?? 0) + 1;
    return counts;
}

/** A copy of Pulumi.local.yaml with some config replaced, for `--config-file`. */
function localConfigWith(values: Record<string, unknown>): string {
    const doc = YAML.parseDocument(fs.readFileSync(path.join(ROOT, "Pulumi.local.yaml"), "utf8"));
    for (const [k, v] of Object.entries(values)) doc.setIn(["config", `elastic-workers:${k}`], v);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "swh-local-")), "Pulumi.local.yaml");
    fs.writeFileSync(file, doc.toString());
    return file;
}

/** The pod spec of the git loader's Deployment as the last run rendered it. */
function renderedGitPod(): { containers: { image: string }[]; imagePullSecrets?: { name: string }[] } {
    const files = fs.readdirSync(RENDERED, { recursive: true }) as string[];
    const file = files.find((f) => f.endsWith("deployment-swh-loader-git-loader-git.yaml"))!;
    return YAML.parse(fs.readFileSync(path.join(RENDERED, file), "utf8")).spec.template.spec;
}

/** The image of the git loader's Deployment as the last run rendered it. */
function renderedGitImage(): string {
    return renderedGitPod().containers[0].image;
}

/** Seconds a `pulumi preview` of `stack` takes in `cwd`. */
async function timedPreview(stack: string, cwd = ROOT): Promise<number> {
    const started = Date.now();
    await pulumiOk(["preview", "--stack", stack], { cwd, label: false });
    return (Date.now() - started) / 1000;
}

/** An empty Pulumi TypeScript project (no resource), beside the real one for the timing baseline. */
function emptyProject(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "swh-empty-"));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: empty\nmain: index.ts\nruntime: nodejs\n");
    fs.writeFileSync(path.join(dir, "package.json"), '{ "name": "empty", "private": true }\n');
    fs.writeFileSync(path.join(dir, "index.ts"), "export {};\n");
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
    return dir;
}

describe("the local stack with the Pulumi CLI in the project directory", function () {
    let registry: RegistryAccess;
    let freshPlan: Awaited<ReturnType<typeof previewPlan>>;
    let first: { code: number; out: string };
    let second: { code: number; out: string };
    let timings: { local: number; empty: number };

    before(async () => {
        // From scratch: a previous demo's stack is destroyed and removed, so the first preview plans it all.
        await run("npm", ["run", "--silent", "demo:down"], "demo:down");
        await pulumi(["stack", "rm", "--yes", "--force", "--preserve-config", LOCAL_STACK], { label: false });
        await selectStack(LOCAL_STACK);
        registry = await localRegistry();
        freshPlan = await previewPlan(LOCAL_STACK);
        const empty = emptyProject();
        await selectStack("empty", { cwd: empty });
        timings = { local: await timedPreview(LOCAL_STACK), empty: await timedPreview("empty", empty) };
        await pulumi(["stack", "rm", "--yes", "--force", "empty"], { cwd: empty, label: false });
        fs.rmSync(empty, { recursive: true, force: true });
        console.log(
            `      pulumi preview: local stack ${timings.local}s, empty stack ${timings.empty}s (same run)`,
        );
        first = await run("npm", ["run", "--silent", "demo"], "demo");
        second = await run("npm", ["run", "--silent", "demo"], "demo again");
    });
    // Leave nothing running: the registry and buildkitd stop with the stack.
    after(async () => {
        await run("npm", ["run", "--silent", "demo:down"], "demo:down");
    });

    it("plans the whole program on a fresh stack: every resource, by kind, and nothing else", () => {
        assert.deepEqual(freshPlan.changeSummary, { create: LOCAL_RESOURCES });
        assert.deepEqual(typeCounts(freshPlan.steps), LOCAL_PLAN);
        assert.ok(timings.local > 0 && timings.empty > 0);
    });

    it("runs the demo to its summary, creating what the preview planned", () => {
        assert.equal(first.code, 0, first.out.slice(-3000));
        assert.match(first.out, /\[6\/6\] summary/);
        assert.match(first.out, new RegExp(`resources: create ${LOCAL_RESOURCES}$`, "m"));
    });

    it("pushes the loader image: the registry serves, under every tag the stack pushed, the digest it outputs", async () => {
        const ref = /image git: (\S+)/.exec(first.out)![1];
        const [repoRef, digest] = ref.split("@");
        assert.match(digest, /^sha256:[0-9a-f]{64}$/);
        const repo = repoRef.replace("127.0.0.1:5055/", "");
        // The stack's own tags (its state), not every tag the registry holds: a machine's registry keeps the tags
        // of earlier builds, whose content differed.
        const state = JSON.parse(
            await pulumiOk(["stack", "export", "--stack", LOCAL_STACK], { label: false }),
        );
        const image = (state.deployment.resources as { type: string; outputs: { tags: string[] } }[]).find(
            (r) => r.type === "docker-build:index:Image",
        )!;
        const tags = image.outputs.tags.map((t) => t.slice(t.lastIndexOf(":") + 1));
        assert.ok(tags.length >= 1);
        const listed = registryTags(registry, repo);
        for (const tag of tags) {
            assert.ok(listed.includes(tag), `${tag} in ${listed.join(", ")}`);
            assert.equal(registryDigest(registry, repo, tag), digest, tag);
        }
    });

    it("the built image's git loader visits an origin twice, as a task delivered again would: both full, one snapshot, the second uneventful", () => {
        // At-least-once delivery runs a task again when its worker dies: SWH's real loader, in the real image,
        // on a repository made here, into an in-memory swh.storage (the container has no network).
        const ref = /image git: (\S+)/.exec(first.out)![1];
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "swh-origin-"));
        const repo = path.join(root, "origin");
        try {
            const head = makeRepository(root, "origin", 2).head;
            execFileSync("docker", ["pull", "-q", ref], { stdio: ["ignore", "ignore", "inherit"] });
            const out = execFileSync(
                "docker",
                [
                    "run",
                    "--rm",
                    "--network",
                    "none",
                    "-v",
                    `${repo}:/srv/origin:ro`,
                    "-v",
                    `${path.join(__dirname, "fixtures", "loader")}:/srv/fixture:ro`,
                    "--entrypoint",
                    "python3",
                    ref,
                    "/srv/fixture/visit_twice.py",
                    "file:///srv/origin",
                ],
                { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
            );
            const seen = JSON.parse(out.trim().split("\n").pop()!) as {
                results: { status: string }[];
                visits: { status: string; snapshot: string }[];
                branches: Record<string, { type: string; target: string }>;
            };
            console.log(
                `      visits: ${JSON.stringify(seen.visits)}; loads: ${JSON.stringify(seen.results)}`,
            );
            assert.deepEqual(
                seen.results.map((r) => r.status),
                ["eventful", "uneventful"],
            );
            assert.deepEqual(
                seen.visits.map((v) => v.status),
                ["full", "full"],
            );
            assert.equal(seen.visits[0].snapshot, seen.visits[1].snapshot, "the same snapshot");
            // SWH's revision ids of git commits are the commits' own ids.
            assert.deepEqual(seen.branches["refs/heads/main"], { type: "revision", target: head });
            assert.ok(seen.branches["refs/tags/v1.0"], `branches: ${Object.keys(seen.branches).join(", ")}`);
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });

    describe("SWH's git loading tasks through the built image's entrypoint, as the program's pods run it (Docker for the kubelet)", function () {
        const dir = path.join(E2E, "loading");
        const origins = path.join(dir, "origins");
        const processes = new Supervisor(dir);
        const fixtures = path.join(__dirname, "fixtures", "loader");
        const STORAGE = "swh-e2e-storage";
        const storageUrl = `http://127.0.0.1:${LOADING_PORTS.storage}/`;
        const gitUrl = (name: string) => `git://127.0.0.1:${LOADING_PORTS.git}/${name}`;
        const TASK = "swh.loader.git.tasks.UpdateGitRepository";
        let image: string;
        let objects: LoaderObjects;
        let exporter: StatsdExporter;
        let prom: Prometheus;
        let pods: LoaderPod[];
        let queues: string[];
        let startedRabbitmq = false;

        /** Runs a fixture script in the built image, on this machine's loopback; its JSON or text output. */
        function inImage(script: string, args: string[], extra: string[] = []): string {
            return execFileSync(
                "docker",
                ["run", "--rm", "--network", "host", "-v", `${fixtures}:/srv/fixture:ro`, ...extra,
                    "--entrypoint", "python3", image, `/srv/fixture/${script}`, ...args],
                { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
            ); // prettier-ignore
        }

        /** What the storage holds of these origins (fixtures/loader/origins.py). */
        function stored(urls: string[]): Record<string, StoredOrigin> {
            return JSON.parse(
                inImage("origins.py", [storageUrl, ...urls])
                    .trim()
                    .split("\n")
                    .pop()!,
            );
        }

        /** Publishes one task per origin to the loader's first queue, as SWH's scheduler does (send_task). */
        function publish(urls: string[]): string[] {
            const config = path.join(pods[0].dir, "config", "config.yml");
            return inImage("publish.py", [TASK, queues[0], ...urls], [
                "--user", "1000:1000", "-v", `${config}:/etc/swh/config.yml:ro`,
            ]).trim().split("\n"); // prettier-ignore
        }

        /**
         * The git loader's objects as the program declares them on the local stack's config as for a cluster, its
         * entry changed by `change`: the broker Secret holds the box's RabbitMQ, and the loader's storage is the RPC
         * server below. `workload` is the Deployment's resource name, or the ScaledJob's in job mode.
         */
        async function loaderObjects(
            workload: string,
            change: Record<string, unknown> = {},
        ): Promise<LoaderObjects> {
            const rabbit = rabbitCredentials();
            // rabbitCredentials reads the box stack's config, selecting it: the local stack is this file's.
            await selectStack(LOCAL_STACK);
            const config = stackConfig("Pulumi.local.yaml");
            const loaders = JSON.parse(config["elastic-workers:loaders"]);
            loaders[0] = {
                ...loaders[0],
                workerConfig: { storage: { cls: "remote", url: storageUrl } },
                ...change,
            };
            queues = loaders[0].queues;
            const { recorder } = await runProgram(
                {
                    ...config,
                    "elastic-workers:loaders": JSON.stringify(loaders),
                    "elastic-workers:kubernetes": "{}",
                },
                { ...FAKE_SECRETS, brokerAmqpUrl: rabbit.amqpUrl, brokerManagementUrl: rabbit.managementUrl },
            );
            return {
                workload: recorder.named(workload).inputs,
                env: recorder.named("loader-git-env").inputs,
                broker: recorder.named("loader-git-broker").inputs,
                logging: recorder.named("loader-git-logging").inputs,
            };
        }

        before(async function () {
            image = /image git: (\S+)/.exec(first.out)![1];
            execFileSync("docker", ["pull", "-q", image], { stdio: ["ignore", "ignore", "inherit"] });
            fs.rmSync(dir, { recursive: true, force: true });
            fs.mkdirSync(origins, { recursive: true });

            startedRabbitmq = await startRabbitmq();
            const rabbit = rabbitCredentials();
            objects = await loaderObjects("loader-git-deployment");
            // Messages an earlier run left on the loader's queues would be loaded too.
            await purgeQueues(rabbit, queues);

            fs.writeFileSync(path.join(dir, "storage.yml"), "storage:\n  cls: memory\n");
            spawnSync("docker", ["rm", "-f", STORAGE], { stdio: "ignore" });
            execFileSync("docker", ["run", "-d", "--name", STORAGE, "--network", "host",
                "-v", `${path.join(dir, "storage.yml")}:/etc/swh/storage.yml:ro`, "-v", `${fixtures}:/srv/fixture:ro`,
                "-e", "SWH_CONFIG_FILENAME=/etc/swh/storage.yml", "--entrypoint", "python3", image,
                "/srv/fixture/storage_server.py", String(LOADING_PORTS.storage)], { stdio: "ignore" }); // prettier-ignore
            await waitFor(
                "SWH's storage RPC server",
                60,
                // It answers: any HTTP status.
                async () => (await fetch(storageUrl).catch(() => undefined)) !== undefined,
            );

            exporter = await startStatsdExporter(
                dir,
                Number(objects.env.data.STATSD_PORT),
                LOADING_PORTS.exporter,
            );
            prom = await startPrometheus(dir, LOADING_PORTS.prometheus, [new URL(exporter.metricsUrl).host]);
            pods = ["loader-git-0", "loader-git-1"].map((name) =>
                startLoaderPod(objects, image, name, { [objects.env.data.STATSD_HOST]: "127.0.0.1" }),
            );
            for (const pod of pods)
                await waitFor(`${pod.name}: Celery ready`, 120, () => / ready\./.test(podLog(pod)));
        });

        after(async function () {
            const keep = process.env.SWH_E2E_KEEP_LOADING === "1";
            if (keep) return;
            removeLoaderPods("loader-git");
            spawnSync("docker", ["rm", "-f", STORAGE], { stdio: "ignore" });
            exporter?.process.kill();
            prom?.process.kill();
            await processes.stop("git-daemon", 10);
            // Only a RabbitMQ this test started: a box's stays up.
            if (startedRabbitmq) await stopRabbitmq({ andEpmd: true });
        });

        it("loads repositories published to the loader's queue: each origin visited once, full, at its HEAD and tag", async () => {
            const repos = [20, 40, 60, 80, 100, 120].map((n, i) => makeRepository(origins, `repo${i}`, n));
            await startGitDaemon(processes, origins, LOADING_PORTS.git);
            const urls = repos.map((r) => gitUrl(r.name));
            const started = Date.now();
            assert.equal(publish(urls).length, repos.length);
            const seen = await waitFor("every origin visited, full", 300, () => {
                const s = stored(urls);
                return urls.every((u) => s[u].visits.some((v) => v.status === "full")) ? s : undefined;
            });
            console.log(
                `      ${repos.length} repositories loaded in ${((Date.now() - started) / 1000).toFixed(1)} s by ${pods.length} pods`,
            );
            for (const r of repos) {
                const o = seen[gitUrl(r.name)];
                console.log(`      ${r.name}: visits ${JSON.stringify(o.visits)}`);
                assert.ok(o.known, `${r.name}: the storage knows the origin`);
                assert.deepEqual(
                    o.visits.map((v) => v.status),
                    ["full"],
                    `${r.name}: one visit, full`,
                );
                assert.deepEqual(o.branches["refs/heads/main"], { type: "revision", target: r.head });
                assert.deepEqual(o.branches["HEAD"], { type: "alias", target: "refs/heads/main" });
                assert.ok(o.branches["refs/tags/v1.0"], `${r.name}: the tag is a branch of the snapshot`);
            }
            // Both pods took work: the queue is shared, each worker runs one task at a time.
            const ran = pods.map((p) => (podLog(p).match(/succeeded in/g) ?? []).length);
            console.log(`      tasks per pod: ${ran.join(", ")}`);
            assert.equal(
                ran.reduce((a, b) => a + b, 0),
                repos.length,
            );
        });

        it("the tasks' own statsd lines reach the exporter through the program's mapping: called, success and durations count the tasks", async () => {
            const total = (metric: string) =>
                [...exporter.metrics().matchAll(new RegExp(`^${metric}\\{([^}]*)\\} (\\S+)$`, "gm"))]
                    .filter(
                        (m) => m[1].includes('deployment="loader-git"') && m[1].includes(`task="${TASK}"`),
                    )
                    .reduce((a, m) => a + Number(m[2]), 0);
            // statsd is UDP, sent as each task ends: the last lines may still be on their way.
            await waitFor("the exporter to count 6 tasks", 30, () => total("swh_task_success_count") === 6);
            for (const line of exporter
                .metrics()
                .split("\n")
                .filter((l) => l.startsWith("swh_task_called_count{")))
                console.log(`      ${line}`);
            assert.equal(total("swh_task_called_count"), 6);
            assert.equal(total("swh_task_success_count"), 6);
            assert.equal(total("swh_task_duration_seconds_count"), 6);
            assert.equal(total("swh_task_failure_count"), 0);
        });

        it("the dashboard's task panels answer on these series, scraped by Prometheus: tasks called, none failed, their durations", async () => {
            await scraped(prom, "swh_task_success_count", 5);
            const panel = (title: string, i: number) =>
                dashboardPanels("swh-loader-.*").find((p) => p.title === title)!.targets[i].expr;
            const answer = async (title: string, i: number) => {
                const samples = await prom.query(lastMinute(panel(title, i)));
                assert.deepEqual(
                    samples.map((x) => x.metric.deployment),
                    ["loader-git"],
                    `${title} [${i}]`,
                );
                return samples[0].value;
            };
            const called = await answer("Task rate", 0);
            const failed = await answer("Task rate", 1);
            const p50 = await answer("Task duration (p50, p95)", 0);
            const p95 = await answer("Task duration (p50, p95)", 1);
            console.log(
                `      called ${called.toFixed(3)}/s, failed ${failed}/s, p50 ${p50.toFixed(2)} s, p95 ${p95.toFixed(2)} s`,
            );
            assert.ok(called > 0, "tasks called");
            // No task failed, and the exporter has no failure series: the panel reads 0, not "No data".
            assert.equal(failed, 0);
            // Within the bucket that holds the longest task Celery logged ("succeeded in <s>s").
            const longest = Math.max(
                ...pods.flatMap((p) =>
                    [...podLog(p).matchAll(/succeeded in ([\d.]+)s/g)].map((m) => Number(m[1])),
                ),
            );
            const edge = DURATION_BUCKETS.find((b) => b >= longest)!;
            assert.ok(
                p50 > 0 && p50 <= p95 && p95 <= edge,
                `p50 ${p50}, p95 ${p95}, longest task ${longest} s`,
            );
        });

        it("a pod deleted mid-task: its preStop's one SIGTERM lets the task finish within the grace period, and the worker exits 0", async () => {
            const big = makeRepository(origins, "big", 1500);
            const [id] = publish([gitUrl(big.name)]);
            const pod = await waitFor("a pod to start the task", 60, () =>
                pods.find((p) => podLog(p).includes(`[${id}] received`)),
            );
            const deleted = deleteLoaderPod(objects, pod);
            const log = podLog(pod);
            const grace = podTemplate(objects.workload).spec.terminationGracePeriodSeconds;
            console.log(
                `      ${pod.name}: preStop returned after ${deleted.preStopSeconds.toFixed(1)} s (grace ${grace} s), exit ${deleted.exitCode}`,
            );
            assert.ok(
                new RegExp(`\\[${id}\\] succeeded in`).test(log),
                "the task succeeded on the stopping pod",
            );
            assert.match(log, /[Ww]arm shutdown/);
            assert.doesNotMatch(log, /[Cc]old shutdown/);
            assert.equal(deleted.exitCode, 0);
            assert.ok(deleted.preStopSeconds < grace);
            const o = stored([gitUrl(big.name)])[gitUrl(big.name)];
            assert.deepEqual(
                o.visits.map((v) => v.status),
                ["full"],
            );
            assert.deepEqual(o.branches["refs/heads/main"], { type: "revision", target: big.head });
        });

        it("a ScaledJob's pod (job mode) runs one task and exits 0, leaving the next message to the next Job; one that finds none exits after its idle time", async () => {
            // The Deployment's pods would take the tasks: only Jobs' pods consume from here on.
            for (const p of pods) spawnSync("docker", ["rm", "-f", p.name], { stdio: "ignore" });
            // Job mode, polling every 5 s: a pod that finds no task stops after 10 s.
            const jobs = await loaderObjects("loader-git-scaledjob", { mode: "job", pollingInterval: 5 });
            const idle = Number(jobs.env.data.ONESHOT_IDLE_SECONDS);
            const repos = [10, 30].map((n, i) => makeRepository(origins, `job${i}`, n));
            const urls = repos.map((r) => gitUrl(r.name));
            const ids = publish(urls);
            const runJob = async (name: string, seconds: number) => {
                const pod = startLoaderPod(jobs, image, name, { [jobs.env.data.STATSD_HOST]: "127.0.0.1" });
                const started = Date.now();
                const exit = await waitFor(`${name} to exit`, seconds, () => podExit(pod));
                const log = podLog(pod);
                return {
                    exit,
                    log,
                    seconds: (Date.now() - started) / 1000,
                    tasks: log.match(/succeeded in/g) ?? [],
                };
            };
            const first = await runJob("loader-git-job-0", 180);
            const second = await runJob("loader-git-job-1", 180);
            for (const [i, job] of [first, second].entries()) {
                console.log(
                    `      job pod ${i}: ${job.tasks.length} task, exit ${job.exit} after ${job.seconds.toFixed(1)} s`,
                );
                assert.equal(job.exit, 0);
                assert.equal(job.tasks.length, 1, `job pod ${i} ran one task`);
                assert.match(job.log, /Canceling queue/, "it stops consuming when its task starts");
                assert.match(job.log, new RegExp(`\\[${ids[i]}\\] succeeded in`), "in the order published");
            }
            const s = stored(urls);
            for (const u of urls)
                assert.deepEqual(
                    s[u].visits.map((v) => v.status),
                    ["full"],
                    `${u}: one visit, full`,
                );
            const none = await runJob("loader-git-job-2", idle + 120);
            console.log(
                `      job pod with no task: exit ${none.exit} after ${none.seconds.toFixed(1)} s (idle ${idle} s)`,
            );
            assert.equal(none.exit, 0);
            assert.doesNotMatch(none.log, /received/);
            assert.ok(none.seconds >= idle, `it waited its idle time (${idle} s) for a task`);
        });
    });

    it("writes manifests that are valid against the Kubernetes and KEDA schemas", () => {
        const files = fs
            .readdirSync(RENDERED, { recursive: true })
            .map(String)
            .filter((f) => f.endsWith(".yaml"));
        const kinds: string[] = [];
        for (const f of files) {
            for (const doc of YAML.parseAllDocuments(fs.readFileSync(path.join(RENDERED, f), "utf8"))) {
                const obj = doc.toJS();
                if (!obj) continue;
                assert.doesNotThrow(() => validateObject(obj), f);
                kinds.push(`${obj.kind}/${obj.metadata.name}`);
            }
        }
        for (const k of [
            "Deployment/loader-git",
            "ScaledObject/loader-git",
            "TriggerAuthentication/loader-git-rabbitmq",
            "PrometheusRule/swh-elastic-workers",
        ]) {
            assert.ok(kinds.includes(k), `${k} in ${kinds.join(", ")}`);
        }
        assert.deepEqual(
            kinds.filter((k) => k.startsWith("Secret/")),
            [],
            "no Secret is rendered: its values would be in plain text",
        );
        assert.match(renderedGitImage(), /^127\.0\.0\.1:5055\/swh\/loader_git@sha256:[0-9a-f]{64}$/);
        // The registry asks for a login: the pods pull with the pull Secret made out of band, as the broker's.
        assert.deepEqual(renderedGitPod().imagePullSecrets, [{ name: "loader-git-registry" }]);
    });

    it("changes nothing on a second run, and a preview after it plans no change and no delete", async () => {
        assert.equal(second.code, 0, second.out.slice(-3000));
        const line = /resources: (.*)/.exec(second.out)![1];
        assert.match(line, /^same \d+$/, line);
        const again = await previewPlan(LOCAL_STACK);
        assert.deepEqual(again.changeSummary, { same: LOCAL_RESOURCES });
        await pulumiOk(["preview", "--expect-no-changes", "--stack", LOCAL_STACK], { label: false });
    });

    it("answers `pulumi stack output`, and a refresh of the pushed image finds it unchanged", async () => {
        const outputs = await stackOutputs(LOCAL_STACK);
        assert.equal(outputs.environment, "local");
        assert.match((outputs.imageRefs as Record<string, string>).git, /@sha256:[0-9a-f]{64}$/);
        // Rendered manifests have no cluster to be read back from (the box stack's `up --refresh` covers a
        // cluster); the image is read back from the registry.
        const image = freshPlan.steps.find((st) => st.type === "docker-build:index:Image")!.urn;
        await pulumiOk(
            ["refresh", "--yes", "--expect-no-changes", "--stack", LOCAL_STACK, "--target", image],
            {
                label: "refresh",
            },
        );
    });

    it("refuses a change that would delete a protected loader namespace, naming the key that lifts it", async () => {
        // Protection as every real stack has it (the local stack turns it off to be destroyable).
        const protectedFile = localConfigWith({ protect: true });
        await pulumiOk(["up", "--yes", "--stack", LOCAL_STACK, "--config-file", protectedFile], {
            label: "up protect",
        });
        const git = YAML.parse(fs.readFileSync(protectedFile, "utf8")).config["elastic-workers:loaders"][0];
        const renamed = localConfigWith({ protect: true, loaders: [{ ...git, loader: "svn" }] });
        const r = await pulumi(["preview", "--stack", LOCAL_STACK, "--config-file", renamed], {
            label: "preview",
        });
        assert.notEqual(r.code, 0, r.out);
        assert.match(r.out, /loader-git-namespace[\s\S]*protect/);
        assert.match(r.out, /elastic-workers:protect is true/);
        assert.match(r.out, /pulumi config set protect false/);
        // The stack file's own setting (protect: false) lifts it again, so `demo:down` can destroy.
        await pulumiOk(["up", "--yes", "--stack", LOCAL_STACK], { label: "up unprotect" });
    });

    it("with images.buildOnPreview, a pin pip cannot install fails the preview, and the stack stays as it was", async () => {
        const file = path.join(ROOT, "Pulumi.local.yaml");
        const git = YAML.parse(fs.readFileSync(file, "utf8")).config["elastic-workers:loaders"][0];
        const images = YAML.parse(fs.readFileSync(file, "utf8")).config["elastic-workers:images"];
        const broken = localConfigWith({
            images: { ...images, buildOnPreview: true },
            loaders: [{ ...git, packages: ["swh.loader.git==999.0.0", "swh.scheduler==3.6.0"] }],
        });
        const r = await pulumi(["preview", "--stack", LOCAL_STACK, "--config-file", broken], {
            label: "preview broken pin",
        });
        assert.notEqual(r.code, 0, r.out);
        assert.match(r.out, /image-git-image/);
        assert.match(r.out, /swh\.loader\.git==999\.0\.0/);
        // Nothing was pushed or applied: the stack still previews clean with its own config.
        await pulumiOk(["preview", "--expect-no-changes", "--stack", LOCAL_STACK], { label: false });
    });

    it("deploys a prebuilt image given by tag, pinned to the digest the registry serves for that tag", async () => {
        // The program resolves the tag with @pulumi/docker's getRegistryImage; its provider plugin cannot be
        // built here, so a stand-in serves that one function from the registry's API (registry-provider.ts).
        const repo = "swh/loader_git";
        const tag = registryTags(registry, repo)[0];
        const digest = registryDigest(registry, repo, tag);
        assert.match(digest ?? "", /^sha256:[0-9a-f]{64}$/);
        const git = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.local.yaml"), "utf8")).config[
            "elastic-workers:loaders"
        ][0];
        const { packages: _built, ...settings } = git;
        const byTag = localConfigWith({
            loaders: [{ ...settings, image: `${registry.address}/${repo}:${tag}` }],
        });
        // Credentials as `docker login` leaves them: the docker provider's own fallback.
        const dockerConfig = fs.mkdtempSync(path.join(os.tmpdir(), "swh-docker-config-"));
        const auth = Buffer.from(`${registry.username}:${registry.password}`).toString("base64");
        fs.writeFileSync(
            path.join(dockerConfig, "config.json"),
            JSON.stringify({ auths: { [registry.address]: { auth } } }),
            { mode: 0o600 },
        );
        const env = { ...withStandInPlugins(), DOCKER_CONFIG: dockerConfig };
        try {
            await pulumiOk(["up", "--yes", "--stack", LOCAL_STACK, "--config-file", byTag], {
                label: "up by tag",
                env,
            });
            assert.equal(renderedGitImage(), `${registry.address}/${repo}@${digest}`);
        } finally {
            fs.rmSync(dockerConfig, { recursive: true, force: true });
            // Back to the built image, as the stack file has it.
            await pulumiOk(["up", "--yes", "--stack", LOCAL_STACK], { label: "up built" });
        }
    });

    it("names what the local stack does not do", () => {
        assert.match(
            first.out,
            /node preparation over SSH: not run .* the pulumi-command provider plugin cannot be built here/,
        );
        assert.match(first.out, /pool registration into Rancher: off/);
    });

    it("keeps every secret out of the state and the rendered files in clear text", async () => {
        const secrets = [registry.password];
        // `pulumi stack export` as an operator runs it: secrets stay encrypted.
        const state = await pulumiOk(["stack", "export", "--stack", LOCAL_STACK], { label: false });
        const rendered = fs
            .readdirSync(RENDERED, { recursive: true })
            .map(String)
            .filter((f) => f.endsWith(".yaml"))
            .map((f) => fs.readFileSync(path.join(RENDERED, f), "utf8"))
            .join("\n");
        for (const s of secrets) {
            assert.ok(!state.includes(s), "a secret is in the state in clear text");
            assert.ok(!rendered.includes(s), "a secret is in a rendered manifest in clear text");
        }
        assert.match(state, /"ciphertext"/, "secrets are in the state, encrypted");
    });
});
