/**
 * The box's nodes: one kwok Node per worker host of the stack's pool, with the allocatable the kubelet would
 * report after the pool's reservations (WorkerNodePool's own nodeCapacity), its labels and taints, and a pod
 * holding the DaemonSet overhead (CNI, log shipper) that loaders cannot use.
 */
import * as fs from "fs";
import * as YAML from "yaml";
import { formatCpu, formatMemory } from "../../../components/common/quantity";
import { workerNodePoolSchema } from "../../../components/worker-node-pool/args";
import { NodeCapacity, nodeCapacity } from "../../../components/worker-node-pool/capacity";
import { PROJECT } from "../../../config/load";
import { until } from "../supervisor";
import { Kube, KubeObject } from "./kube";

export interface BoxNode extends NodeCapacity {
    capacity: { cpu: string; memory: string };
    /** What DaemonSets request on every node. */
    overhead: { cpu: string; memory: string };
}

/** The worker hosts of a stack file's `pool`, as the box's nodes. */
export function poolNodes(stackFile: string): BoxNode[] {
    const doc = YAML.parse(fs.readFileSync(stackFile, "utf8")) as { config?: Record<string, unknown> };
    const parsed = workerNodePoolSchema.safeParse(doc.config?.[`${PROJECT}:pool`]);
    if (!parsed.success) {
        throw new Error(
            `${stackFile}: ${PROJECT}:pool: ${parsed.error.issues.map((i) => i.message).join("; ")}`,
        );
    }
    const reservations = parsed.data.reservations;
    return parsed.data.hosts
        .filter((h) => h.roles.includes("worker"))
        .map((h) => ({
            ...nodeCapacity(h, reservations),
            capacity: { cpu: String(h.cpu), memory: h.memory },
            overhead: reservations.daemonSetOverhead,
        }));
}

export function nodeObject(node: BoxNode): KubeObject {
    return {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
            name: node.name,
            // kwok manages the nodes carrying this annotation, and only those.
            annotations: {
                "kwok.x-k8s.io/node": "fake",
                "node.alpha.kubernetes.io/ttl": "0",
                // Where metrics-server finds this node's kubelet-like resource metrics on kwok's server.
                "metrics.k8s.io/resource-metrics-path": `/metrics/nodes/${node.name}/metrics/resource`,
            },
            labels: {
                ...node.labels,
                "kubernetes.io/hostname": node.name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                type: "kwok",
            },
        },
        spec: { taints: node.taints },
        status: {
            capacity: { cpu: node.capacity.cpu, memory: node.capacity.memory, pods: "110" },
            allocatable: {
                cpu: formatCpu(node.allocatable.cpuMillis),
                memory: formatMemory(node.allocatable.memoryBytes),
                pods: "110",
            },
        },
    };
}

/** A pod bound to the node that requests the DaemonSet overhead, so loaders get only what is left. */
export function overheadPod(node: BoxNode): KubeObject {
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
            name: `daemonset-overhead-${node.name}`,
            namespace: "kube-system",
            labels: { box: "overhead" },
        },
        spec: {
            nodeName: node.name,
            // As CNI and log-shipper DaemonSets run: no loader pod may preempt what stands for them.
            priorityClassName: "system-node-critical",
            tolerations: [{ operator: "Exists" }],
            containers: [
                {
                    name: "overhead",
                    image: "registry.invalid/overhead:never-pulled",
                    resources: { requests: node.overhead, limits: node.overhead },
                },
            ],
        },
    };
}

/**
 * The node and its overhead pod, as `overheadPod` makes it. A pod's spec cannot change: one that an older box
 * made otherwise (another priority or requests) is deleted and made anew, so a box kept across versions
 * matches a fresh one.
 */
export async function ensureNode(kube: Kube, node: BoxNode): Promise<void> {
    await kube.ensure("/api/v1/nodes", nodeObject(node));
    const want = overheadPod(node);
    const at = `/api/v1/namespaces/kube-system/pods/${want.metadata.name}`;
    const have = await kube.find(at);
    const shape = (p: KubeObject) =>
        JSON.stringify([p.spec.priorityClassName, p.spec.containers[0].resources]);
    if (have && shape(have) !== shape(want)) {
        await kube.delete(at, 0);
        await until(`${want.metadata.name} replaced`, 30, async () => !(await kube.find(at)));
    }
    await kube.ensure("/api/v1/namespaces/kube-system/pods", want, { update: false });
}
