/** The SSH hosts every component reaches: their schema, type and the checks that span several hosts. */
import { isIP } from "net";
import { z } from "zod";
import { ArgumentError } from "./errors";
import { checkedInput, dnsLabel, input, port } from "./schema";

const HOST_NAME =
    /^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$/;
/** A host name or an IP address: no scheme, no port, no invisible characters. */
const address = z
    .string()
    .refine(
        (v) => HOST_NAME.test(v) || isIP(v) !== 0,
        'expected a host name or IP address, like "worker1.internal.staging.swh.network" or "192.0.2.10"',
    );
const user = z.string().regex(/^[a-z_][a-z0-9_-]*$/, "expected a Unix user name");
const hostKey = z.string().regex(/^(ssh-|ecdsa-)\S+ \S+/, 'expected a public key like "ssh-ed25519 AAAA..."');

/** One Debian host reached over SSH. Address, port, user and host key may come from other resources. */
export const hostSchema = z.strictObject({
    name: dnsLabel.describe("Node name in Kubernetes; also names this host's Pulumi resources."),
    address: input(address).describe("Address Pulumi reaches over SSH (and Rancher's agent registers with)."),
    port: input(port).default(22).describe("SSH port."),
    user: input(user).default("root").describe("SSH user; `sudo -n` is used when it is not root."),
    hostKey: input(hostKey)
        .optional()
        .describe('Pinned SSH host public key ("ssh-ed25519 AAAA..."); unset trusts the key on first use.'),
});
/** A host as callers write it (defaults optional). */
export type HostSpec = z.input<typeof hostSchema>;
/** A host after parsing (defaults filled in). */
export type Host = z.output<typeof hostSchema>;

/** The host with its computed leaves checked when they become known (plain ones were checked when parsed). */
export function checkedHost<H extends Host>(host: H, key: string): H {
    return {
        ...host,
        address: checkedInput(address, host.address, `${key}.address`),
        port: checkedInput(port, host.port, `${key}.port`),
        user: checkedInput(user, host.user, `${key}.user`),
        ...(host.hostKey !== undefined
            ? { hostKey: checkedInput(hostKey, host.hostKey, `${key}.hostKey`) }
            : {}),
    };
}

/**
 * Throws if two hosts are one: the same address, or with `byPort` the same address and SSH port (test hosts
 * behind one address). Plain values only; a computed address is not known yet.
 */
export function checkUniqueAddresses(hosts: Host[], key: string, byPort: boolean): void {
    const seen = new Map<string, number>();
    for (const [i, host] of hosts.entries()) {
        if (typeof host.address !== "string" || typeof host.port !== "number") continue;
        const id = byPort ? `${host.address.toLowerCase()}:${host.port}` : host.address.toLowerCase();
        const first = seen.get(id);
        if (first !== undefined) {
            throw new ArgumentError(
                `${key}[${i}].address`,
                `a host of its own; "${id}" is also hosts[${first}]`,
            );
        }
        seen.set(id, i);
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
