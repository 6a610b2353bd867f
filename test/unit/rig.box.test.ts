/**
 * The autoscaling box's pure parts: nodes shaped from the stack's pool, and the stack the box deploys. The box
 * itself runs in the e2e tier (test/e2e/autoscaling.test.ts).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { nodeObject, overheadPod, poolNodes } from "../rig/box/nodes";
import { BOX_STACK_FILE, boxLoaders } from "../rig/box/stack";
import { validateObject } from "../harness/schemas";
import { runProgram, stackConfig } from "../harness/program";
import { FAKE_KUBECONFIG, isSecretAt } from "../harness/pulumi";

describe("autoscaling box: nodes and stack", () => {
    it("makes one kwok node per worker host, with the allocatable the kubelet would report", () => {
        const nodes = poolNodes(BOX_STACK_FILE);
        assert.deepEqual(
            nodes.map((n) => n.name),
            ["box-worker0", "box-worker1", "box-worker2"],
        );
        const n1 = nodeObject(nodes[1]);
        // 4 cores / 8Gi − kube-reserved 500m/1Gi − system-reserved 500m/1Gi − eviction 500Mi.
        assert.deepEqual(n1.status.allocatable, { cpu: "3", memory: "5644Mi", pods: "110" });
        assert.deepEqual(n1.status.capacity, { cpu: "4", memory: "8Gi", pods: "110" });
        assert.equal(n1.metadata.labels["swh/loader"], "true");
        assert.equal(n1.metadata.annotations["kwok.x-k8s.io/node"], "fake");
        assert.equal(
            n1.metadata.annotations["metrics.k8s.io/resource-metrics-path"],
            "/metrics/nodes/box-worker1/metrics/resource",
        );
        assert.equal(nodeObject(nodes[0]).metadata.labels["swh/loader"], undefined);
        validateObject(n1);
    });

    it("holds back the DaemonSet overhead on every node, so loaders get what the capacity plan assumed", () => {
        const nodes = poolNodes(BOX_STACK_FILE);
        const pod = overheadPod(nodes[2]);
        assert.equal(pod.spec.nodeName, "box-worker2");
        assert.deepEqual(pod.spec.containers[0].resources.requests, { cpu: "250m", memory: "256Mi" });
        assert.equal(pod.spec.priorityClassName, "system-node-critical", "loader pods cannot preempt it");
        validateObject(pod);
    });

    it("names the pool key and the problem when the stack file's pool is malformed", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "box-"));
        const file = path.join(dir, "Pulumi.bad.yaml");
        fs.writeFileSync(file, "config:\n  elastic-workers:pool:\n    hosts: []\n");
        assert.throws(
            () => poolNodes(file),
            /Pulumi\.bad\.yaml: elastic-workers:pool: expected at least one host/,
        );
    });

    it("Pulumi.box.yaml runs through the program: two loaders bounded by the box's pool, applied with its kubeconfig", async () => {
        const loaders = boxLoaders();
        assert.deepEqual(
            loaders.map((l) => [l.loader, l.queueThreshold, l.pollingInterval, l.cooldownPeriod]),
            [
                ["git", 1, 2, 10],
                ["svn", 2, 2, 10],
            ],
        );
        // The box's kubeconfig exists only while it runs: a stand-in file, named as an absolute path.
        const kubeconfig = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "box-")), "kubeconfig");
        fs.writeFileSync(kubeconfig, FAKE_KUBECONFIG);
        const run = await runProgram(
            {
                ...stackConfig("Pulumi.box.yaml"),
                "elastic-workers:kubernetes": JSON.stringify({ kubeconfig }),
            },
            {
                brokerAmqpUrl: "amqp://u:p@127.0.0.1:35672/%2f",
                brokerManagementUrl: "http://u:p@127.0.0.1:35673",
            },
        );
        const capacity = run.result.loaderCapacity as Record<string, { maxReplicas: number }>;
        assert.equal(capacity.git.maxReplicas, 10, "5 git loaders of 500m per loader host, 2 hosts");
        assert.equal(capacity.svn.maxReplicas, 4, "2 svn loaders of 1 CPU per loader host");
        const providers = run.recorder.resources.filter((r) => r.type === "pulumi:providers:kubernetes");
        assert.deepEqual(
            providers.map((p) => p.name),
            ["cluster"],
        );
        assert.equal(providers[0].inputs.kubeconfig, FAKE_KUBECONFIG);
        assert.ok(isSecretAt(providers[0].raw, ["kubeconfig"]), "the kubeconfig holds credentials: a secret");
        assert.ok(
            !run.recorder.resources.some((r) => r.type.startsWith("docker-build:")),
            "prebuilt images: nothing to build",
        );
        // The prebuilt, digest-pinned images go into the Deployments as they are.
        const images = (
            JSON.parse(stackConfig("Pulumi.box.yaml")["elastic-workers:loaders"]) as { image: string }[]
        ).map((l) => l.image);
        const deployments = run.recorder.resources.filter((r) => r.type === "kubernetes:apps/v1:Deployment");
        assert.deepEqual(
            deployments.map((d) => d.inputs.spec.template.spec.containers[0].image).sort(),
            images.sort(),
        );
    });
});
