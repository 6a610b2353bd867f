import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as rancher2 from "@pulumi/rancher2";
import { ArgumentError, argKey, wholeNumber } from "../common/errors";
import { runSteps, sshConnection, stepCommand } from "../common/remote";
import { remoteScript } from "../common/shell";
import { versions } from "../common/versions";
import {
    KubeletReservations,
    NodeCapacity,
    nodeCapacity,
    resolveReservations,
    totalForLoaders,
} from "./capacity";
import { ClusterSpec, clusterV2Args, distributionOf } from "./cluster";
import { PoolHostSpec, checkDnsLabel, checkPoolHost, checkUniqueNames } from "./hosts";
import { nodePrepSteps, shippedScript } from "./node-prep";
import { registrationCommand } from "./registration";

export * from "./capacity";
export * from "./cluster";
export * from "./hosts";
export * from "./node-prep";
export * from "./registration";

/** Arguments of {@link WorkerNodePool}. */
export interface WorkerNodePoolArgs {
    /** Hosts of the pool. At least one. */
    hosts: PoolHostSpec[];
    /** SSH private key that opens every host. Secret. */
    sshPrivateKey: pulumi.Input<string>;
    /** Rancher cluster name. Defaults to the component name. */
    clusterName?: string;
    /** Kubernetes version, its suffix picks the distribution. Defaults to versions.rke2 ("v1.33.4+rke2r1"). */
    kubernetesVersion?: string;
    /** Kubelet reservations and eviction thresholds. Defaults to DEFAULT_RESERVATIONS. */
    reservations?: KubeletReservations;
    /** k3s clusters: flannel backend. Defaults to "host-gw" (Debian, T3592). */
    flannelBackend?: ClusterSpec["flannelBackend"];
    /** RKE2 clusters: CNI. Defaults to "calico", as SWH's RKE2 clusters. */
    cni?: ClusterSpec["cni"];
    /**
     * Prepare the hosts over SSH. Defaults to true. False when configuration management (SWH's Puppet)
     * already prepares them: the pool then only registers them, and takes their declared size as is.
     */
    prepareHosts?: boolean;
    /** Longest drain of a host, in seconds: at least the loaders' grace period. Defaults to 3600. */
    drainTimeoutSeconds?: number;
    /**
     * Create the Rancher cluster and register the hosts. Defaults to true. False prepares the hosts only
     * (for a pool whose Rancher is not reachable yet, or a test bench): then there is no cluster output.
     */
    register?: boolean;
    /** The Rancher API provider (RancherServer.provider). Required when `register` is true. */
    rancherProvider?: rancher2.Provider;
}

/**
 * A Rancher custom cluster and the Debian hosts that join it. Each host is prepared by remote commands
 * (iptables legacy, swap off, kernel modules, sysctls, kubelet reservations), then registered with the
 * cluster's registration command. Removing a host drains and deletes its node.
 */
export class WorkerNodePool extends pulumi.ComponentResource {
    /** The Rancher cluster (undefined when `register` is false). */
    public readonly cluster?: rancher2.ClusterV2;
    /** Rancher's v1 id of the cluster ("c-m-xxxx"), used by Rancher's own APIs. */
    public readonly clusterId: pulumi.Output<string | undefined>;
    /** Kubeconfig of the cluster, through Rancher. Secret. */
    public readonly kubeconfig: pulumi.Output<string | undefined>;
    /** A kubernetes provider for the cluster, usable once it is active. */
    public readonly provider?: k8s.Provider;
    /** Per host: allocatable after reservations, and what is left for loaders. */
    public readonly nodes: NodeCapacity[];
    /** Sum over the worker hosts of what loaders can request. */
    public readonly allocatable: pulumi.Output<{
        cpu: string;
        memory: string;
        cpuMillis: number;
        memoryBytes: number;
    }>;
    /** The last preparation command of each host, by host name (empty when prepareHosts is false). */
    public readonly prepared: Record<string, command.remote.Command>;

