import * as YAML from "yaml";
import { readScript } from "../common/shell";
import { PrepStep } from "../common/remote";
import { Reservations } from "./args";
import { kubeletArgs } from "./capacity";

export type { PrepStep };

/** Kubernetes distribution a host runs; it decides where the agent reads its config drop-ins. */
export type Distribution = "rke2" | "k3s";

/** Reads a script shipped beside this file. */
export function shippedScript(file: string): string {
    return readScript(__dirname, file);
}

/**
 * Debian packages a fresh Debian 11 or 12 install leaves out and the preparation or Rancher's node command
 * need: iptables (Debian ships nftables) and curl (the node command is `curl ... | sudo sh`).
 */
export const PACKAGES = ["iptables", "curl"];

/** Kernel modules every Kubernetes node loads. */
export const KERNEL_MODULES = ["overlay", "br_netfilter"];

/** Kernel parameters for pod networking and for nodes running many containers. */
export const SYSCTLS: Record<string, string> = {
    "net.ipv4.ip_forward": "1",
    "net.bridge.bridge-nf-call-iptables": "1",
    "net.bridge.bridge-nf-call-ip6tables": "1",
    "fs.inotify.max_user_instances": "8192",
    "fs.inotify.max_user_watches": "524288",
};

/** The agent config drop-in with the kubelet reservations (`kubelet-arg+` appends to Rancher's own args). */
export function kubeletDropIn(reservations: Reservations): string {
    return YAML.stringify({ "kubelet-arg+": kubeletArgs(reservations) }).trimEnd();
}

/**
 * The preparation of a Debian host for Kubernetes, in order: missing packages, iptables legacy, swap off,
 * kernel modules, sysctls, then the kubelet reservations. Every step is idempotent and says "unchanged" when
 * it has nothing to do.
 */
export function nodePrepSteps(distribution: Distribution, reservations: Reservations): PrepStep[] {
    return [
        { name: "packages", script: shippedScript("packages.sh"), env: { PACKAGES: PACKAGES.join(" ") } },
        { name: "iptables-legacy", script: shippedScript("iptables-legacy.sh"), env: {} },
        { name: "swap-off", script: shippedScript("swap-off.sh"), env: {} },
        {
            name: "kernel-modules",
            script: shippedScript("kernel-modules.sh"),
            env: { MODULES: KERNEL_MODULES.join(" ") },
        },
        {
            name: "sysctls",
            script: shippedScript("sysctls.sh"),
            env: {
                SYSCTL_CONF: Object.entries(SYSCTLS)
                    .map(([k, v]) => `${k} = ${v}`)
                    .join("\n"),
            },
        },
        {
            name: "kubelet-config",
            script: shippedScript("kubelet-config.sh"),
            env: {
                CONFIG_DIR: `/etc/rancher/${distribution}/config.yaml.d`,
                KUBELET_CONFIG: kubeletDropIn(reservations),
            },
        },
    ];
}
