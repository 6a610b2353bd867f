/**
 * The real-node rig's pure parts: how the kubelet's arguments are read back from the host's config drop-ins (as
 * RKE2's agent merges them) and the pod subnet flannel's CNI plugin would write. The nodes themselves run in the
 * e2e tier (test/e2e/hosts.test.ts).
 */
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import { DEFAULT_RESERVATIONS, kubeletArgs } from "../../components/worker-node-pool/capacity";
import { kubeletDropIn } from "../../components/worker-node-pool/node-prep";
import { POD_IMAGE_REF, mergeKubeletArgs, subnetOf } from "../rig/hosts/node";
import { growthScript, hold, loaderPod } from "../rig/hosts/memory";
import { objectsOf, base } from "../harness/loader-objects";

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

    it("the memory pods' script takes memory as told, then holds it until SIGTERM, on which it exits 0", async () => {
        const script = growthScript({ startMiB: 70, stepMiB: 2, pauseSeconds: 0, totalMiB: 73 });
        const child = spawn("sh", ["-c", script], { stdio: ["ignore", "pipe", "inherit"] });
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        // Bounded: 10 s at most before the SIGTERM, whatever the script does.
        for (let i = 0; i < 200 && !out.includes("73 MiB"); i++) await new Promise((r) => setTimeout(r, 50));
        const rss = Number(
            /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1],
        );
        child.kill("SIGTERM");
        const code = await new Promise((r) => child.on("exit", r));
        assert.equal(out, "70 MiB\n72 MiB\n73 MiB\n");
        assert.ok(rss >= 73 * 1024, `holds what it took: ${rss} kB`);
        assert.equal(code, 0);
    });

    it("a loader's pod for the memory tests keeps the Deployment's placement, priority, security and resources", () => {
        const { deployment } = objectsOf({ ...base, requests: { cpu: "500m", memory: "512Mi" } });
        const pod = loaderPod(deployment, "oom", "node-a", hold(1));
        const template = deployment.spec.template;
        const container = pod.spec.containers[0];
        assert.deepEqual(pod.metadata.labels, template.metadata.labels);
        for (const k of [
            "priorityClassName",
            "affinity",
            "tolerations",
            "securityContext",
            "restartPolicy",
            "terminationGracePeriodSeconds",
        ])
            assert.deepEqual(pod.spec[k], template.spec[k], k);
        assert.deepEqual(container.resources, template.spec.containers[0].resources);
        assert.deepEqual(container.securityContext, template.spec.containers[0].securityContext);
        assert.equal(container.image, POD_IMAGE_REF);
        assert.deepEqual(pod.spec.nodeSelector, { "kubernetes.io/hostname": "node-a" });
        // Only what exists without the loader's Secret and ConfigMaps.
        assert.deepEqual(
            pod.spec.volumes.map((v: { name: string }) => v.name),
            ["tmp"],
        );
        assert.deepEqual(
            container.volumeMounts.map((v: { name: string }) => v.name),
            ["tmp"],
        );
    });
});
