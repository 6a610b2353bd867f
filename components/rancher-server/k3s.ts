import * as YAML from "yaml";
import { ArgumentError } from "../common/errors";
import { readScript } from "../common/shell";
import { PrepStep } from "../worker-node-pool/node-prep";

/** Options of the k3s server under Rancher. */
export interface K3sServerSpec {
    version: string;
    /** "host-gw" on Debian: vxlan broke inter-node traffic in T3592. */
    flannelBackend: "host-gw" | "vxlan" | "wireguard-native";
    /** Names the API server certificate must hold besides localhost (the host's address, Rancher's hostname). */
    tlsSans: string[];
    /** Longest wait for the node to be Ready, in seconds. */
    readyTimeoutSeconds: number;
}

/** k3s's config.yaml for the Rancher host. */
export function k3sConfig(spec: K3sServerSpec): string {
    return YAML.stringify({
        "flannel-backend": spec.flannelBackend,
        "write-kubeconfig-mode": "0600",
        "tls-san": spec.tlsSans,
    }).trimEnd();
}

/** The install and wait steps of the k3s server, run after the host's node preparation. */
export function k3sSteps(spec: K3sServerSpec): PrepStep[] {
    return [
        {
            name: "install-k3s",
            script: readScript(__dirname, "install-k3s.sh"),
            env: { K3S_VERSION: spec.version, K3S_CONFIG: k3sConfig(spec) },
        },
        {
            name: "wait-ready",
            script: readScript(__dirname, "wait-k3s-ready.sh"),
            env: { TIMEOUT_SECONDS: String(spec.readyTimeoutSeconds) },
        },
    ];
}

/**
 * k3s writes a kubeconfig for 127.0.0.1; rewrites its server to the host's address so it works from where
 * `pulumi` runs. Throws when the file is not a kubeconfig with one cluster.
 */
export function externalKubeconfig(raw: string, address: string): string {
    const doc = YAML.parse(raw) as { clusters?: { cluster?: { server?: string } }[] } | null;
    const clusters = doc?.clusters;
    if (
        !Array.isArray(clusters) ||
        clusters.length === 0 ||
        typeof clusters[0]?.cluster?.server !== "string"
    ) {
        throw new ArgumentError(
            "k3s kubeconfig (/etc/rancher/k3s/k3s.yaml)",
            "a kubeconfig with a cluster server",
        );
    }
    for (const c of clusters) {
        const server = new URL(c.cluster!.server!);
        server.hostname = address.includes(":") ? `[${address}]` : address;
        c.cluster!.server = server.toString().replace(/\/$/, "");
    }
    return YAML.stringify(doc);
}
