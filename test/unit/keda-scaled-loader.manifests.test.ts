import { strict as assert } from "assert";
import { LoaderSettings } from "../../components/keda-scaled-loader/args";
import { PRE_STOP_COMMAND } from "../../components/keda-scaled-loader/manifests";
import { DIGEST_REF } from "../fixtures";
import { base, objectsOf } from "../harness/loader-objects";
import { validateObject } from "../harness/schemas";

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
});
