/**
 * The remote commands the stack program gives the command provider, read from its own resource inputs:
 * index.ts's buildStack under mocks on the staging stack, with its pool's hosts swapped for test hosts.
 */
import { planPool } from "../../components/worker-node-pool";
import { RemoteStep } from "../rig/hosts/prep";
import { Recorded, Recorder } from "./pulumi";
import { runProgram, stackConfig } from "./program";

/** Where a test host's SSH answers, and the host key it shows. */
export interface HostAddress {
    name: string;
    address: string;
    port: number;
    user: string;
    hostKey: string;
}

/** The pool of the staging stack with its hosts replaced by the test hosts (the first has every role). */
export function testPoolConfig(hosts: HostAddress[]): Record<string, string> {
    const config = stackConfig("Pulumi.staging.yaml");
    const pool = JSON.parse(config["elastic-workers:pool"]) as Record<string, unknown> & {
        hosts: Record<string, unknown>[];
    };
    // A worker host of staging (cpu, memory, the loaders' label), for every test host.
    const template = pool.hosts[pool.hosts.length - 1];
    pool.hosts = hosts.map((h, i) => ({
        ...template,
        name: h.name,
        address: h.address,
        port: h.port,
        user: h.user,
        hostKey: h.hostKey,
        roles: i === 0 ? ["etcd", "controlplane", "worker"] : ["worker"],
    }));
    return { ...config, "elastic-workers:pool": JSON.stringify(pool) };
}

/** Orders a host's commands by their dependencies (each step depends on the one before it). */
function chainOrder(commands: Recorded[]): Recorded[] {
    const left = [...commands];
    const ordered: Recorded[] = [];
    while (left.length > 0) {
        const next = left.findIndex((c) => !left.some((o) => o !== c && c.dependencies.includes(o.urn)));
        if (next < 0) throw new Error(`no dependency order in ${left.map((c) => c.name).join(", ")}`);
        ordered.push(...left.splice(next, 1));
    }
    return ordered;
}

/**
 * The program's remote commands per test host, in the order the engine runs them, and everything else the
 * program declared. `nodeCommand` is what Rancher's cluster would return as its node command.
 */
export async function programSteps(
    hosts: HostAddress[],
    nodeCommand: string,
): Promise<{ config: Record<string, string>; byHost: Record<string, RemoteStep[]>; recorder: Recorder }> {
    const config = testPoolConfig(hosts);
    const { recorder } = await runProgram(config, undefined, rancherOutputs(nodeCommand));
    const byHost: Record<string, RemoteStep[]> = {};
    for (const host of hosts) {
        const prefix = `pool-${host.name}-`;
        const own = recorder.ofType("command:remote:Command").filter((r) => r.name.startsWith(prefix));
        byHost[host.name] = chainOrder(own).map((r) => ({
            resource: r.name,
            host: host.name,
            step: r.name.slice(prefix.length).replace(/^prep-/, ""),
            create: r.inputs.create as string,
            delete: r.inputs.delete as string | undefined,
            connection: r.inputs.connection as RemoteStep["connection"],
        }));
    }
    return { config, byHost, recorder };
}

/** What Rancher answers the program under mocks: its cluster's node command. */
export function rancherOutputs(nodeCommand: string) {
    return (type: string) =>
        type === "rancher2:index/clusterV2:ClusterV2"
            ? { clusterRegistrationToken: { nodeCommand, token: "token" } }
            : undefined;
}

/** The pool's arguments in a stack config (`elastic-workers:pool`), as `planPool` takes them. */
export function poolArgs(config: Record<string, string>): PoolArgs {
    return JSON.parse(config["elastic-workers:pool"]) as PoolArgs;
}
type PoolArgs = Parameters<typeof planPool>[1] & {
    hosts: { name: string; cpu: string; memory: string; labels?: Record<string, string> }[];
};

/** The variables of a step, as the pool's own planner computes them for this config (`planPool`). */
export function stepEnv(config: Record<string, string>, step: string): Record<string, string> {
    const s = planPool("pool", poolArgs(config)).steps.find((x) => x.name === step);
    if (!s) throw new Error(`the pool plans no step ${step}`);
    return s.env;
}
