import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as rancher2 from "@pulumi/rancher2";
import { ArgumentError, argKey } from "../common/errors";
import { checkUniqueAddresses, checkUniqueNames, checkedHost } from "../common/hosts";
import { runSteps, sshConnection, stepCommand } from "../common/remote";
import { parseArgs } from "../common/schema";
import { remoteScript } from "../common/shell";
import { NODE_ROLES, PoolHost, WorkerNodePoolArgs, workerNodePoolSchema } from "./args";
import { NodeCapacity, checkHoldsReservations, nodeCapacity, totalForLoaders } from "./capacity";
import { ClusterSpec, clusterV2Args, distributionOf } from "./cluster";
import { nodePrepSteps, shippedScript } from "./node-prep";
import { registrationCommand } from "./registration";

export * from "./args";
export { CapacityPlan, DEFAULT_RESERVATIONS, NodeCapacity, capacityPlan, nodeCapacity } from "./capacity";

/** The rancher2 provider a component was given in `opts` (its own, or inherited from its parent). */
function rancherProviderOf(opts: pulumi.ComponentResourceOptions | undefined): rancher2.Provider | undefined {
    const given = [opts?.provider, ...Object.values(opts?.providers ?? {})];
    const own = given.find((p): p is rancher2.Provider => rancher2.Provider.isInstance(p));
    return own ?? (opts?.parent?.getProvider("rancher2::ClusterV2") as rancher2.Provider | undefined);
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

    /**
     * @param opts with `register` (the default), `providers: [rancher.provider]`: the Rancher API the cluster is
     * created in (RancherServer.provider, or a provider of a Rancher that already runs).
     */
    constructor(name: string, args: WorkerNodePoolArgs, opts?: pulumi.ComponentResourceOptions) {
        const key = argKey("WorkerNodePool", name);
        const { sshPrivateKey: _key, ...settings } = args;
        const plan = planPool(name, settings);
        if (plan.register && !rancherProviderOf(opts)) {
            throw new ArgumentError(
                `WorkerNodePool "${name}": opts.providers`,
                "a rancher2.Provider when register is true (the default), e.g. { providers: [rancher.provider] }",
            );
        }
        super("swh:elastic:WorkerNodePool", name, {}, opts);
        const hosts = plan.hosts.map((h, i) => checkedHost(h, key(`hosts[${i}]`)));
        this.nodes = plan.nodes;

        const total = totalForLoaders(plan.nodes);
        this.allocatable = pulumi.output({
            cpuMillis: total.cpuMillis,
            memoryBytes: total.memoryBytes,
            cpu: `${total.cpuMillis}m`,
            memory: `${Math.floor(total.memoryBytes / 2 ** 20)}Mi`,
        });

        this.prepared = {};
        for (const host of plan.prepareHosts ? hosts : []) {
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
        // Children inherit the rancher2 provider from this component's opts.
        const rancherOpts = { parent: this };
        this.cluster = new rancher2.ClusterV2(`${name}-cluster`, clusterV2Args(plan.cluster), rancherOpts);
        const nodeCommand = pulumi.secret(this.cluster.clusterRegistrationToken.nodeCommand);
        this.kubeconfig = pulumi.secret(this.cluster.kubeConfig);

        const registrations = hosts.map((host) => {
            const register = new command.remote.Command(
                `${name}-${host.name}-register`,
                {
                    connection: sshConnection(host, args.sshPrivateKey),
                    create: stepCommand(host, {
                        name: "register",
                        script: shippedScript("register.sh"),
                        env: {
                            REGISTER_COMMAND: pulumi
                                .all([nodeCommand, host.address])
                                .apply(([cmd, address]) => registrationCommand(cmd, { ...host, address })),
                        },
                    }),
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
    hosts: PoolHost[];
    cluster: ClusterSpec;
    register: boolean;
    prepareHosts: boolean;
    steps: ReturnType<typeof nodePrepSteps>;
    nodes: NodeCapacity[];
}

/**
 * Validates the arguments of a pool and computes its cluster spec, preparation steps and capacity. `key` names
 * a field in errors: the component's arguments by default, the stack config's keys when config/ calls it.
 */
export function planPool(
    name: string,
    args: Omit<WorkerNodePoolArgs, "sshPrivateKey">,
    key: (field: string) => string = argKey("WorkerNodePool", name),
): PoolPlan {
    const s = parseArgs(workerNodePoolSchema, args, key);
    checkUniqueNames(s.hosts, key("hosts"));
    // Registered nodes are told apart by address; hosts only prepared, by where SSH reaches them.
    if (s.register || s.prepareHosts) checkUniqueAddresses(s.hosts, key("hosts"), !s.register);
    s.hosts.forEach((h, i) => checkHoldsReservations(h, s.reservations, key(`hosts[${i}]`)));
    const clusterName = s.clusterName ?? name;
    const distribution = distributionOf(s.kubernetesVersion, key("kubernetesVersion"));
    if (s.register) {
        for (const role of NODE_ROLES.filter((r) => r !== "worker")) {
            if (!s.hosts.some((h) => h.roles.includes(role))) {
                throw new ArgumentError(
                    key("hosts"),
                    `at least one host with the ${role} role when registering (etcd and controlplane are both needed)`,
                );
            }
        }
    }
    return {
        hosts: s.hosts,
        cluster: {
            name: clusterName,
            kubernetesVersion: s.kubernetesVersion,
            flannelBackend: s.flannelBackend,
            cni: s.cni,
            drainTimeoutSeconds: s.drainTimeoutSeconds,
        },
        register: s.register,
        prepareHosts: s.prepareHosts,
        steps: nodePrepSteps(distribution, s.reservations),
        nodes: s.hosts.map((h) => nodeCapacity(h, s.reservations)),
    };
}
