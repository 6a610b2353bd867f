import { strict as assert } from "assert";
import { DEFAULT_HPA_BEHAVIOR } from "../../components/keda-scaled-loader/args";
import { scaledJob, scaledObject, triggerName } from "../../components/keda-scaled-loader/scaling";
import { base, objectsOf } from "../harness/loader-objects";

describe("loader builders", () => {
    it("ScaledObject: SWH's polling, cooldown and fallback; QueueLength over http counting unacked; scale to zero", () => {
        const { scaled, triggerAuth } = objectsOf({ ...base, queues: ["q1", "q2"] });
        const spec = (scaled as ReturnType<typeof scaledObject>).spec;
        assert.equal(spec.pollingInterval, 30);
        assert.equal(spec.cooldownPeriod, 300);
        assert.equal(spec.minReplicaCount, 0);
        assert.equal(
            spec.idleReplicaCount,
            undefined,
            "KEDA rejects idleReplicaCount equal to minReplicaCount",
        );
        assert.equal(spec.maxReplicaCount, 5);
        // A management API outage keeps the busy workers: never fewer than are running (issue 12).
        assert.deepEqual(spec.fallback, {
            failureThreshold: 3,
            replicas: 1,
            behavior: "currentReplicasIfHigher",
        });
        assert.deepEqual(spec.advanced!.horizontalPodAutoscalerConfig!.behavior, DEFAULT_HPA_BEHAVIOR);
        assert.equal(spec.triggers.length, 2);
        for (const [i, t] of spec.triggers.entries()) {
            assert.equal(t.type, "rabbitmq");
            assert.deepEqual(t.metadata, {
                protocol: "http",
                mode: "QueueLength",
                value: "1",
                activationValue: "0",
                queueName: `q${i + 1}`,
                vhostName: "/",
                excludeUnacknowledged: "false",
            });
            assert.equal(t.authenticationRef!.name, "loader-git-rabbitmq");
        }
        assert.deepEqual(triggerAuth.spec!.secretTargetRef, [
            { parameter: "host", name: "loader-git-broker", key: "host" },
        ]);
    });

    it("the fallback behaviour can be KEDA's static one, and an unknown one is refused naming the key", () => {
        const { scaled } = objectsOf({
            ...base,
            fallback: { failureThreshold: 2, replicas: 3, behavior: "static" },
        });
        assert.deepEqual((scaled as ReturnType<typeof scaledObject>).spec.fallback, {
            failureThreshold: 2,
            replicas: 3,
            behavior: "static",
        });
        assert.throws(
            () =>
                objectsOf({
                    ...base,
                    fallback: { failureThreshold: 2, replicas: 3, behavior: "max" as never },
                }),
            /test\.fallback\.behavior: expected one of currentReplicasIfHigher, static, currentReplicas, currentReplicasIfLower; got "max"/,
        );
    });

    it("a floor above zero still idles at zero", () => {
        const spec = (objectsOf({ ...base, minReplicas: 2 }).scaled as ReturnType<typeof scaledObject>).spec;
        assert.equal(spec.minReplicaCount, 2);
        assert.equal(spec.idleReplicaCount, 0);
    });

    it("scaleToZero false keeps the floor running when idle (no idleReplicaCount)", () => {
        const spec = (
            objectsOf({ ...base, minReplicas: 2, scaleToZero: false }).scaled as ReturnType<
                typeof scaledObject
            >
        ).spec;
        assert.equal(spec.minReplicaCount, 2);
        assert.equal(spec.idleReplicaCount, undefined);
    });

    it("ScaledJob mode: one-shot workers, one task per Job, gradual rollout, KEDA's default strategy (running Jobs' tasks are still in the queue), deadline past the task timeout", () => {
        const { scaled, env } = objectsOf({
            ...base,
            mode: "job",
            taskTimeoutSeconds: 36000,
            consumerTimeoutSeconds: 72000,
        });
        const spec = (scaled as ReturnType<typeof scaledJob>).spec!;
        assert.deepEqual(spec.rollout, { strategy: "gradual" });
        assert.deepEqual(spec.scalingStrategy, { strategy: "default", multipleScalersCalculation: "sum" });
        assert.equal(spec.triggers[0].metadata.value, "1", "one task per Job, whatever the concurrency");
        assert.equal(spec.jobTargetRef.activeDeadlineSeconds, 36300);
        assert.equal(spec.jobTargetRef.template.spec!.restartPolicy, "Never");
        assert.equal(env.data.WORKER_MODE, "oneshot");
        // A pod that finds no task (another took it) stops after two of KEDA's polls (30 s by default).
        assert.equal(env.data.ONESHOT_IDLE_SECONDS, "60");
        assert.equal(
            objectsOf(base).env.data.ONESHOT_IDLE_SECONDS,
            undefined,
            "deployment mode waits for work",
        );
    });

    it("ScaledJob mode at most once: KEDA's accurate strategy (early ack takes the running Jobs' tasks off the queue)", () => {
        const { scaled } = objectsOf({ ...base, mode: "job", delivery: "at-most-once" });
        assert.equal((scaled as ReturnType<typeof scaledJob>).spec!.scalingStrategy!.strategy, "accurate");
        assert.throws(
            () => objectsOf({ ...base, mode: "job", queueThreshold: 2 }),
            /test\.queueThreshold: expected at most 1 in job mode \(one task per Job\) with delivery "at-least-once"/,
        );
    });

    it("several queues are summed against the threshold (the HPA alone takes the largest); one queue is its own metric", () => {
        const { scaled, plan } = objectsOf({
            ...base,
            queues: ["a.b.C", "save_code_now:a.b.C"],
            concurrency: 2,
        });
        const spec = (scaled as ReturnType<typeof scaledObject>).spec!;
        const names = spec.triggers.map((t) => t.name!);
        assert.deepEqual(spec.advanced!.scalingModifiers, {
            formula: `${names[0]} + ${names[1]}`,
            target: "2",
            activationTarget: "0",
            metricType: "AverageValue",
        });
        assert.equal(plan.queueThreshold, 2);
        const one = (objectsOf(base).scaled as ReturnType<typeof scaledObject>).spec!;
        assert.equal(one.advanced!.scalingModifiers, undefined);
    });

    it("trigger names are valid and distinct for queues that differ only by prefix or case", () => {
        const names = [
            "swh.loader.git.tasks.UpdateGitRepository",
            "save_code_now:swh.loader.git.tasks.UpdateGitRepository",
            "Q",
            "q",
        ].map(triggerName);
        assert.equal(new Set(names).size, names.length);
        // Identifiers of KEDA's formula language, as scalingModifiers name them.
        for (const n of names) assert.match(n, /^[a-z_][a-z0-9_]*$/);
    });
});
