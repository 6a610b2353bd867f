import { strict as assert } from "assert";
import { DEFAULT_HPA_BEHAVIOR, LoaderSettings } from "../../components/keda-scaled-loader/args";
import {
    brokerSecret,
    envConfigMap,
    loaderDeployment,
    namespaceManifest,
    podTemplate,
    PRE_STOP_COMMAND,
    workerConfigYaml,
} from "../../components/keda-scaled-loader/manifests";
import { priorityClasses } from "../../components/keda-scaled-loader/operator";
import { planLoader } from "../../components/keda-scaled-loader/plan";
import {
    scaledJob,
    scaledObject,
    triggerAuthentication,
    triggerName,
} from "../../components/keda-scaled-loader/scaling";
import { AMQP_URL, DIGEST_REF, MANAGEMENT_URL } from "../fixtures";
import { validateObject } from "../harness/schemas";

const key = (f: string) => `test.${f}`;
const base: LoaderSettings = { loader: "git", queues: ["swh.loader.git.tasks.UpdateGitRepository"] };

/** Every object of a loader, as plain JSON with apiVersion/kind, the way the provider sends them. */
function objectsOf(settings: LoaderSettings) {
    const plan = planLoader(settings, key);
    // any: the objects as the provider serializes them, plain JSON navigated freely by assertions.
    const plain = (o: unknown): any => JSON.parse(JSON.stringify(o));
    return {
        plan,
        namespace: { apiVersion: "v1", kind: "Namespace", ...plain(namespaceManifest(plan)) },
        env: { apiVersion: "v1", kind: "ConfigMap", ...plain(envConfigMap(plan)) },
        secret: {
            apiVersion: "v1",
            kind: "Secret",
            ...plain({
                ...brokerSecret(plan, "x", "y"),
                stringData: { "config.yml": workerConfigYaml(plan, AMQP_URL), host: MANAGEMENT_URL },
            }),
        },
        deployment: {
            apiVersion: "apps/v1",
            kind: "Deployment",
            ...plain(loaderDeployment(plan, DIGEST_REF, "abc")),
        },
        triggerAuth: triggerAuthentication(plan),
        scaled:
            plan.mode === "job" ? scaledJob(plan, plain(podTemplate(plan, DIGEST_REF))) : scaledObject(plan),
    };
}

const variants: [string, LoaderSettings][] = [
    ["SWH defaults", base],
    [
        "production git (min 1, max 64, threshold 200)",
        { ...base, minReplicas: 1, maxReplicas: 64, queueThreshold: 200 },
    ],
    ["job mode", { ...base, mode: "job", taskTimeoutSeconds: 36000 }],
    [
        "tolerations and a CPU limit",
        {
            ...base,
            tolerations: [{ key: "swh/loader", operator: "Exists", effect: "NoSchedule" }],
            limits: { cpu: "2", memory: "2Gi" },
        },
    ],
    [
        "low priority, several queues",
        { ...base, priority: "low", queues: ["a.b.C", "save_code_now:a.b.C", "oneshot:a.b.C"] },
    ],
];

