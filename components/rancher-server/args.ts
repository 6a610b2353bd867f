/** The arguments of RancherServer: one schema for the type, the checks, the defaults and the docs. */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { hostSchema } from "../common/hosts";
import {
    dnsName,
    flannelBackend,
    input,
    k3sVersion,
    seconds,
    version,
    wholeNumberAtLeast,
} from "../common/schema";
import { versions } from "../common/versions";
import { reservationsSchema } from "../worker-node-pool/args";

/** Everything of a Rancher server the stack config can hold (the secrets come apart). */
export const rancherServerSchema = z.strictObject({
    host: hostSchema.describe("The Debian host that runs k3s and Rancher."),
    hostname: input(dnsName).describe("DNS name Rancher is served at (its ingress host and API URL)."),
    version: version.default(versions.rancher).describe("Rancher chart version."),
    k3sVersion: k3sVersion
        .default(versions.k3s)
        .describe("k3s under Rancher; must be in the Rancher version's support range (checked)."),
    certManagerVersion: version.default(versions.certManager).describe("cert-manager chart version."),
    flannelBackend: flannelBackend
        .default("host-gw")
        .describe("Flannel backend (vxlan failed on Debian in T3592)."),
    replicas: wholeNumberAtLeast(1).default(1).describe("Rancher replicas (single-node k3s: 1)."),
    reservations: reservationsSchema.prefault({}).describe("Kubelet reservations of the host."),
    caCerts: input(z.string().includes("BEGIN CERTIFICATE", { error: "expected a PEM CA certificate" }))
        .optional()
        .describe(
            "PEM CA of Rancher's certificate; unset trusts Rancher's self-signed CA without checking it.",
        ),
    readyTimeoutSeconds: seconds
        .default(300)
        .describe("Longest wait for the k3s node to be Ready, in seconds."),
});

/** Arguments of {@link RancherServer}: the schema's fields plus its secrets. */
export type RancherServerArgs = z.input<typeof rancherServerSchema> & {
    /** SSH private key of the host. Secret. */
    sshPrivateKey: pulumi.Input<string>;
    /** Rancher's one-time bootstrap password (chart value). Secret. */
    bootstrapPassword: pulumi.Input<string>;
    /** The admin password set at bootstrap. Secret. */
    adminPassword: pulumi.Input<string>;
};
export type RancherServerSettings = z.output<typeof rancherServerSchema>;

/** A Rancher that already runs (SWH's), reached through its API instead of installed by this stack. */
export const existingRancherSchema = z.strictObject({
    apiUrl: z
        .url({
            protocol: /^https$/,
            error: 'expected the https URL of Rancher, like "https://rancher.example.org"',
        })
        .refine(
            (u) => !/^https:\/\/[^/]*@/.test(u),
            "expected no credentials in the URL: the token is a secret",
        )
        .describe("https URL of the Rancher API; the token is the secret rancherApiToken."),
    caCerts: z
        .string()
        .includes("BEGIN CERTIFICATE", { error: "expected a PEM CA certificate" })
        .optional()
        .describe("PEM CA of Rancher's certificate; unset trusts the system's CAs."),
    version: version
        .optional()
        .describe(
            "Rancher's version, to check pool.kubernetesVersion against its support range; unset skips it.",
        ),
});
export type ExistingRancherSettings = z.output<typeof existingRancherSchema>;
