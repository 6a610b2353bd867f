/**
 * The real-node rig's pure parts: how the kubelet's arguments are read back from the host's config drop-ins (as
 * RKE2's agent merges them) and the pod subnet flannel's CNI plugin would write. The nodes themselves run in the
 * e2e tier (test/e2e/hosts.test.ts).
 */
import { strict as assert } from "assert";
import { DEFAULT_RESERVATIONS, kubeletArgs } from "../../components/worker-node-pool/capacity";
import { kubeletDropIn } from "../../components/worker-node-pool/node-prep";
import { mergeKubeletArgs, subnetOf } from "../rig/hosts/node";

describe("real nodes: the rig's pure parts", () => {
    it("reads the preparation's drop-in back as exactly its kubelet-arg list", () => {
        const args = mergeKubeletArgs([
            { name: "90-swh-kubelet.yaml", text: kubeletDropIn(DEFAULT_RESERVATIONS) },
        ]);
        assert.deepEqual(args, kubeletArgs(DEFAULT_RESERVATIONS));
    });

    it("merges drop-ins in file-name order: kubelet-arg replaces, kubelet-arg+ appends", () => {
        const args = mergeKubeletArgs([
            { name: "90-b.yaml", text: "kubelet-arg+: [c=3]" },
            { name: "10-a.yaml", text: "kubelet-arg: [a=1]\nkubelet-arg+: [b=2]" },
            { name: "95-c.yaml", text: "kubelet-arg: [d=4]" },
            { name: "99-d.yaml", text: "" },
        ]);
        assert.deepEqual(args, ["d=4"]);
        assert.deepEqual(
            mergeKubeletArgs([
                { name: "90-b.yaml", text: "kubelet-arg+: [c=3]" },
                { name: "10-a.yaml", text: "kubelet-arg: [a=1]" },
            ]),
            ["a=1", "c=3"],
        );
    });

    it("gives the network of flannel's subnet, as its CNI plugin writes the bridge's range", () => {
        assert.equal(subnetOf("10.42.1.1/24"), "10.42.1.0/24");
        assert.equal(subnetOf("10.42.0.0/16"), "10.42.0.0/16");
        assert.equal(subnetOf("192.168.7.130/25"), "192.168.7.128/25");
        assert.equal(subnetOf("10.1.2.3/0"), "0.0.0.0/0");
    });
});
