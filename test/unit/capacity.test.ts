import { strict as assert } from "assert";
import fc from "fast-check";
import { planLoader } from "../../components/keda-scaled-loader/plan";
import { formatCpu, formatMemory, parseCpu, parseMemory } from "../../components/common/quantity";
import {
    capacityPlan,
    DEFAULT_RESERVATIONS,
    kubeletArgs,
    NodeCapacity,
    nodeCapacity,
    replicasPerNode,
    tolerates,
} from "../../components/worker-node-pool/capacity";
import { PoolHostSpec } from "../../components/worker-node-pool/args";

const host = fc.record({
    cores: fc.integer({ min: 1, max: 64 }),
    memGi: fc.integer({ min: 2, max: 256 }),
    loader: fc.boolean(),
    worker: fc.boolean(),
    tainted: fc.boolean(),
});
const request = fc.record({
    cpuMillis: fc.integer({ min: 50, max: 8000 }),
    memoryMi: fc.integer({ min: 64, max: 16384 }),
});

function poolOf(
    hosts: { cores: number; memGi: number; loader: boolean; worker: boolean; tainted: boolean }[],
): NodeCapacity[] {
    return hosts.map((h, i) =>
        nodeCapacity(
            {
                name: `h${i}`,
                address: `10.0.0.${i}`,
                cpu: h.cores,
                memory: `${h.memGi}Gi`,
                roles: h.worker ? ["worker"] : ["etcd", "controlplane"],
                labels: h.loader ? { "swh/loader": "true" } : {},
                taints: h.tainted ? [{ key: "dedicated", value: "loaders", effect: "NoSchedule" }] : [],
            } satisfies PoolHostSpec,
            DEFAULT_RESERVATIONS,
        ),
    );
}

describe("capacity planning", () => {
    it("a 4-core / 8 GiB SWH worker leaves 3 cores and 6.5 GiB allocatable, 2750m / 5388Mi for loaders", () => {
        const n = nodeCapacity({ name: "w", address: "x", cpu: 4, memory: "8Gi" }, DEFAULT_RESERVATIONS);
        assert.deepEqual(n.allocatable, { cpuMillis: 3000, memoryBytes: (8192 - 2048 - 500) * 2 ** 20 });
        assert.deepEqual(n.forLoaders, { cpuMillis: 2750, memoryBytes: 5388 * 2 ** 20 });
    });

    it("property: never more replicas than fit, node by node, and none that would fit is left out", () => {
        fc.assert(
            fc.property(
                fc.array(host, { minLength: 1, maxLength: 8 }),
                request,
                fc.boolean(),
                (hosts, req, tolerate) => {
                    const nodes = poolOf(hosts);
                    const r = { cpuMillis: req.cpuMillis, memoryBytes: req.memoryMi * 2 ** 20 };
                    const tolerations = tolerate ? [{ key: "dedicated", operator: "Exists" as const }] : [];
                    const plan = capacityPlan(nodes, {
                        nodeSelector: { "swh/loader": "true" },
                        tolerations,
                        request: r,
                    });
                    for (const { name, replicas } of plan.nodes) {
                        const n = nodes.find((x) => x.name === name)!;
                        assert.ok(
                            n.roles.includes("worker") && n.labels["swh/loader"] === "true",
                            "only loader workers count",
                        );
                        assert.ok(tolerate || n.taints.length === 0, "tainted hosts only when tolerated");
                        // Fits: the replicas' requests stay within what the node leaves for loaders...
                        assert.ok(replicas * r.cpuMillis <= n.forLoaders.cpuMillis);
                        assert.ok(replicas * r.memoryBytes <= n.forLoaders.memoryBytes);
                        // ...and one more would not fit.
                        assert.ok(
                            (replicas + 1) * r.cpuMillis > n.forLoaders.cpuMillis ||
                                (replicas + 1) * r.memoryBytes > n.forLoaders.memoryBytes,
                        );
                    }
                    assert.equal(
                        plan.fits,
                        plan.nodes.reduce((s, n) => s + n.replicas, 0),
                    );
                },
            ),
            { numRuns: 500 },
        );
    });

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

    it("per-node floors: two half-full hosts do not add up to one more replica", () => {
        const nodes = poolOf([
            { cores: 2, memGi: 8, loader: true, worker: true, tainted: false },
            { cores: 2, memGi: 8, loader: true, worker: true, tainted: false },
        ]);
        // Each host leaves 750m: one 600m replica each (1500m pooled would suggest 2, plus 300m spare).
        assert.deepEqual(
            nodes.map((n) => replicasPerNode(n, { cpuMillis: 600, memoryBytes: 2 ** 20 })),
            [1, 1],
        );
    });

    it("toleration matching follows Kubernetes' rules", () => {
        const taint = { key: "k", value: "v", effect: "NoSchedule" as const };
        assert.equal(tolerates([{ key: "k", operator: "Equal", value: "v" }], taint), true);
        assert.equal(tolerates([{ key: "k", operator: "Equal", value: "w" }], taint), false);
        assert.equal(tolerates([{ key: "k", operator: "Exists", effect: "NoExecute" }], taint), false);
        assert.equal(tolerates([{ operator: "Exists" }], taint), true);
        assert.equal(tolerates([], taint), false);
    });

    it("kubelet args keep all four hard eviction thresholds (setting one zeroes the others)", () => {
        const args = kubeletArgs(DEFAULT_RESERVATIONS);
        const hard = args.find((a) => a.startsWith("eviction-hard="))!;
        for (const t of [
            "memory.available<500Mi",
            "nodefs.available<10%",
            "imagefs.available<15%",
            "nodefs.inodesFree<5%",
        ]) {
            assert.ok(hard.includes(t), t);
        }
        assert.ok(args.includes("kube-reserved=cpu=500m,memory=1Gi"));
        assert.ok(args.includes("eviction-soft=memory.available<1Gi"));
    });
});

describe("quantities", () => {
    it("parses and formats CPU and memory the way Kubernetes writes them", () => {
        assert.equal(parseCpu("500m"), 500);
        assert.equal(parseCpu("2"), 2000);
        assert.equal(parseCpu(0.25), 250);
        assert.equal(parseCpu("1.5"), 1500);
        assert.equal(parseCpu("two"), undefined);
        assert.equal(parseMemory("512Mi"), 512 * 2 ** 20);
        assert.equal(parseMemory("1G"), 1e9);
        assert.equal(parseMemory("8Gi"), 8 * 2 ** 30);
        assert.equal(parseMemory("8 GB"), undefined);
        assert.equal(formatCpu(2000), "2");
        assert.equal(formatCpu(750), "750m");
        assert.equal(formatMemory(5388 * 2 ** 20), "5388Mi");
    });

    it("property: format then parse is the identity", () => {
        fc.assert(
            fc.property(
                fc.integer({ min: 1, max: 10 ** 6 }),
                fc.integer({ min: 1, max: 2 ** 40 }),
                (cpu, mem) => {
                    assert.equal(parseCpu(formatCpu(cpu)), cpu);
                    assert.equal(parseMemory(formatMemory(mem)), mem);
                },
            ),
        );
    });
});