describe("loader builders", () => {
    for (const [label, settings] of variants) {
        it(`${label}: every object is valid against the Kubernetes and KEDA schemas`, () => {
            const objs = objectsOf(settings);
            for (const [name, obj] of Object.entries(objs)) {
                if (name === "plan") continue;
                assert.doesNotThrow(() => validateObject(obj), name);
            }
        });
    }

    it("schema validation does catch a broken object (the check can fail)", () => {
        const { deployment } = objectsOf(base);
        deployment.spec.template.spec.terminationGracePeriodSeconds = "an hour";
        assert.throws(() => validateObject(deployment), /terminationGracePeriodSeconds must be integer/);
    });

    it("Deployment: no replicas field, digest image, requests/limits, statsd env, loader-host affinity, priority, grace", () => {
        const { deployment, env } = objectsOf({ ...base, taskTimeoutSeconds: 5400 });
        assert.equal("replicas" in deployment.spec, false, "KEDA owns the replica count");
        const pod = deployment.spec.template.spec;
        const c = pod.containers[0];
        assert.equal(c.image, DIGEST_REF);
        assert.deepEqual(c.command, ["/opt/swh/entrypoint.sh"]);
        assert.deepEqual(c.resources, {
            requests: { cpu: "500m", memory: "512Mi" },
            limits: { memory: "1Gi" },
        });
        assert.equal(pod.terminationGracePeriodSeconds, 5400);
        assert.equal(pod.priorityClassName, "normal-workload");
        assert.deepEqual(
            pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]
                .matchExpressions,
            [{ key: "swh/loader", operator: "In", values: ["true"] }],
        );
        assert.equal(c.readinessProbe, undefined, "no probes: a busy worker is healthy");
        assert.equal(env.data.STATSD_HOST, "prometheus-statsd-exporter.swh-monitoring.svc.cluster.local");
        assert.equal(env.data.STATSD_PORT, "9125");
        assert.equal(env.data.STATSD_TAGS, "deployment:loader-git");
        assert.deepEqual(deployment.spec.strategy.rollingUpdate, { maxSurge: 1, maxUnavailable: 1 });
    });

    it("preStop sends one SIGTERM to PID 1 and then only waits", () => {
        const { deployment } = objectsOf(base);
        const cmd = deployment.spec.template.spec.containers[0].lifecycle.preStop.exec.command;
        assert.deepEqual(cmd, PRE_STOP_COMMAND);
        assert.equal((cmd[2].match(/kill -TERM/g) ?? []).length, 1);
        assert.match(cmd[2], /while kill -0 1/);
    });

    it("the worker config with the broker credentials goes to the Secret, never the ConfigMap", () => {
        const { env, secret } = objectsOf({
            ...base,
            workerConfig: { storage: { cls: "remote", url: "http://storage:5002/" } },
        });
        assert.doesNotMatch(JSON.stringify(env), /amqp:/);
        assert.match(secret.stringData["config.yml"], /task_broker: amqp:\/\//);
        assert.match(secret.stringData["config.yml"], /url: http:\/\/storage:5002\//);
        assert.match(secret.stringData["config.yml"], /- swh\.loader\.git\.tasks\.UpdateGitRepository/);
    });

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
        assert.deepEqual(spec.fallback, { failureThreshold: 3, replicas: 1 });
        assert.deepEqual(spec.advanced!.horizontalPodAutoscalerConfig!.behavior, DEFAULT_HPA_BEHAVIOR);
        assert.equal(spec.triggers.length, 2);
        for (const [i, t] of spec.triggers.entries()) {
            assert.equal(t.type, "rabbitmq");
            assert.deepEqual(t.metadata, {
                protocol: "http",
                mode: "QueueLength",
                value: "10",
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

    it("ScaledJob mode: one-shot workers, gradual rollout, accurate strategy, deadline past the task timeout", () => {
        const { scaled, env } = objectsOf({ ...base, mode: "job", taskTimeoutSeconds: 36000 });
        const spec = (scaled as ReturnType<typeof scaledJob>).spec!;
        assert.deepEqual(spec.rollout, { strategy: "gradual" });
        assert.deepEqual(spec.scalingStrategy, { strategy: "accurate" });
        assert.equal(spec.jobTargetRef.activeDeadlineSeconds, 36300);
        assert.equal(spec.jobTargetRef.template.spec!.restartPolicy, "Never");
        assert.equal(env.data.WORKER_MODE, "oneshot");
    });

    it("trigger names are valid and distinct for queues that differ only by prefix or case", () => {
        const names = [
            "swh.loader.git.tasks.UpdateGitRepository",
            "save_code_now:swh.loader.git.tasks.UpdateGitRepository",
            "Q",
            "q",
        ].map(triggerName);
        assert.equal(new Set(names).size, names.length);
        for (const n of names) assert.match(n, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    });

    it("priority classes: SWH's values, and the low class never preempts", () => {
        const pcs = priorityClasses();
        for (const pc of pcs)
            assert.doesNotThrow(() =>
                validateObject({ apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", ...pc }),
            );
        assert.deepEqual(
            pcs.map((p) => [(p.metadata as { name: string }).name, p.value, p.preemptionPolicy]),
            [
                ["low-workload", -5500, "Never"],
                ["normal-workload", 6500, "PreemptLowerPriority"],
                ["high-workload", 20500, "PreemptLowerPriority"],
            ],
        );
    });
});

describe("planLoader validation", () => {
    const cases: [string, Partial<LoaderSettings>, RegExp][] = [
        ["no queues", { queues: [] }, /test\.queues: expected at least one queue/],
        [
            "a bad queue name",
            { queues: ["ok", "has space"] },
            /test\.queues\[1\]: expected a RabbitMQ queue name/,
        ],
        ["a duplicate queue", { queues: ["a", "a"] }, /test\.queues: expected each queue once; got "a"/],
        ["a bad loader", { loader: "Git_Loader" }, /test\.loader: expected a loader type/],
        [
            "threshold 0",
            { queueThreshold: 0 },
            /test\.queueThreshold: expected a whole number of at least 1; got 0/,
        ],
        [
            "min above max",
            { minReplicas: 6, maxReplicas: 5 },
            /test\.minReplicas: expected at most maxReplicas \(5\); got 6/,
        ],
        [
            "a grace shorter than the task",
            { taskTimeoutSeconds: 3600, terminationGracePeriodSeconds: 60 },
            /test\.terminationGracePeriodSeconds: expected at least taskTimeoutSeconds \(3600\).*early-ack Celery loses them; got 60/,
        ],
        [
            "a limit below the request",
            { limits: { memory: "256Mi" } },
            /test\.limits\.memory: expected at least requests\.memory \(512Mi\); got "256Mi"/,
        ],
        [
            "a malformed CPU request",
            { requests: { cpu: "lots", memory: "512Mi" } },
            /test\.requests\.cpu: expected a CPU quantity like "500m"; got "lots"/,
        ],
        [
            "a zero memory request",
            { requests: { cpu: "1", memory: "0" } },
            /test\.requests\.memory: expected a positive memory quantity/,
        ],
        [
            "an unknown priority",
            { priority: "urgent" as never },
            /test\.priority: expected low, normal or high; got "urgent"/,
        ],
        [
            "an unknown mode",
            { mode: "cron" as never },
            /test\.mode: expected "deployment" or "job"; got "cron"/,
        ],
    ];
    for (const [label, patch, message] of cases) {
        it(`refuses ${label}`, () => assert.throws(() => planLoader({ ...base, ...patch }, key), message));
    }
});
