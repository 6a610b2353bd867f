import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as rancher2 from "@pulumi/rancher2";
import { ArgumentError, argKey, wholeNumber } from "../common/errors";
import { runSteps, sshConnection } from "../common/remote";
import { versions } from "../common/versions";
import { KubeletReservations, resolveReservations } from "../worker-node-pool/capacity";
import { HostSpec, checkHost } from "../worker-node-pool/hosts";
import { nodePrepSteps } from "../worker-node-pool/node-prep";
import { certManagerRelease, rancherRelease } from "./charts";
import { K3sServerSpec, externalKubeconfig, k3sSteps } from "./k3s";
import { checkRancherSupportsKubernetes } from "./support-matrix";

export * from "./charts";
export * from "./k3s";
export * from "./support-matrix";

/** Arguments of {@link RancherServer}. */
export interface RancherServerArgs {
    /** The Debian host that runs k3s and Rancher. */
    host: HostSpec;
    /** SSH private key of the host. Secret. */
    sshPrivateKey: pulumi.Input<string>;
    /** DNS name Rancher is served at (its ingress host and API URL). */
    hostname: string;
    /** Rancher's one-time bootstrap password (chart value). Secret. */
    bootstrapPassword: pulumi.Input<string>;
    /** The admin password set at bootstrap. Secret. */
    adminPassword: pulumi.Input<string>;
    /** Rancher chart version. Defaults to versions.rancher ("2.13.1"). */
    rancherVersion?: string;
    /** k3s version; must be in Rancher's support range. Defaults to versions.k3s ("v1.33.4+k3s1"). */
    k3sVersion?: string;
    /** cert-manager chart version. Defaults to versions.certManager. */
    certManagerVersion?: string;
    /** Flannel backend. Defaults to "host-gw" (vxlan failed on Debian in T3592). */
    flannelBackend?: K3sServerSpec["flannelBackend"];
    /** Rancher replicas. Defaults to 1 (single-node k3s). */
    replicas?: number;
    /** Kubelet reservations of the host. Defaults to DEFAULT_RESERVATIONS. */
    reservations?: KubeletReservations;
    /** PEM CA of Rancher's certificate; unset trusts Rancher's self-signed CA without checking it. */
    caCerts?: pulumi.Input<string>;
    /** Longest wait for the k3s node to be Ready, in seconds. Defaults to 300. */
    readyTimeoutSeconds?: number;
}

/**
 * Rancher on a pinned k3s, on one host reached over SSH: node preparation and k3s install as remote
 * commands, cert-manager and Rancher from pinned charts, and the admin bootstrapped through the rancher2
 * provider. Refuses a k3s version outside the Rancher version's support range (T3592's first failure).
 */
export class RancherServer extends pulumi.ComponentResource {
    /** https URL of Rancher. */
    public readonly url: pulumi.Output<string>;
    /** Admin API token from the bootstrap. Secret. */
    public readonly adminToken: pulumi.Output<string>;
    /** A rancher2 provider logged in as admin, for WorkerNodePool and other stacks. */
    public readonly provider: rancher2.Provider;
    /** Kubeconfig of the local (k3s) cluster. Secret. */
    public readonly kubeconfig: pulumi.Output<string>;
    /** A kubernetes provider for the local cluster. */
    public readonly localProvider: k8s.Provider;
    public readonly certManager: k8s.helm.v3.Release;
    public readonly rancher: k8s.helm.v3.Release;

