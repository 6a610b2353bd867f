/**
 * What the stack protects (Pulumi's `protect`) while `elastic-workers:protect` is true, its default: the
 * resources whose loss loses a cluster or data. A plan that would delete one then fails instead of deleting it.
 */
import * as pulumi from "@pulumi/pulumi";

/** The config key that lifts the protection, named in every message about it. */
export const PROTECT_KEY = "elastic-workers:protect";

export const PROTECTED: { what: string; type: string; name: RegExp }[] = [
    {
        what: "the Rancher server's k3s install",
        type: "command:remote:Command",
        name: /^rancher-.+-install-k3s$/,
    },
    { what: "the Rancher Helm release", type: "kubernetes:helm.sh/v3:Release", name: /^rancher-rancher$/ },
    { what: "the pool's Rancher cluster", type: "rancher2:index/clusterV2:ClusterV2", name: /./ },
    { what: "a loader's namespace", type: "kubernetes:core/v1:Namespace", name: /^loader-.+-namespace$/ },
];

/** Why a resource is protected, or undefined. */
export function protectedAs(type: string, name: string): string | undefined {
    return PROTECTED.find((p) => p.type === type && p.name.test(name))?.what;
}

/** A stack transform that sets `protect` on the resources above. */
export const protectTransform: pulumi.ResourceTransform = (args) =>
    protectedAs(args.type, args.name)
        ? { props: args.props, opts: { ...args.opts, protect: true } }
        : undefined;

/** What the program tells the operator on every run while protection is on. */
export function protectionNotice(): string {
    return (
        `${PROTECT_KEY} is true: ${PROTECTED.map((p) => p.what).join(", ")} are protected, so a change that deletes ` +
        `one fails. To delete them on purpose: \`pulumi config set protect false\`, \`pulumi up\`, then the change.`
    );
}
