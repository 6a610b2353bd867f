import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { ArgumentError } from "../common/errors";
import { PrepStep } from "../common/remote";
import { readScript } from "../common/shell";

/** Options of the k3s server under Rancher. */
export interface K3sServerSpec {
    version: string;
    /** "host-gw" on Debian: vxlan broke inter-node traffic in T3592. */
    flannelBackend: "host-gw" | "vxlan" | "wireguard-native";
    /** Names the API server certificate must hold besides localhost (the host's address, Rancher's hostname). */
    tlsSans: pulumi.Input<string>[];
    /** Longest wait for the node to be Ready, in seconds. */
    readyTimeoutSeconds: number;
}

/** k3s's config.yaml for the Rancher host. */
export function k3sConfig(spec: K3sServerSpec & { tlsSans: string[] }): string {
    return YAML.stringify({
        "flannel-backend": spec.flannelBackend,
        "write-kubeconfig-mode": "0600",
        "tls-san": [...new Set(spec.tlsSans)],
    }).trimEnd();
}

/** The install and wait steps of the k3s server, run after the host's node preparation. */
export function k3sSteps(spec: K3sServerSpec): PrepStep<pulumi.Input<string>>[] {
    return [
        {
            name: "install-k3s",
            script: readScript(__dirname, "install-k3s.sh"),
            env: {
                K3S_VERSION: spec.version,
                // Known at once when the names are plain; when another resource supplies one, once it is known.
                K3S_CONFIG: spec.tlsSans.every((s): s is string => typeof s === "string")
                    ? k3sConfig({ ...spec, tlsSans: spec.tlsSans })
                    : pulumi.all(spec.tlsSans).apply((tlsSans) => k3sConfig({ ...spec, tlsSans })),
            },
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
