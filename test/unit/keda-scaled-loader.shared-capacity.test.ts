/** components/keda-scaled-loader/shared-capacity.ts: loaders together on the hosts they share. */
import { strict as assert } from "assert";
import { planLoader } from "../../components/keda-scaled-loader/plan";
import { sharedCapacity } from "../../components/keda-scaled-loader/shared-capacity";
import { DEFAULT_RESERVATIONS, nodeCapacity } from "../../components/worker-node-pool/capacity";

const key = (f: string) => f;
// Two 4-core / 8 GiB loader hosts (2750m / 5388Mi each for loaders) and a control-plane host with no loader label.
const nodes = [
    { name: "w1", cpu: 4, memory: "8Gi", labels: { "swh/loader": "true" } },
    { name: "w2", cpu: 4, memory: "8Gi", labels: { "swh/loader": "true" } },
    {
        name: "cp",
        cpu: 4,
        memory: "8Gi",
        roles: ["controlplane", "etcd", "worker"] as ("controlplane" | "etcd" | "worker")[],
    },
].map((h) => nodeCapacity({ address: "192.0.2.1", ...h }, DEFAULT_RESERVATIONS));
const loader = (name: string, priority: "low" | "normal" | "high", maxReplicas: number) =>
    planLoader({ loader: name, queues: [`q.${name}`], priority, maxReplicas }, key, nodes);

describe("shared capacity of the loaders", () => {
    it("three loaders that each fit alone oversubscribe together: named, with who waits", () => {
        const plans = [
            loader("git", "normal", 10),
            loader("svn", "low", 10),
            loader("save-code-now", "high", 10),
        ];
        assert.deepEqual(
            plans.map((p) => p.maxReplicas),
            [10, 10, 10],
            "each one alone: 5 per host",
        );
        const shared = sharedCapacity(nodes, plans);
        assert.deepEqual(shared.oversubscribed, ["git", "svn", "save-code-now"]);
        assert.equal(shared.demand.cpu, "15");
        assert.equal(shared.supply.cpu, "5500m");
        assert.match(
            shared.warning!,
            /loaders git, svn, save-code-now share their hosts: .* request cpu 15 \/ memory 15Gi, the hosts hold cpu 5500m/,
        );
        assert.match(
            shared.warning!,
            /save-code-now \(high\) can preempt lower-priority pods; git \(normal\) can preempt low ones; svn \(low\) wait Pending/,
        );
    });

    it("counts only the hosts a loader can run on", () => {
        const shared = sharedCapacity(nodes, [loader("git", "normal", 4)]);
        assert.deepEqual(
            shared.hosts.map((h) => h.name),
            ["w1", "w2"],
            "the control-plane host has no swh/loader label",
        );
        assert.equal(shared.supply.cpuMillis, 2 * 2750);
        assert.deepEqual(shared.oversubscribed, []);
        assert.equal(shared.warning, undefined);
    });

    it("loaders whose maxima fit together get no warning", () => {
        const shared = sharedCapacity(nodes, [loader("git", "normal", 5), loader("svn", "low", 5)]);
        assert.equal(shared.demand.cpuMillis, 5000);
        assert.deepEqual(shared.oversubscribed, []);
    });
});
