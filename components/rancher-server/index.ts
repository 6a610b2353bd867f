import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as rancher2 from "@pulumi/rancher2";
import { argKey } from "../common/errors";
import { checkedHost } from "../common/hosts";
import { runSteps, sshConnection } from "../common/remote";
import { checkedInput, dnsName, parseArgs } from "../common/schema";
import { Reservations } from "../worker-node-pool/args";
import { nodePrepSteps } from "../worker-node-pool/node-prep";
import { RancherServerArgs, RancherServerSettings, rancherServerSchema } from "./args";
import { rancherApiProvider, rancherTls } from "./api";
import { certManagerRelease, rancherRelease } from "./charts";
import { K3sServerSpec, externalKubeconfig, k3sSteps } from "./k3s";
import { checkRancherSupportsKubernetes } from "./support-matrix";

export * from "./args";
export { RancherTls, rancherApiProvider, rancherTls } from "./api";
export { RANCHER_KUBERNETES_SUPPORT, checkRancherSupportsKubernetes } from "./support-matrix";

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
        const key = argKey("RancherServer", name);
        const {
            sshPrivateKey: _key,
            bootstrapPassword: _bootstrap,
            adminPassword: _admin,
            ...settings
        } = args;
        const plan = planRancherServer(name, settings);
        super("swh:elastic:RancherServer", name, {}, opts);
        const host = checkedHost(plan.settings.host, key("host"));
        const hostname = checkedInput(dnsName, plan.settings.hostname, key("hostname"));

        // Prep steps are named after the host, apart from the k3s and Rancher children below.
        const hostSteps = [...nodePrepSteps("k3s", plan.reservations), ...k3sSteps(plan.k3s)];
        const steps = runSteps(`${name}-${host.name}`, host, hostSteps, args.sshPrivateKey, {
            parent: this,
        });
        const ready = steps[steps.length - 1];

        const readKubeconfig = new command.remote.Command(
            `${name}-kubeconfig`,
            {
                connection: sshConnection(host, args.sshPrivateKey),
                create: "cat /etc/rancher/k3s/k3s.yaml",
                // Re-read when k3s is reinstalled (new certificates).
                triggers: [ready.id],
                logging: "none",
            },
            { parent: this, dependsOn: [ready], additionalSecretOutputs: ["stdout"] },
        );
        this.kubeconfig = pulumi.secret(
            pulumi
                .all([readKubeconfig.stdout, host.address])
                .apply(([raw, address]) => externalKubeconfig(raw, address)),
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
                hostname,
                bootstrapPassword: args.bootstrapPassword,
                replicas: plan.replicas,
            }),
            { ...k8sOpts, dependsOn: [this.certManager] },
        );

        const apiUrl = pulumi.interpolate`https://${hostname}`;
        // Rancher's own CA is self-signed unless a CA is given: not checked then (its cert-manager made it).
        const tls = rancherTls(plan.settings.caCerts, { insecure: true });
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
        // Named apart from the Bootstrap resource `${name}-admin`; the alias keeps stacks made before the rename.
        this.provider = rancherApiProvider(
            `${name}-api`,
            { apiUrl: bootstrap.url, token: this.adminToken, tls },
            { parent: this, aliases: [{ name: `${name}-admin` }] },
        );
        this.registerOutputs({ url: this.url, adminToken: this.adminToken, kubeconfig: this.kubeconfig });
    }
}

/** The checked, defaulted settings of a RancherServer. */
export interface RancherServerPlan {
    settings: RancherServerSettings;
    rancherVersion: string;
    certManagerVersion: string;
    replicas: number;
    k3s: K3sServerSpec;
    reservations: Reservations;
}

/**
 * Validates RancherServer arguments, including the Rancher / k3s support pair, without Pulumi. `key` names a
 * field in errors: the component's arguments by default, the stack config's keys when config/ calls it.
 */
export function planRancherServer(
    name: string,
    args: Omit<RancherServerArgs, "sshPrivateKey" | "bootstrapPassword" | "adminPassword">,
    key: (field: string) => string = argKey("RancherServer", name),
): RancherServerPlan {
    const s = parseArgs(rancherServerSchema, args, key);
    checkRancherSupportsKubernetes(s.version, s.k3sVersion, {
        rancher: key("version"),
        kubernetes: key("k3sVersion"),
    });
    return {
        settings: s,
        rancherVersion: s.version,
        certManagerVersion: s.certManagerVersion,
        replicas: s.replicas,
        k3s: {
            version: s.k3sVersion,
            flannelBackend: s.flannelBackend,
            tlsSans: [s.host.address, s.hostname],
            readyTimeoutSeconds: s.readyTimeoutSeconds,
        },
        reservations: s.reservations,
    };
}
