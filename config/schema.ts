/**
 * The stack config's structured keys, as `Pulumi.<stack>.yaml` holds them: each composed from the schema of the
 * component it configures (components/<name>/args.ts), plus the few keys only the stack program has. The
 * reference docs (docs/config.md) and Pulumi.yaml's descriptions are generated from these (scripts/docs.ts).
 */
import { z } from "zod";
import { kedaOperatorSchema, loaderSettingsSchema } from "../components/keda-scaled-loader/args";
import {
    DEFAULT_REPOSITORY_NAMESPACE,
    imageSettingsSchema,
    loaderImageSchema,
    repositoryNamespace,
} from "../components/loader-image/args";
import { observabilityStackSchema } from "../components/observability-stack/args";
import { existingRancherSchema, rancherServerSchema } from "../components/rancher-server/args";
import { imageReference, prebuiltImage } from "../components/common/schema";
import { workerNodePoolSchema } from "../components/worker-node-pool/args";

export const imagesSchema = imageSettingsSchema
    .extend({
        namespace: repositoryNamespace
            .default(DEFAULT_REPOSITORY_NAMESPACE)
            .describe("Repository namespace: each loader's image is `<registry>/<namespace>/loader_<type>`."),
    })
    .describe("Loader image build and push, shared by every loader.");

export const loaderSchema = loaderSettingsSchema
    // The statsd target is the ObservabilityStack's exporter; the broker Secret's mode follows `kubernetes`.
    .omit({ statsd: true })
    .extend({
        packages: loaderImageSchema.shape.packages
            .optional()
            .describe("Pinned pip packages to build this loader's image from (or `image`)."),
        image: prebuiltImage
            .optional()
            .describe(
                "A prebuilt image instead of `packages`: digest-pinned, or a tag as SWH publishes them, resolved " +
                    "to its digest at every preview (@pulumi/docker getRegistryImage) so the Deployment is pinned.",
            ),
        baseImage: imageReference
            .optional()
            .describe("Base image of this loader's build. Defaults to images.baseImage."),
        imagePullSecret: z
            .enum(["existing"])
            .optional()
            .describe(
                "A prebuilt `image` from a registry that asks for a login: the pods pull it with the Secret " +
                    "`loader-<type>-registry` (kubernetes.io/dockerconfigjson), made out of band in the loader's " +
                    "namespace (`kubectl create secret docker-registry`). A loader built here needs none: it pulls " +
                    "with images.username's login.",
            ),
    });

export const observabilitySchema = observabilityStackSchema
    // KEDA's namespace is keda.namespace: one key, not two that can disagree.
    .omit({ kedaNamespace: true })
    .extend({ enabled: z.boolean().default(true).describe("Deploy the ObservabilityStack.") });

export const kubernetesSchema = z.strictObject({
    renderYamlToDirectory: z
        .string()
        .min(1)
        .optional()
        .describe(
            "Write manifests here (relative to the project) instead of applying them: no cluster needed.",
        ),
    kubeconfig: z
        .string()
        .min(1)
        .optional()
        .describe(
            "Apply to the cluster of this kubeconfig file (relative to the project) instead of the pool's.",
        ),
});

/** Plain (non-secret) structured keys and their schemas. */
export const structuredKeys = {
    rancher: rancherServerSchema
        .optional()
        .describe("The Rancher server to install on k3s; omit to manage none (or to use existingRancher)."),
    existingRancher: existingRancherSchema
        .optional()
        .describe(
            "A Rancher that already runs (SWH's), instead of `rancher`: the pool's cluster is created in it with " +
                "the secret rancherApiToken.",
        ),
    pool: workerNodePoolSchema.describe(
        "The worker hosts, prepared over SSH and registered into a Rancher cluster.",
    ),
    images: imagesSchema.prefault({}),
    loaders: z
        .array(loaderSchema)
        .min(1, "expected at least one loader")
        .describe("The loader types, each scaled by KEDA."),
    keda: kedaOperatorSchema.prefault({}).describe("The KEDA operator."),
    observability: observabilitySchema.prefault({}).describe("Monitoring and logs."),
    kubernetes: kubernetesSchema
        .prefault({})
        .describe("Where Kubernetes objects go (default: the pool's cluster)."),
};
export const structuredSchema = z.strictObject(structuredKeys);
export type StructuredConfig = z.output<typeof structuredSchema>;
export type LoaderConfig = z.output<typeof loaderSchema>;

/** The keys only the stack program has, as plain text in the engine's config. */
export const programKeys = z.strictObject({
    environment: z
        .string()
        .min(1)
        .default("dev")
        .describe("Name of the environment (staging, production, local); shown in outputs."),
    protect: z
        .stringbool({
            truthy: ["true"],
            falsy: ["false"],
            error: "expected true or false, e.g. `pulumi config set protect false`",
        })
        .default(true)
        .describe(
            "Protect the Rancher server's install, the pool's Rancher cluster and the loaders' namespaces: a " +
                "change that would delete one fails (config/protect.ts). Set false to delete them on purpose, or " +
                "for throw-away stacks.",
        ),
});
