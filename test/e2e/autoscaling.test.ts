/**
 * The autoscaling, for real: the box (test/rig/box) runs a Kubernetes control plane, kwok nodes shaped like the
 * pool's hosts, the real KEDA operator and metrics server, RabbitMQ, and a Celery worker per Running loader
 * pod; the real engine deploys Pulumi.box.yaml into it. Then tasks are published and the cluster is watched.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { BOX, Box, boxDown, startRabbitmq, stopRabbitmq, withBridgePaused } from "../rig/box/box";
import { PlannedStep, previewPlan, pulumi, pulumiOk, selectStack } from "../rig/engine/cli";
import { ROOT } from "../rig/engine/env";
import { BoxLoader, boxWithStack, publish } from "../rig/box/stack";
import { BUSY_DIR } from "../rig/box/services";
import { ensureNode, poolNodes } from "../rig/box/nodes";
import { BOX_STACK_FILE } from "../rig/box/stack";
import {
    Sampler,
    atZero,
    busyPods,
    replicaState,
    scaledObjectConditions,
    taskRecords,
    terminations,
    until,
} from "../rig/box/watch";

describe("autoscaling in the box: real KEDA, HPA, scheduler and RabbitMQ", function () {
    let box: Box;
    let git: BoxLoader;
    let svn: BoxLoader;
    let sampler: Sampler;
    const fits: Record<string, number> = {};
    const run = `t${Date.now()}`;

    const state = (l: BoxLoader) => replicaState(box.kube, l.namespace, `loader-${l.loader}`);
    const done = (prefix: string) => taskRecords(box.taskRecord, prefix);
    /** At least `n` of the loader's workers busy (their pods marked by the image's deletion-cost module). */
    const busyWorkers = (l: BoxLoader, n: number) =>
        until(`${n} ${l.loader} worker(s) busy`, 90, async () => {
            const b = await busyPods(box.kube, l.namespace, `loader-${l.loader}`);
            return b.length >= n ? b : undefined;
        });
    /** Workers stopped while busy since `since`, but for the pods a test deleted itself. */
    const busyStops = (l: BoxLoader, since: number, deletedByTest: string[] = []) =>
        terminations(box.terminations, since, l.namespace).filter(
            (t) => t.busy && !deletedByTest.includes(t.pod),
        );
    let burstStart = 0;
    /** No worker of the loader marked busy: an earlier scenario's last task has said it ended. */
    const noneBusy = (l: BoxLoader) =>
        until(`no ${l.loader} worker busy`, 60, async () =>
            (await busyPods(box.kube, l.namespace, `loader-${l.loader}`)).length === 0 ? true : undefined,
        );
    /** The loader's desired replicas every 2 s until `n` tasks of `prefix` are recorded (or `deadline`, epoch ms). */
    async function desiredUntilDone(
        l: BoxLoader,
        prefix: string,
        n: number,
        deadline: number,
    ): Promise<number[]> {
        const seen: number[] = [];
        while (done(prefix).length < n && Date.now() < deadline) {
            seen.push((await state(l)).desired);
            await new Promise((r) => setTimeout(r, 2000));
        }
        return seen;
    }

    /** Every task of `prefix` recorded at least once (nothing lost); returns those recorded more than once. */
    function assertAtLeastOnce(prefix: string, count: number): string[] {
        const ids = done(`${prefix}-`).map((r) => r.task);
        const missing = Array.from({ length: count }, (_, i) => `${prefix}-${i}`).filter(
            (id) => !ids.includes(id),
        );
        assert.deepEqual(missing, [], `tasks lost: ${missing.join(", ")}`);
        return [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
    }

    /** Every task of `prefix` recorded exactly once: nothing lost, nothing duplicated. */
    function assertExactlyOnce(prefix: string, count: number): void {
        const dups = assertAtLeastOnce(prefix, count);
        assert.deepEqual(dups, [], `tasks run more than once: ${dups.join(", ")}`);
    }

    before(async function () {
        const ready = await boxWithStack();
        box = ready.box;
        [git, svn] = ready.loaders;
        Object.assign(fits, ready.fits);
        console.log(`      stack: ${JSON.stringify(ready.changes)}`);
        sampler = new Sampler(
            box.kube,
            [git, svn].map((l) => ({
                name: l.loader,
                namespace: l.namespace,
                deployment: `loader-${l.loader}`,
            })),
        );
    });

    // Leave nothing running; the box's data (etcd, queues) stays for the next run, like the stack's state.
    after(async () => {
        await sampler?.stop();
        box?.kube.close();
        await boxDown();
    });

    it("1. idle queues: 0 replicas, the ScaledObject ready and inactive", async () => {
        for (const l of [git, svn]) {
            const s = await until(`${l.loader} at 0 replicas`, l.cooldownPeriod + 30, async () => {
                const s = await state(l);
                return atZero(s) ? s : undefined;
            });
            assert.equal(s.desired, 0);
            // KEDA creates the conditions as Unknown and decides Active at the scale loop's first poll, which can
            // come after Ready (CI saw Ready True with Active still Unknown right after the stack's update).
            const c = await until(
                `${l.loader}'s ScaledObject Ready and Active decided`,
                l.pollingInterval + 30,
                async () => {
                    const c = await scaledObjectConditions(box.kube, l.namespace, `loader-${l.loader}`);
                    return c.Ready === "True" && (c.Active === "True" || c.Active === "False")
                        ? c
                        : undefined;
                },
            );
            assert.equal(c.Active, "False", `${l.loader}: idle queues must not activate the ScaledObject`);
        }
    });

    it("2. N tasks published: a worker within the polling interval, then min(ceil(N/value), what fits), never over a node's allocatable", async () => {
        const n = 40;
        // Long enough that the backlog still asks for every slot when the HPA's steps (4 pods per 15 s) get there:
        // with 15 s tasks the queue fell below 2 x 10 within seconds of the tenth pod, and a loaded machine missed it.
        const seconds = 30;
        burstStart = Date.now();
        publish(box, git.queues[0], n, seconds, `${run}-burst`);
        const t0 = Date.now();
        await until(
            "the first git pod Running",
            git.pollingInterval + 10,
            async () => (await state(git)).running > 0,
        );
        const firstWorker = (Date.now() - t0) / 1000;
        console.log(
            `      first worker Running after ${firstWorker.toFixed(1)}s (polling interval ${git.pollingInterval}s)`,
        );
        assert.ok(firstWorker <= git.pollingInterval + 8, `first worker after ${firstWorker}s`);

        const expected = Math.min(Math.ceil(n / git.queueThreshold), fits.git);
        let last = "";
        const peak = await until(
            `git at ${expected} Running replicas`,
            120,
            async () => {
                const s = await state(git);
                last = JSON.stringify(s);
                return s.running === expected ? s : undefined;
            },
            () => `last seen ${last}`,
        );
        console.log(
            `      peak: ${JSON.stringify(peak)} (ceil(${n}/${git.queueThreshold}) = ${Math.ceil(n / git.queueThreshold)}, pool holds ${fits.git})`,
        );
        assert.equal(peak.desired, expected);
        assert.equal(peak.pending, 0, "the program clamps maxReplicas to what fits: nothing left Pending");
        assert.deepEqual(sampler.overcommits(), [], "a node held more than its allocatable");
    });

    it("4. queues drained: back to 0 replicas after the cooldown", async () => {
        await until("all 40 burst tasks done", 240, async () => done(`${run}-burst-`).length >= 40);
        const drained = Date.now();
        await until("git back to 0 pods", git.cooldownPeriod + 90, async () => atZero(await state(git)));
        console.log(
            `      0 pods ${((Date.now() - drained) / 1000).toFixed(1)}s after the last task (cooldown ${git.cooldownPeriod}s)`,
        );
    });

    it("5. every published task completed exactly once across the scale-downs, and no scale-down stopped a busy worker", () => {
        assertExactlyOnce(`${run}-burst`, 40);
        const pods = new Set(done(`${run}-burst-`).map((r) => r.pod));
        assert.ok(pods.size > 1, `the burst ran on ${pods.size} pod(s)`);
        const stops = terminations(box.terminations, burstStart, git.namespace);
        console.log(
            `      ${stops.length} workers stopped by scale-downs, ${stops.filter((t) => t.busy).length} busy`,
        );
        assert.ok(stops.length > 0, "the burst's workers were scaled down");
        assert.deepEqual(busyStops(git, burstStart), [], "a scale-down stopped a busy worker");
    });

    it("8. tasks that outlive their queues' last messages keep their workers, on two queues of one loader (summed)", async () => {
        const since = Date.now();
        assert.ok(git.queues.length >= 2, "the box's git loader consumes two queues");
        publish(box, git.queues[0], 1, 30, `${run}-tail0`);
        publish(box, git.queues[1], 1, 30, `${run}-tail1`);
        const took = (await busyWorkers(git, 2)).map((p) => p.metadata.name);
        // Nothing is ready in the queues now: with early ack KEDA would read 0 and scale to zero after the
        // cooldown; with the HPA's largest metric alone it would want 1 replica. Their sum is 2.
        const seen = await desiredUntilDone(git, `${run}-tail`, 2, since + 90_000);
        console.log(
            `      desired replicas while both ran: ${seen.join(" ")} (cooldown ${git.cooldownPeriod}s)`,
        );
        assert.ok(seen.length * 2 > git.cooldownPeriod, "watched for longer than the cooldown");
        assert.ok(
            seen.every((d) => d >= 2),
            `a worker was scaled away mid-task: ${seen.join(" ")}`,
        );
        assertExactlyOnce(`${run}-tail0`, 1);
        assertExactlyOnce(`${run}-tail1`, 1);
        for (const r of done(`${run}-tail`))
            assert.ok(took.includes(r.pod), `${r.task} ran once, on a pod that took it`);
        assert.deepEqual(busyStops(git, since), [], "a busy worker was stopped");
    });

    it("9. a worker killed past its grace period, and a pool process killed alone (an OOM kill): both tasks delivered again and completed once", async () => {
        const since = Date.now();
        await noneBusy(git);
        publish(box, git.queues[0], 2, 20, `${run}-killed`);
        const [killed, oom] = (await busyWorkers(git, 2)).map((p) => p.metadata.name);
        // A grace period of 2 s: the warm shutdown cannot finish a 20 s task, so the worker is SIGKILLed.
        await box.kube.delete(`/api/v1/namespaces/${git.namespace}/pods/${killed}`, 2);
        // The pool process running a task flags itself as <pod>.<pid>: kill it alone, as the kernel's OOM
        // killer would; the worker's main process lives on (task_reject_on_worker_lost requeues the task).
        const flag = fs.readdirSync(BUSY_DIR).find((f) => f.startsWith(`${oom}.`))!;
        process.kill(Number(flag.split(".").pop()), "SIGKILL");
        await until("both tasks completed", 120, async () => done(`${run}-killed-`).length >= 2);
        assertExactlyOnce(`${run}-killed`, 2);
        for (const r of done(`${run}-killed-`))
            assert.notEqual(r.pod, killed, `${r.task} completed by another worker than the killed one`);
        const stopped = terminations(box.terminations, since, git.namespace);
        assert.ok(
            stopped.some((t) => t.pod === killed && t.busy),
            "the killed worker was busy when it was stopped",
        );
        assert.deepEqual(busyStops(git, since, [killed]), [], "a scale-down stopped a busy worker");
    });

    it("10. a node lost while its pods run tasks: each of their tasks is delivered again and completed once", async () => {
        const since = Date.now();
        await noneBusy(git);
        publish(box, git.queues[0], 6, 40, `${run}-lost`);
        const running = await busyWorkers(git, 6);
        const byNode = new Map<string, string[]>();
        for (const p of running)
            byNode.set(p.spec.nodeName, [...(byNode.get(p.spec.nodeName) ?? []), p.metadata.name]);
        const [node, lost] = [...byNode.entries()].sort((a, b) => b[1].length - a[1].length)[0];
        console.log(`      deleting node ${node}, running ${lost.length} busy workers`);
        await box.kube.delete(`/api/v1/nodes/${node}`);
        try {
            // The pod garbage collector deletes the pods of a node that is gone (after its 40 s quarantine).
            await until("the 6 tasks completed", 240, async () => done(`${run}-lost-`).length >= 6);
        } finally {
            await ensureNode(
                box.kube,
                poolNodes(BOX_STACK_FILE).find((n) => n.name === node)!,
            );
        }
        assertExactlyOnce(`${run}-lost`, 6);
        const gone = terminations(box.terminations, since, git.namespace).filter((t) => t.how === "lost");
        assert.deepEqual(
            gone.map((t) => t.pod).sort(),
            [...lost].sort(),
            "the lost node's workers died with it, busy",
        );
        assert.ok(gone.every((t) => t.busy));
        for (const r of done(`${run}-lost-`))
            assert.ok(!lost.includes(r.pod), `${r.task} completed on a lost pod`);
        assert.deepEqual(busyStops(git, since, lost), [], "a scale-down stopped a busy worker");
        await until("git back to 0", git.cooldownPeriod + 90, async () => atZero(await state(git)));
    });

    it("11. a task reaching a worker whose pod is being deleted goes back to its queue before it starts, and runs once on another pod", async () => {
        // The race a scale-down at SWH's pace met: the ReplicaSet picks an idle pod, and before the kubelet's
        // SIGTERM its worker takes the next task. The paused bridge (a slow kubelet) holds that gap open.
        const since = Date.now();
        await noneBusy(git);
        // Long enough to outlast the second worker's start (a KEDA poll, an HPA sync of 15 s, the worker's start).
        publish(box, git.queues[0], 1, 40, `${run}-chosen`);
        const [chosen] = (await busyWorkers(git, 1)).map((p) => p.metadata.name);
        // A second worker, busy until after the hand-back, so that the chosen one is the only one free (within
        // the git loader's 60 s task timeout in Pulumi.box.yaml, past which Celery would fail the task).
        publish(box, git.queues[0], 1, 55, `${run}-other`);
        await busyWorkers(git, 2);
        const log = path.join(BOX, "logs", "workers", `${chosen}.log`);
        const handBacks = () =>
            fs
                .readFileSync(log, "utf8")
                .split("\n")
                .filter((l) => l.includes("goes back to its queue")).length;
        await withBridgePaused(async () => {
            await box.kube.delete(`/api/v1/namespaces/${git.namespace}/pods/${chosen}`);
            await until("the chosen pod's task done", 90, async () => done(`${run}-chosen-`).length >= 1);
            publish(box, git.queues[0], 1, 5, `${run}-handed`);
            await until(`${chosen} hands the task back`, 30, async () => handBacks() > 0);
        });
        await until("the handed-back task done", 90, async () => done(`${run}-handed-`).length >= 1);
        assertExactlyOnce(`${run}-handed`, 1);
        const [handed] = done(`${run}-handed-`);
        assert.notEqual(handed.pod, chosen, "the task ran on the pod being deleted");
        assert.equal(
            handBacks(),
            1,
            "the worker took the task again after handing it back (still consuming)",
        );
        const stop = terminations(box.terminations, since, git.namespace).find((t) => t.pod === chosen);
        assert.ok(stop, `${chosen} was not stopped`);
        assert.equal(stop.busy, false, `${chosen} was busy when its SIGTERM came`);
        assertExactlyOnce(`${run}-chosen`, 1);
        await until(`${run}-other done`, 120, async () => done(`${run}-other-`).length >= 1);
        await until("git back to 0", git.cooldownPeriod + 90, async () => atZero(await state(git)));
    });

    it("3. two loaders sharing the pool both make progress; what does not fit stays Pending", async () => {
        // svn first: whichever loader wakes first takes the free room, and the other waits in Pending.
        publish(box, svn.queues[0], 16, 15, `${run}-shared-svn`);
        await until("svn Running", 60, async () => (await state(svn)).running > 0);
        publish(box, git.queues[0], 30, 15, `${run}-shared-git`);
        const both = await until("git and svn both Running with pods Pending", 120, async () => {
            const g = await state(git);
            const s = await state(svn);
            return g.running > 0 && s.running > 0 && g.pending + s.pending > 0 ? { g, s } : undefined;
        });
        console.log(`      git ${JSON.stringify(both.g)}; svn ${JSON.stringify(both.s)}`);
        await until(
            "tasks of both loaders completing",
            120,
            async () => done(`${run}-shared-git-`).length > 0 && done(`${run}-shared-svn-`).length > 0,
        );
        await until(
            "both backlogs done",
            400,
            async () => done(`${run}-shared-git-`).length >= 30 && done(`${run}-shared-svn-`).length >= 16,
        );
        assertExactlyOnce(`${run}-shared-git`, 30);
        assertExactlyOnce(`${run}-shared-svn`, 16);
        assert.deepEqual(sampler.overcommits(), [], "a node held more than its allocatable");
        // With pods Pending, the scheduler looked for victims: what stands for the DaemonSets is not one.
        const overhead = await box.kube.list(
            "/api/v1/namespaces/kube-system/pods?labelSelector=box%3Doverhead",
        );
        const nodes = await box.kube.list("/api/v1/nodes");
        assert.equal(overhead.length, nodes.length, "an overhead pod on every node, none preempted");
        for (const p of overhead) {
            assert.equal(p.spec.priority, 2000001000, `${p.metadata.name} runs at system-node-critical`);
            assert.equal(
                p.metadata.deletionTimestamp,
                undefined,
                `${p.metadata.name} is not being preempted`,
            );
        }
        for (const l of [git, svn]) {
            await until(`${l.loader} back to 0`, l.cooldownPeriod + 90, async () => atZero(await state(l)));
        }
    });

    it("6. RabbitMQ stopped: the ScaledObject falls back without stopping busy workers, and recovers", async () => {
        // Four 40 s tasks at two per replica: two busy workers, one more than the fallback's replicas.
        publish(box, svn.queues[0], 4, 40, `${run}-fallback`);
        const busy = await until("svn at 2 Running replicas", 90, async () => {
            const s = await state(svn);
            return s.running >= 2 ? s : undefined;
        });
        assert.ok(busy.running > svn.fallback.replicas, "more workers busy than the fallback's replicas");
        assert.equal(svn.fallback.behavior, "currentReplicasIfHigher", "the default behaviour");
        const stoppedAt = Date.now() / 1000;
        await stopRabbitmq();
        try {
            const c = await until("the Fallback condition", 90, async () => {
                const c = await scaledObjectConditions(box.kube, svn.namespace, "loader-svn");
                return c.Fallback === "True" ? c : undefined;
            });
            assert.equal(c.Fallback, "True");
            // A static fallback would now set the fallback's replicas and stop a busy worker mid-task; the
            // default keeps what runs. Watched over 10 polls of the ScaledObject (pollingInterval 2 s).
            const seen: { desired: number; running: number }[] = [];
            for (let i = 0; i < 10; i++) {
                seen.push(await state(svn));
                await new Promise((r) => setTimeout(r, 2000));
            }
            console.log(`      fallback: ${JSON.stringify(seen[seen.length - 1])}`);
            assert.ok(
                seen.every((s) => s.desired >= busy.running),
                `desired stayed at ${busy.running} or more: ${JSON.stringify(seen.map((s) => s.desired))}`,
            );
        } finally {
            await startRabbitmq();
        }
        await until("the Fallback condition cleared", 90, async () => {
            const c = await scaledObjectConditions(box.kube, svn.namespace, "loader-svn");
            return c.Fallback === "False" || c.Fallback === undefined;
        });
        await until(
            "the fallback tasks done",
            240,
            async () => new Set(done(`${run}-fallback-`).map((r) => r.task)).size >= 4,
        );
        // At least once: a task that ended while the broker was down could not be acknowledged, so RabbitMQ
        // delivers it again when it is back. Only those can run twice.
        const dups = assertAtLeastOnce(`${run}-fallback`, 4);
        // Each task's first run: those started before the outage were running when it began.
        const firstStart = new Map<string, number>();
        for (const r of done(`${run}-fallback-`))
            firstStart.set(r.task, Math.min(firstStart.get(r.task) ?? Infinity, r.started));
        const runningAtStop = [...firstStart]
            .filter(([, started]) => started < stoppedAt)
            .map(([task]) => task);
        console.log(
            `      run again after the outage: ${dups.length} of the ${runningAtStop.length} running when RabbitMQ stopped`,
        );
        for (const d of dups)
            assert.ok(runningAtStop.includes(d), `${d} ran twice but was not running at the outage`);
        await until("svn back to 0", svn.cooldownPeriod + 90, async () => atZero(await state(svn)));
        assert.deepEqual(sampler.overcommits(), [], "a node held more than its allocatable");
    });

    it("7. the example consumer, installed from the packed tarball, previews, deploys and re-previews clean", async function () {
        // As another SWH stack would: `npm pack` here, `npm install` there, then the CLI in its directory.
        const example = path.join(ROOT, "examples", "keda-loader-only");
        execFileSync("npm", ["pack", "--silent", "--pack-destination", ROOT], {
            cwd: ROOT,
            stdio: "inherit",
        });
        // The tarball keeps its version: an earlier install of it would be taken as up to date.
        fs.rmSync(path.join(example, "node_modules", "@swh"), { recursive: true, force: true });
        execFileSync("npm", ["install", "--no-audit", "--no-fund", "--no-package-lock", "--prefer-offline"], {
            cwd: example,
            stdio: "inherit",
        });
        const installed = require(path.join(example, "node_modules/@swh/elastic-workers/package.json"));
        assert.equal(installed.exports["."].default, "./dist/components/index.js");
        const opts = { cwd: example, env: { KUBECONFIG: box.kubeconfig } };
        await pulumi(["stack", "rm", "--yes", "--force", "--preserve-config", "box"], {
            ...opts,
            label: false,
        });
        await selectStack("box", opts);
        const fresh = await previewPlan("box", opts);
        const kinds = (steps: PlannedStep[]) => [...new Set(steps.map((st) => st.type))].sort();
        assert.deepEqual(kinds(fresh.steps), [
            "kubernetes:apps/v1:Deployment",
            "kubernetes:core/v1:ConfigMap",
            "kubernetes:core/v1:Namespace",
            "kubernetes:core/v1:Secret",
            "kubernetes:core/v1:ServiceAccount",
            "kubernetes:keda.sh/v1alpha1:ScaledObject",
            "kubernetes:keda.sh/v1alpha1:TriggerAuthentication",
            "kubernetes:rbac.authorization.k8s.io/v1:Role",
            "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
            "pulumi:pulumi:Stack",
            "swh:elastic:KedaScaledLoader",
        ]);
        // The Stack, the component and its ten Kubernetes objects (namespace, env and logging ConfigMaps, broker
        // Secret, the worker's ServiceAccount, Role and RoleBinding, Deployment, TriggerAuthentication,
        // ScaledObject); the default provider is not a step.
        assert.deepEqual(fresh.changeSummary, { create: 12 });
        assert.equal(fresh.steps.length, 12);
        try {
            await pulumiOk(["up", "--yes", "--stack", "box"], { ...opts, label: "example up" });
            const again = await previewPlan("box", opts);
            assert.deepEqual(again.changeSummary, { same: 12 });
            const so = await box.kube.get(
                "/apis/keda.sh/v1alpha1/namespaces/swh-example-git/scaledobjects/loader-git",
            );
            assert.equal(so.metadata?.name, "loader-git");
        } finally {
            await pulumiOk(["destroy", "--yes", "--stack", "box"], { ...opts, label: "example destroy" });
        }
    });
});
