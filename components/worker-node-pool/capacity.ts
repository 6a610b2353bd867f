import { ArgumentError } from "../common/errors";
import { Resources, formatCpu, formatMemory, parseCpu, parseMemory } from "../common/quantity";
import { TolerationSpec, parseValue } from "../common/schema";
import { KubeletReservations, PoolHostSpec, Reservations, Taint, reservationsSchema } from "./args";

export type { TolerationSpec };

/** The reservations every host gets when none are given (the schema's defaults). */
export const DEFAULT_RESERVATIONS: Reservations = reservationsSchema.parse({});

/** Merges reservations with the defaults and checks every quantity, naming `key` when one is wrong. */
export function resolveReservations(r: KubeletReservations | undefined, key: string): Reservations {
    return parseValue(reservationsSchema, r ?? {}, key);
}

/** The kubelet arguments that implement the reservations. */
export function kubeletArgs(r: Reservations): string[] {
    return [
        `kube-reserved=cpu=${r.kubeReserved.cpu},memory=${r.kubeReserved.memory}`,
        `system-reserved=cpu=${r.systemReserved.cpu},memory=${r.systemReserved.memory}`,
        // Setting one hard threshold zeroes the unset ones: keep the kubelet's disk defaults explicitly.
        `eviction-hard=memory.available<${r.evictionHardMemory},nodefs.available<10%,imagefs.available<15%,nodefs.inodesFree<5%`,
        `eviction-soft=memory.available<${r.evictionSoftMemory}`,
        `eviction-soft-grace-period=memory.available=${r.evictionSoftGracePeriod}`,
        `eviction-max-pod-grace-period=${r.evictionMaxPodGracePeriod}`,
    ];
}

/** What one node offers: its allocatable after reservations, and what is left for loaders. */
export interface NodeCapacity {
    name: string;
    roles: string[];
    labels: Record<string, string>;
    taints: Taint[];
    /** capacity − kube-reserved − system-reserved − hard eviction threshold (what the kubelet reports). */
    allocatable: Resources;
    /** allocatable − DaemonSet overhead: what loader pods can request. */
    forLoaders: Resources;
}

/** Throws unless a host is larger than what the kubelet reserves on it: such a host could run nothing. */
export function checkHoldsReservations(host: PoolHostSpec, r: Reservations, key: string): void {
    const reservedCpu = parseCpu(r.kubeReserved.cpu)! + parseCpu(r.systemReserved.cpu)!;
    const reservedMemory =
        parseMemory(r.kubeReserved.memory)! +
        parseMemory(r.systemReserved.memory)! +
        parseMemory(r.evictionHardMemory)!;
    if (parseCpu(host.cpu)! <= reservedCpu) {
        throw new ArgumentError(
            `${key}.cpu`,
            `more than the ${formatCpu(reservedCpu)} the kubelet reserves (reservations.kubeReserved + systemReserved)`,
            host.cpu,
        );
    }
    if (parseMemory(host.memory)! <= reservedMemory) {
        throw new ArgumentError(
            `${key}.memory`,
            `more than the ${formatMemory(reservedMemory)} the kubelet reserves (kubeReserved + systemReserved + evictionHardMemory)`,
            host.memory,
        );
    }
}

/** Computes a host's allocatable resources the way the kubelet does. */
export function nodeCapacity(host: PoolHostSpec, r: Reservations): NodeCapacity {
    const cpu = parseCpu(host.cpu)! - parseCpu(r.kubeReserved.cpu)! - parseCpu(r.systemReserved.cpu)!;
    const memory =
        parseMemory(host.memory)! -
        parseMemory(r.kubeReserved.memory)! -
        parseMemory(r.systemReserved.memory)! -
        parseMemory(r.evictionHardMemory)!;
    const allocatable = { cpuMillis: Math.max(0, cpu), memoryBytes: Math.max(0, memory) };
    return {
        name: host.name,
        roles: host.roles ?? ["worker"],
        labels: host.labels ?? {},
        taints: host.taints ?? [],
        allocatable,
        forLoaders: {
            cpuMillis: Math.max(0, allocatable.cpuMillis - parseCpu(r.daemonSetOverhead.cpu)!),
            memoryBytes: Math.max(0, allocatable.memoryBytes - parseMemory(r.daemonSetOverhead.memory)!),
        },
    };
}

/** Kubernetes' toleration matching rule (an empty key with Exists tolerates everything). */
export function tolerates(tolerations: TolerationSpec[], taint: Taint): boolean {
    return tolerations.some((t) => {
        if (t.effect && t.effect !== taint.effect) return false;
        if (!t.key) return t.operator === "Exists";
        if (t.key !== taint.key) return false;
        return t.operator === "Exists" || (t.value ?? "") === (taint.value ?? "");
    });
}

/** Where a loader may run and what each replica requests. */
export interface PlacementSpec {
    nodeSelector: Record<string, string>;
    tolerations: TolerationSpec[];
    request: Resources;
}

/** Nodes a loader's pods can be scheduled on: workers matching its selector whose hard taints it tolerates. */
export function eligibleNodes(nodes: NodeCapacity[], placement: PlacementSpec): NodeCapacity[] {
    return nodes.filter(
        (n) =>
            n.roles.includes("worker") &&
            Object.entries(placement.nodeSelector).every(([k, v]) => n.labels[k] === v) &&
            n.taints
                .filter((t) => t.effect !== "PreferNoSchedule")
                .every((t) => tolerates(placement.tolerations, t)),
    );
}

/** How many replicas of one size fit on one node: each pod must fit whole, so floor per node, not per pool. */
export function replicasPerNode(node: NodeCapacity, request: Resources): number {
    const byCpu =
        request.cpuMillis > 0 ? Math.floor(node.forLoaders.cpuMillis / request.cpuMillis) : Infinity;
    const byMemory =
        request.memoryBytes > 0 ? Math.floor(node.forLoaders.memoryBytes / request.memoryBytes) : Infinity;
    return Math.min(byCpu, byMemory);
}

/** A loader's capacity plan: how many replicas the pool holds, node by node. */
export interface CapacityPlan {
    request: { cpu: string; memory: string };
    nodes: { name: string; replicas: number }[];
    /** Replicas that fit on the eligible nodes together, with nothing else running. */
    fits: number;
}

/** Computes how many replicas of a loader the pool can hold. */
export function capacityPlan(nodes: NodeCapacity[], placement: PlacementSpec): CapacityPlan {
    const perNode = eligibleNodes(nodes, placement).map((n) => ({
        name: n.name,
        replicas: replicasPerNode(n, placement.request),
    }));
    return {
        request: {
            cpu: formatCpu(placement.request.cpuMillis),
            memory: formatMemory(placement.request.memoryBytes),
        },
        nodes: perNode,
        fits: perNode.reduce((sum, n) => sum + n.replicas, 0),
    };
}

/** Sum of the resources loaders can use across the worker hosts. */
export function totalForLoaders(nodes: NodeCapacity[]): Resources {
    return nodes
        .filter((n) => n.roles.includes("worker"))
        .reduce(
            (sum, n) => ({
                cpuMillis: sum.cpuMillis + n.forLoaders.cpuMillis,
                memoryBytes: sum.memoryBytes + n.forLoaders.memoryBytes,
            }),
            { cpuMillis: 0, memoryBytes: 0 },
        );
}