    constructor(name: string, args: RancherServerArgs, opts?: pulumi.ComponentResourceOptions) {
        const plan = planRancherServer(name, args);
        super("swh:elastic:RancherServer", name, {}, opts);

        const hostSteps = [...nodePrepSteps("k3s", plan.reservations), ...k3sSteps(plan.k3s)];
        const steps = runSteps(`${name}-${args.host.name}`, args.host, hostSteps, args.sshPrivateKey, {
            parent: this,
        });
        const ready = steps[steps.length - 1];

        const readKubeconfig = new command.remote.Command(
            `${name}-kubeconfig`,
            {
                connection: sshConnection(args.host, args.sshPrivateKey),
                create: "cat /etc/rancher/k3s/k3s.yaml",
                // Re-read when k3s is reinstalled (new certificates).
                triggers: [ready.id],
                logging: "none",
            },
            { parent: this, dependsOn: [ready], additionalSecretOutputs: ["stdout"] },
        );
        this.kubeconfig = pulumi.secret(
            readKubeconfig.stdout.apply((raw) => externalKubeconfig(raw, args.host.address)),
        );
        this.localProvider = new k8s.Provider(
            `${name}-local`,
            { kubeconfig: this.kubeconfig },
            { parent: this },
        );

        const k8sOpts = { parent: this, provider: this.localProvider };
        this.certManager = new k8s.helm.v3.Release(
            `${name}-cert-manager`,
            certManagerRelease(plan.certManagerVersion),
            k8sOpts,
        );
        this.rancher = new k8s.helm.v3.Release(
            `${name}-rancher`,
            rancherRelease({
                version: plan.rancherVersion,
                hostname: args.hostname,
                bootstrapPassword: args.bootstrapPassword,
                replicas: plan.replicas,
            }),
            { ...k8sOpts, dependsOn: [this.certManager] },
        );

        const apiUrl = `https://${args.hostname}`;
        const tls = args.caCerts ? { caCerts: args.caCerts } : { insecure: true };
        const bootstrapProvider = new rancher2.Provider(
            `${name}-bootstrap`,
            { apiUrl, bootstrap: true, ...tls },
            { parent: this, dependsOn: [this.rancher] },
        );
        const bootstrap = new rancher2.Bootstrap(
            `${name}-admin`,
            {
                initialPassword: pulumi.secret(args.bootstrapPassword),
                password: pulumi.secret(args.adminPassword),
            },
            { parent: this, provider: bootstrapProvider },
        );
        this.url = bootstrap.url;
        this.adminToken = pulumi.secret(bootstrap.token);
        this.provider = new rancher2.Provider(
            `${name}-admin`,
            { apiUrl: bootstrap.url, tokenKey: this.adminToken, ...tls },
            { parent: this },
        );
        this.registerOutputs({ url: this.url, adminToken: this.adminToken, kubeconfig: this.kubeconfig });
    }
}

/** The checked, defaulted settings of a RancherServer. */
export interface RancherServerPlan {
    rancherVersion: string;
    certManagerVersion: string;
    replicas: number;
    k3s: K3sServerSpec;
    reservations: ReturnType<typeof resolveReservations>;
}

/** Validates RancherServer arguments, including the Rancher / k3s support pair, without Pulumi. */
export function planRancherServer(name: string, args: RancherServerArgs): RancherServerPlan {
    const key = argKey("RancherServer", name);
    checkHost(args.host, key("host"));
    if (typeof args.hostname !== "string" || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(args.hostname)) {
        throw new ArgumentError(
            key("hostname"),
            "a DNS name like rancher.internal.staging.swh.network",
            args.hostname,
        );
    }
    const rancherVersion = args.rancherVersion ?? versions.rancher;
    const k3sVersion = args.k3sVersion ?? versions.k3s;
    if (!/^v\d+\.\d+\.\d+\+k3s\d+$/.test(k3sVersion)) {
        throw new ArgumentError(key("k3sVersion"), 'a k3s release like "v1.33.4+k3s1"', k3sVersion);
    }
    checkRancherSupportsKubernetes(rancherVersion, k3sVersion, key("k3sVersion"));
    const replicas = wholeNumber(args.replicas, key("replicas"), 1, 1);
    const readyTimeoutSeconds = wholeNumber(args.readyTimeoutSeconds, key("readyTimeoutSeconds"), 1, 300);
    const flannelBackend = args.flannelBackend ?? "host-gw";
    if (!["host-gw", "vxlan", "wireguard-native"].includes(flannelBackend)) {
        throw new ArgumentError(key("flannelBackend"), "host-gw, vxlan or wireguard-native", flannelBackend);
    }
    return {
        rancherVersion,
        certManagerVersion: args.certManagerVersion ?? versions.certManager,
        replicas,
        k3s: {
            version: k3sVersion,
            flannelBackend,
            tlsSans: [...new Set([args.host.address, args.hostname])],
            readyTimeoutSeconds,
        },
        reservations: resolveReservations(args.reservations, key("reservations")),
    };
}
