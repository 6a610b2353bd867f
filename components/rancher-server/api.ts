import * as pulumi from "@pulumi/pulumi";
import * as rancher2 from "@pulumi/rancher2";

/** How a Rancher API's certificate is trusted: a given CA, the system's CAs, or (self-signed) not checked. */
export type RancherTls = { caCerts: pulumi.Input<string> } | { insecure: boolean };

/** The rancher2 provider options for a CA when one is given, else `fallback` (system CAs, or insecure). */
export function rancherTls(
    caCerts: pulumi.Input<string> | undefined,
    fallback: { insecure: boolean },
): RancherTls {
    return caCerts !== undefined ? { caCerts } : fallback;
}

/**
 * A rancher2 provider logged in to a Rancher API with a token (kept secret): RancherServer's own, or that of a
 * Rancher that already runs, which WorkerNodePool then registers its cluster into.
 */
export function rancherApiProvider(
    name: string,
    args: { apiUrl: pulumi.Input<string>; token: pulumi.Input<string>; tls: RancherTls },
    opts?: pulumi.CustomResourceOptions,
): rancher2.Provider {
    return new rancher2.Provider(
        name,
        { apiUrl: args.apiUrl, tokenKey: pulumi.secret(args.token), ...args.tls },
        opts,
    );
}
