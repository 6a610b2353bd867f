import { ArgumentError } from "../common/errors";
import { parseCpu, parseMemory } from "../common/quantity";

/** Kubernetes roles a host can take in an RKE2/k3s custom cluster. */
export const NODE_ROLES = ["etcd", "controlplane", "worker"] as const;
export type NodeRole = (typeof NODE_ROLES)[number];

/** A node taint, as `kubectl taint` would set it. */
export interface Taint {
    key: string;
    /** Optional value. */
    value?: string;
    effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

/** One Debian host reached over SSH. */
export interface HostSpec {
    /** Node name in Kubernetes; also names this host's Pulumi resources. DNS-1123 label. */
    name: string;
    /** Address `pulumi` reaches over SSH (and Rancher's agent registers with). */
    address: string;
    /** SSH port. Defaults to 22. */
    port?: number;
    /** SSH user; `sudo -n` is used when it is not root. Defaults to "root". */
    user?: string;
    /** Pinned SSH host public key ("ssh-ed25519 AAAA..."); unset trusts the key on first use. */
    hostKey?: string;
}

/** A host of a {@link WorkerNodePool}: how to reach it, what it is in the cluster, and what it holds. */
export interface PoolHostSpec extends HostSpec {
    /** Cluster roles. Defaults to ["worker"]. */
    roles?: NodeRole[];
    /** Node labels; loader hosts carry `swh/loader=true`. Defaults to none. */
    labels?: Record<string, string>;
    /** Node taints. Defaults to none. */
    taints?: Taint[];
    /** CPU capacity of the host (cores or a quantity: 4, "4", "3500m"). */
    cpu: number | string;
    /** Memory capacity of the host ("8Gi"). */
    memory: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Throws unless `value` is a DNS-1123 label (node, namespace and resource names). */
export function checkDnsLabel(value: unknown, key: string): asserts value is string {
    if (typeof value !== "string" || !DNS_LABEL.test(value)) {
        throw new ArgumentError(key, "a DNS-1123 label (lower-case letters, digits, '-', at most 63)", value);
    }
}

/** Throws unless every key and value is a valid Kubernetes label. */
export function checkLabels(labels: Record<string, string> | undefined, key: string): void {
    for (const [k, v] of Object.entries(labels ?? {})) {
        if (!LABEL_KEY.test(k)) throw new ArgumentError(`${key}`, "label keys like swh/loader", k);
        if (typeof v !== "string" || !LABEL_VALUE.test(v)) {
            throw new ArgumentError(`${key}["${k}"]`, "a label value (at most 63 of [A-Za-z0-9_.-])", v);
        }
    }
}

/** Validates an SSH host. */
export function checkHost(host: HostSpec, key: string): void {
    checkDnsLabel(host.name, `${key}.name`);
    if (typeof host.address !== "string" || host.address.trim() === "" || /\s/.test(host.address)) {
        throw new ArgumentError(`${key}.address`, "a host name or IP address", host.address);
    }
    if (host.port !== undefined && !(Number.isInteger(host.port) && host.port > 0 && host.port < 65536)) {
        throw new ArgumentError(`${key}.port`, "a TCP port (1-65535)", host.port);
    }
    if (host.user !== undefined && !/^[a-z_][a-z0-9_-]*$/.test(host.user)) {
        throw new ArgumentError(`${key}.user`, "a Unix user name", host.user);
    }
}

/** Validates a pool host, including its declared size, roles, labels and taints. */
export function checkPoolHost(host: PoolHostSpec, key: string): void {
    checkHost(host, key);
    const roles = host.roles ?? ["worker"];
    if (!Array.isArray(roles) || roles.length === 0) {
        throw new ArgumentError(`${key}.roles`, `a non-empty list of ${NODE_ROLES.join(", ")}`, host.roles);
    }
    for (const [i, role] of roles.entries()) {
        if (!NODE_ROLES.includes(role)) {
            throw new ArgumentError(`${key}.roles[${i}]`, `one of ${NODE_ROLES.join(", ")}`, role);
        }
    }
    checkLabels(host.labels, `${key}.labels`);
    for (const [i, taint] of (host.taints ?? []).entries()) {
        if (!LABEL_KEY.test(taint.key))
            throw new ArgumentError(`${key}.taints[${i}].key`, "a taint key", taint.key);
        if (!["NoSchedule", "PreferNoSchedule", "NoExecute"].includes(taint.effect)) {
            throw new ArgumentError(
                `${key}.taints[${i}].effect`,
                "NoSchedule, PreferNoSchedule or NoExecute",
                taint.effect,
            );
        }
    }
    const cpu = parseCpu(host.cpu);
    if (cpu === undefined || cpu <= 0)
        throw new ArgumentError(`${key}.cpu`, 'a CPU quantity like 4 or "3500m"', host.cpu);
    const memory = parseMemory(host.memory);
    if (memory === undefined || memory <= 0) {
        throw new ArgumentError(`${key}.memory`, 'a memory quantity like "8Gi"', host.memory);
    }
}

/** Throws if two hosts share a name. */
export function checkUniqueNames(hosts: { name: string }[], key: string): void {
    const seen = new Map<string, number>();
    for (const [i, host] of hosts.entries()) {
        const first = seen.get(host.name);
        if (first !== undefined) {
            throw new ArgumentError(
                `${key}[${i}].name`,
                `a unique name; "${host.name}" is also hosts[${first}]`,
            );
        }
        seen.set(host.name, i);
    }
}