    constructor(name: string, args: WorkerNodePoolArgs, opts?: pulumi.ComponentResourceOptions) {
        const key = argKey("WorkerNodePool", name);
        const plan = planPool(name, args);
        if (plan.register && !args.rancherProvider) {
            throw new ArgumentError(
                key("rancherProvider"),
                "a rancher2.Provider when register is true (the default)",
            );
        }
        super("swh:elastic:WorkerNodePool", name, {}, opts);
        this.nodes = plan.nodes;

        const total = totalForLoaders(plan.nodes);
        this.allocatable = pulumi.output({
            cpuMillis: total.cpuMillis,
            memoryBytes: total.memoryBytes,
            cpu: `${total.cpuMillis}m`,
            memory: `${Math.floor(total.memoryBytes / 2 ** 20)}Mi`,
        });

        this.prepared = {};
        for (const host of plan.prepareHosts ? args.hosts : []) {
            const steps = runSteps(`${name}-${host.name}-prep`, host, plan.steps, args.sshPrivateKey, {
                parent: this,
            });
            this.prepared[host.name] = steps[steps.length - 1];
        }

        if (!plan.register) {
            this.clusterId = pulumi.output(undefined);
            this.kubeconfig = pulumi.output(undefined);
            this.registerOutputs({
                clusterId: this.clusterId,
                allocatable: this.allocatable,
                nodes: this.nodes,
            });
            return;
        }
        const rancherOpts = { parent: this, provider: args.rancherProvider };
        this.cluster = new rancher2.ClusterV2(`${name}-cluster`, clusterV2Args(plan.cluster), rancherOpts);
        const nodeCommand = pulumi.secret(this.cluster.clusterRegistrationToken.nodeCommand);
        this.kubeconfig = pulumi.secret(this.cluster.kubeConfig);

        const registrations = args.hosts.map((host) => {
            const register = new command.remote.Command(
                `${name}-${host.name}-register`,
                {
                    connection: sshConnection(host, args.sshPrivateKey),
                    create: nodeCommand.apply((cmd) =>
                        stepCommand(host, {
                            name: "register",
                            script: shippedScript("register.sh"),
                            env: {
                                REGISTER_COMMAND: registrationCommand(cmd, {
                                    name: host.name,
                                    address: host.address,
                                    roles: host.roles ?? ["worker"],
                                    labels: host.labels ?? {},
                                    taints: host.taints ?? [],
                                }),
                            },
                        }),
                    ),
                    delete: stepCommand(host, {
                        name: "unregister",
                        script: shippedScript("unregister.sh"),
                        env: {},
                    }),
                },
                // Registration only after the host is prepared; the agent must start with the kubelet config.
                {
                    parent: this,
                    dependsOn: this.prepared[host.name] ? [this.prepared[host.name]] : [],
                    additionalSecretOutputs: ["stdout", "stderr"],
                },
            );
            // Created after registration, so destroyed before it: the node is drained before the agent goes.
            return new command.local.Command(
                `${name}-${host.name}-drain`,
                {
                    create: "true",
                    delete: remoteScript(shippedScript("drain.sh"), {}, { sudo: false }),
                    environment: {
                        NODE_NAME: host.name,
                        DRAIN_TIMEOUT: `${plan.cluster.drainTimeoutSeconds}s`,
                        KUBECONFIG_CONTENT: this.kubeconfig.apply((k) => k ?? ""),
                    },
                },
                { parent: this, dependsOn: [register] },
            );
        });

        const sync = new rancher2.ClusterSync(
            `${name}-sync`,
            { clusterId: this.cluster.clusterV1Id },
            { ...rancherOpts, dependsOn: registrations },
        );
        this.clusterId = sync.clusterId;
        this.provider = new k8s.Provider(
            `${name}-k8s`,
            { kubeconfig: pulumi.secret(sync.kubeConfig) },
            { parent: this },
        );
        this.registerOutputs({
            clusterId: this.clusterId,
            kubeconfig: this.kubeconfig,
            allocatable: this.allocatable,
            nodes: this.nodes,
        });
    }
}

/** What a pool will create, computed and validated without Pulumi. */
export interface PoolPlan {
    cluster: ClusterSpec;
    register: boolean;
    prepareHosts: boolean;
    steps: ReturnType<typeof nodePrepSteps>;
    nodes: NodeCapacity[];
}

/** Validates the arguments of a pool and computes its cluster spec, preparation steps and capacity. */
export function planPool(name: string, args: WorkerNodePoolArgs): PoolPlan {
    const key = argKey("WorkerNodePool", name);
    if (!Array.isArray(args.hosts) || args.hosts.length === 0) {
        throw new ArgumentError(key("hosts"), "at least one host", args.hosts);
    }
    args.hosts.forEach((h, i) => checkPoolHost(h, key(`hosts[${i}]`)));
    checkUniqueNames(args.hosts, key("hosts"));
    const clusterName = args.clusterName ?? name;
    checkDnsLabel(clusterName, key("clusterName"));
    const kubernetesVersion = args.kubernetesVersion ?? versions.rke2;
    const distribution = distributionOf(kubernetesVersion, key("kubernetesVersion"));
    const drainTimeoutSeconds = wholeNumber(args.drainTimeoutSeconds, key("drainTimeoutSeconds"), 1, 3600);
    const register = args.register ?? true;
    if (register && !args.hosts.some((h) => (h.roles ?? ["worker"]).includes("controlplane"))) {
        throw new ArgumentError(
            key("hosts"),
            "at least one host with the controlplane and etcd roles when registering",
        );
    }
    const reservations = resolveReservations(args.reservations, key("reservations"));
    return {
        cluster: {
            name: clusterName,
            kubernetesVersion,
            flannelBackend: args.flannelBackend ?? "host-gw",
            cni: args.cni ?? "calico",
            drainTimeoutSeconds,
        },
        register,
        prepareHosts: args.prepareHosts ?? true,
        steps: nodePrepSteps(distribution, reservations),
        nodes: args.hosts.map((h) => nodeCapacity(h, reservations)),
    };
}
