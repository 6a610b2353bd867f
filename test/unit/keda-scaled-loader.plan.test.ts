import { strict as assert } from "assert";
import fc from "fast-check";
import { LoaderSettings } from "../../components/keda-scaled-loader/args";
import { planLoader } from "../../components/keda-scaled-loader/plan";
import { capacityPlan } from "../../components/worker-node-pool/capacity";
import { host, poolOf, request } from "../fixtures/pools";
import { base, key } from "../harness/loader-objects";

describe("capacity planning", () => {
    it("property: the planned maxReplicas never exceeds what fits, whatever was asked", () => {
        fc.assert(
            fc.property(
                fc.array(host, { minLength: 1, maxLength: 6 }),
                request,
                fc.integer({ min: 1, max: 500 }),
                (hosts, req, max) => {
                    const nodes = poolOf(
                        hosts.map((h) => ({ ...h, loader: true, worker: true, tainted: false })),
                    );
                    const requests = { cpu: `${req.cpuMillis}m`, memory: `${req.memoryMi}Mi` };
                    const fits = capacityPlan(nodes, {
                        nodeSelector: { "swh/loader": "true" },
                        tolerations: [],
                        request: { cpuMillis: req.cpuMillis, memoryBytes: req.memoryMi * 2 ** 20 },
                    }).fits;
                    const settings = {
                        loader: "x",
                        queues: ["q"],
                        requests,
                        maxReplicas: max,
                        limits: { memory: requests.memory },
                    };
                    if (fits === 0) {
                        assert.throws(
                            () => planLoader(settings, (f) => f, nodes),
                            /requests: expected requests that fit/,
                        );
                        return;
                    }
                    const plan = planLoader(settings, (f) => f, nodes);
                    assert.equal(plan.maxReplicas, Math.min(max, fits));
                    assert.equal(plan.clampedBecause !== undefined, max > fits);
                },
            ),
            { numRuns: 300 },
        );
    });

    it("capacityPolicy fail refuses instead of clamping, naming the per-host figures", () => {
        const nodes = poolOf([{ cores: 4, memGi: 8, loader: true, worker: true, tainted: false }]);
        assert.throws(
            () =>
                planLoader(
                    { loader: "git", queues: ["q"], maxReplicas: 20, capacityPolicy: "fail" },
                    (f) => `loaders[0].${f}`,
                    nodes,
                ),
            /loaders\[0\]\.maxReplicas: expected at most 5: maxReplicas 20 exceeds the 5 replicas of cpu 500m \/ memory 512Mi the pool's loader hosts hold \(h0: 5\); got 20/,
        );
    });

    it("a loader too big for every host is refused with the hosts named", () => {
        const nodes = poolOf([{ cores: 4, memGi: 8, loader: true, worker: true, tainted: false }]);
        assert.throws(
            () =>
                planLoader(
                    {
                        loader: "svn",
                        queues: ["q"],
                        requests: { cpu: "1", memory: "16Gi" },
                        limits: { memory: "16Gi" },
                    },
                    (f) => f,
                    nodes,
                ),
            /requests: expected requests that fit .* none of h0 can hold one replica of cpu 1 \/ memory 16Gi/,
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
            /test\.terminationGracePeriodSeconds: expected at least taskTimeoutSeconds \(3600\).*with early ack, they are lost\); got 60/,
        ],
        [
            "at least once, a queue threshold above concurrency (busy workers would be scaled down)",
            { queueThreshold: 10 },
            /test\.queueThreshold: expected at most concurrency \(1\) with delivery "at-least-once".*e\.g\. queueThreshold: 10 with delivery: at-most-once; got 10/,
        ],
        [
            "at least once, a task longer than the broker's consumer timeout",
            { taskTimeoutSeconds: 3600 },
            /test\.taskTimeoutSeconds: expected below consumerTimeoutSeconds \(1800, the broker's consumer_timeout\).*e\.g\. consumerTimeoutSeconds: 7200; got 3600/,
        ],
        [
            "a Celery setting that delivery owns",
            { workerConfig: { celery: { task_acks_late: false } } },
            /test\.workerConfig\.celery\.task_acks_late: expected unset: the component sets it \(delivery, taskTimeoutSeconds, and remote control for the scale-down hand-back\); got false/,
        ],
        [
            "an unknown delivery",
            { delivery: "exactly-once" as never },
            /test\.delivery: expected one of at-least-once, at-most-once/,
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
