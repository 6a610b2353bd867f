import { strict as assert } from "assert";
import fc from "fast-check";
import {
    capacityPlan,
    DEFAULT_RESERVATIONS,
    kubeletArgs,
    nodeCapacity,
    replicasPerNode,
    tolerates,
} from "../../components/worker-node-pool/capacity";
import { host, poolOf, request } from "../fixtures/pools";

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
