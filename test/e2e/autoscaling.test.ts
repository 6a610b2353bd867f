/**
 * The autoscaling, for real: the box (test/rig/box) runs a Kubernetes control plane, kwok nodes shaped like the
 * pool's hosts, the real KEDA operator and metrics server, RabbitMQ, and a Celery worker per Running loader
 * pod; the real engine deploys Pulumi.box.yaml into it. Then tasks are published and the cluster is watched.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as path from "path";
import { Box, boxDown, startRabbitmq, stopRabbitmq } from "../rig/box/box";
import { PlannedStep, previewPlan, pulumi, pulumiOk, selectStack } from "../rig/engine/cli";
import { ROOT } from "../rig/engine/env";
import { BoxLoader, boxWithStack, publish } from "../rig/box/stack";
import { Sampler, atZero, replicaState, scaledObjectConditions, taskRecords, until } from "../rig/box/watch";

describe("autoscaling in the box: real KEDA, HPA, scheduler and RabbitMQ", function () {
    let box: Box;
    let git: BoxLoader;
    let svn: BoxLoader;
    let sampler: Sampler;
    const fits: Record<string, number> = {};
    const run = `t${Date.now()}`;

    const state = (l: BoxLoader) => replicaState(box.kube, l.namespace, `loader-${l.loader}`);
    const done = (prefix: string) => taskRecords(box.taskRecord, prefix);

    /** Every task of `prefix` recorded exactly once: nothing lost, nothing duplicated. */
    function assertExactlyOnce(prefix: string, count: number): void {
        const records = done(`${prefix}-`);
        const ids = records.map((r) => r.task);
        const dups = ids.filter((id, i) => ids.indexOf(id) !== i);
        assert.deepEqual(dups, [], `tasks run more than once: ${dups.join(", ")}`);
        const missing = Array.from({ length: count }, (_, i) => `${prefix}-${i}`).filter(
            (id) => !ids.includes(id),
        );
        assert.deepEqual(missing, [], `tasks lost: ${missing.join(", ")}`);
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
            const c = await until(`${l.loader}'s ScaledObject conditions`, 30, async () => {
                const c = await scaledObjectConditions(box.kube, l.namespace, `loader-${l.loader}`);
                return c.Ready === "True" && c.Active ? c : undefined;
            });
            assert.equal(c.Active, "False", `${l.loader}: idle queues must not activate the ScaledObject`);
        }
    });

    it("2. N tasks published: a worker within the polling interval, then min(ceil(N/value), what fits), never over a node's allocatable", async () => {
        const n = 40;
        // Long enough that the backlog still asks for every slot when the HPA's steps (4 pods per 15 s) get there:
        // with 15 s tasks the queue fell below 2 x 10 within seconds of the tenth pod, and a loaded machine missed it.
        const seconds = 30;
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

    it("5. every published task completed exactly once across the scale-downs", () => {
        assertExactlyOnce(`${run}-burst`, 40);
        const pods = new Set(done(`${run}-burst-`).map((r) => r.pod));
        assert.ok(pods.size > 1, `the burst ran on ${pods.size} pod(s)`);
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
        await until("the fallback tasks done", 240, async () => done(`${run}-fallback-`).length >= 4);
        assertExactlyOnce(`${run}-fallback`, 4);
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
            "kubernetes:keda.sh/v1alpha1:ScaledObject",
            "kubernetes:keda.sh/v1alpha1:TriggerAuthentication",
            "pulumi:pulumi:Stack",
            "swh:elastic:KedaScaledLoader",
        ]);
        // The Stack, the component and its seven Kubernetes objects (namespace, env and logging ConfigMaps, broker
        // Secret, Deployment, TriggerAuthentication, ScaledObject); the default provider is not a step.
        assert.deepEqual(fresh.changeSummary, { create: 9 });
        assert.equal(fresh.steps.length, 9);
        try {
            await pulumiOk(["up", "--yes", "--stack", "box"], { ...opts, label: "example up" });
            const again = await previewPlan("box", opts);
            assert.deepEqual(again.changeSummary, { same: 9 });
            const so = await box.kube.get(
                "/apis/keda.sh/v1alpha1/namespaces/swh-example-git/scaledobjects/loader-git",
            );
            assert.equal(so.metadata?.name, "loader-git");
        } finally {
            await pulumiOk(["destroy", "--yes", "--stack", "box"], { ...opts, label: "example destroy" });
        }
    });
});
