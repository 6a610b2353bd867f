/** The arguments of WorkerNodePool: one schema for the type, the checks, the defaults and the docs. */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { hostSchema } from "../common/hosts";
import {
    dnsLabel,
    duration,
    flannelBackend,
    kubernetesVersion,
    labelKey,
    labels,
    memoryQuantity,
    positiveCpu,
    positiveMemory,
    resourcePair,
    seconds,
    taintEffect,
    wholeNumberAtLeast,
} from "../common/schema";
import { versions } from "../common/versions";

/** Kubernetes roles a host can take in an RKE2/k3s custom cluster. */
export const NODE_ROLES = ["etcd", "controlplane", "worker"] as const;
export type NodeRole = (typeof NODE_ROLES)[number];

/** Kubelet reservations and eviction thresholds applied to every host (REFERENCE §4). */
export const reservationsSchema = z.strictObject({
    kubeReserved: resourcePair
        .default({ cpu: "500m", memory: "1Gi" })
        .describe("For the kubelet and container runtime."),
    systemReserved: resourcePair
        .default({ cpu: "500m", memory: "1Gi" })
        .describe("For the OS (sshd, journald...)."),
    evictionHardMemory: memoryQuantity
        .default("500Mi")
        .describe("Hard memory eviction threshold; the other hard thresholds keep the kubelet defaults."),
    evictionSoftMemory: memoryQuantity
        .default("1Gi")
        .describe("Soft memory eviction threshold, evicted after evictionSoftGracePeriod."),
    evictionSoftGracePeriod: duration
        .default("1m")
        .describe("How long memory stays below the soft threshold."),
    evictionMaxPodGracePeriod: wholeNumberAtLeast(0)
        .default(600)
        .describe("Longest grace period a soft eviction grants a pod, in seconds."),
    daemonSetOverhead: resourcePair
        .default({ cpu: "250m", memory: "256Mi" })
        .describe("Requests of what runs on every node besides loaders (CNI, log shipper): not for loaders."),
});
export type KubeletReservations = z.input<typeof reservationsSchema>;
export type Reservations = z.output<typeof reservationsSchema>;

export const taintSchema = z.strictObject({
    key: labelKey,
    value: z.string().optional(),
    effect: taintEffect,
});
/** A node taint, as `kubectl taint` would set it. */
export type Taint = z.infer<typeof taintSchema>;

/** A host of a pool: how to reach it, what it is in the cluster, and what it holds. */
export const poolHostSchema = hostSchema.extend({
    roles: z
        .array(z.enum(NODE_ROLES))
        .min(1, "expected at least one role")
        .default(["worker"])
        .describe("Cluster roles: etcd, controlplane, worker."),
    labels: labels.default({}).describe("Node labels; loader hosts carry `swh/loader=true`."),
    taints: z.array(taintSchema).default([]).describe("Node taints."),
    cpu: z
        .union([z.number().positive("expected a positive number of cores"), positiveCpu])
        .describe('CPU capacity of the host (cores or a quantity: 4, "4", "3500m").'),
    memory: positiveMemory.describe('Memory capacity of the host ("8Gi").'),
});
export type PoolHostSpec = z.input<typeof poolHostSchema>;
export type PoolHost = z.output<typeof poolHostSchema>;

/** Everything of a pool the stack config can hold (the secret key and the provider come apart). */
export const workerNodePoolSchema = z.strictObject({
    hosts: z.array(poolHostSchema).min(1, "expected at least one host").describe("Hosts of the pool."),
    clusterName: dnsLabel.optional().describe("Rancher cluster name. Defaults to the component's name."),
    kubernetesVersion: kubernetesVersion
        .default(versions.rke2)
        .describe("Kubernetes of the pool's cluster; its suffix (+rke2r1, +k3s1) picks the distribution."),
    register: z
        .boolean()
        .default(true)
        .describe(
            "Create the Rancher cluster and register the hosts. False prepares the hosts only (no cluster output).",
        ),
    prepareHosts: z
        .boolean()
        .default(true)
        .describe(
            "Prepare the hosts over SSH. False when configuration management (SWH's Puppet) already does; " +
                "the pool then only registers them, and takes their declared size as is.",
        ),
    cni: z
        .enum(["calico", "canal", "cilium"], { error: "expected calico, canal or cilium" })
        .default("calico")
        .describe("RKE2 clusters: CNI, as SWH's RKE2 clusters."),
    flannelBackend: flannelBackend
        .default("host-gw")
        .describe("k3s clusters: flannel backend (vxlan failed on Debian in T3592)."),
    drainTimeoutSeconds: seconds
        .default(3600)
        .describe("Longest drain of a host, in seconds: at least the loaders' grace period."),
    reservations: reservationsSchema.prefault({}).describe("Kubelet reservations and eviction thresholds."),
});

/** Arguments of {@link WorkerNodePool}: the schema's fields plus the SSH key. The rancher2 provider comes in `opts`. */
export type WorkerNodePoolArgs = z.input<typeof workerNodePoolSchema> & {
    /** SSH private key that opens every host. Secret. */
    sshPrivateKey: pulumi.Input<string>;
};
export type WorkerNodePoolSettings = z.output<typeof workerNodePoolSchema>;
