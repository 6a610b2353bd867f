import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { chartRepos } from "../common/versions";

/** cert-manager's Helm release, with its CRDs: Rancher's ingress certificate needs its Issuer. */
export function certManagerRelease(version: string): k8s.helm.v3.ReleaseArgs {
    return {
        chart: "cert-manager",
        version,
        repositoryOpts: { repo: chartRepos.certManager },
        namespace: "cert-manager",
        createNamespace: true,
        values: { crds: { enabled: true } },
        // Rancher's chart creates an Issuer as soon as it installs: the webhook must answer by then.
        waitForJobs: true,
        timeout: 600,
    };
}

/** Rancher's Helm release. The bootstrap password stays a secret inside the values. */
export function rancherRelease(args: {
    version: string;
    hostname: pulumi.Input<string>;
    bootstrapPassword: pulumi.Input<string>;
    replicas: number;
}): k8s.helm.v3.ReleaseArgs {
    return {
        chart: "rancher",
        version: args.version,
        repositoryOpts: { repo: chartRepos.rancher },
        namespace: "cattle-system",
        createNamespace: true,
        values: {
            hostname: args.hostname,
            bootstrapPassword: pulumi.secret(args.bootstrapPassword),
            replicas: args.replicas,
            ingress: { tls: { source: "rancher" } },
        },
        waitForJobs: true,
        timeout: 900,
    };
}
