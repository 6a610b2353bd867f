import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";
import { ArgumentError, argKey } from "../common/errors";
import { NodeCapacity } from "../worker-node-pool/capacity";
import {
    brokerSecret,
    envConfigMap,
    loaderDeployment,
    namespaceManifest,
    objectNames,
    podTemplate,
    workerConfigYaml,
} from "./manifests";
import { LoaderPlan, LoaderSettings, planLoader } from "./plan";
import { scaledJob, scaledObject, triggerAuthentication } from "./scaling";

export * from "./manifests";
export * from "./operator";
export * from "./plan";
export * from "./scaling";

/** Arguments of {@link KedaScaledLoader}: the loader settings plus its image, broker and placement. */
export interface KedaScaledLoaderArgs extends LoaderSettings {
    /** Digest-pinned image reference (LoaderImage.ref): `repo@sha256:...`. */
    image: pulumi.Input<string>;
    /**
     * "create" (default): the component creates the broker Secret from amqpUrl and managementUrl.
     * "existing": the Secret `loader-<type>-broker` (keys config.yml, host) is made out of band, e.g. by sealed
     * secrets; use it when manifests are rendered to files, which would hold secret values in plain text.
     */
    brokerSecret?: "create" | "existing";
    /** Celery broker URL with credentials (amqp://user:pass@host:5672/%2f). Secret. Required with "create". */
    amqpUrl?: pulumi.Input<string>;
    /** RabbitMQ management API URL with credentials (http://user:pass@host:15672), polled by KEDA. Secret. Required with "create". */
    managementUrl?: pulumi.Input<string>;
    /** The pool's capacity (WorkerNodePool.nodes), bounding maxReplicas. Unset: maxReplicas as given. */
    capacity?: NodeCapacity[];
    /** The KEDA operator (KedaOperator); KEDA objects wait for its CRDs. */
    kedaOperator?: pulumi.Resource;
    /** Kubernetes provider of the cluster. Defaults to the ambient one. */
    provider?: k8s.Provider;
}

/** `repo@sha256:<64 hex>`: tags move, digests do not. */
export function checkDigestPinned(image: string, key: string): string {
    if (!/^[^\s@]+@sha256:[0-9a-f]{64}$/.test(image)) {
        throw new ArgumentError(key, "a digest-pinned image reference (repository@sha256:<64 hex>)", image);
    }
    return image;
}

/**
 * One loader type on the cluster: namespace, env ConfigMap, broker Secret, Deployment (or, in job mode,
 * KEDA ScaledJob), TriggerAuthentication and ScaledObject that scale it from its RabbitMQ queues, to zero
 * when idle and up to what the pool holds.
 */
export class KedaScaledLoader extends pulumi.ComponentResource {
    public readonly plan: LoaderPlan;
    public readonly namespace?: k8s.core.v1.Namespace;
    public readonly config: k8s.core.v1.ConfigMap;
    /** The broker Secret (undefined when it exists out of band). */
    public readonly brokerSecret?: k8s.core.v1.Secret;
    public readonly deployment?: k8s.apps.v1.Deployment;
    public readonly triggerAuthentication: k8s.apiextensions.CustomResource;
    /** The ScaledObject (deployment mode) or ScaledJob (job mode). */
    public readonly scaler: k8s.apiextensions.CustomResource;
    /** The effective max replica count, after the capacity bound. */
    public readonly maxReplicas: pulumi.Output<number>;

    constructor(name: string, args: KedaScaledLoaderArgs, opts?: pulumi.ComponentResourceOptions) {
        // Everything is checked before the component registers: a bad argument leaves no trace in the stack.
        const key = argKey("KedaScaledLoader", name);
        const plan = planLoader(args, key, args.capacity);
        // A plain reference is checked now; a computed one (LoaderImage.ref) when known.
        if (typeof args.image === "string") checkDigestPinned(args.image, key("image"));
        const createSecret = (args.brokerSecret ?? "create") === "create";
        if (!["create", "existing"].includes(args.brokerSecret ?? "create")) {
            throw new ArgumentError(key("brokerSecret"), '"create" or "existing"', args.brokerSecret);
        }
        if (createSecret && (args.amqpUrl === undefined || args.managementUrl === undefined)) {
            throw new ArgumentError(
                key("amqpUrl"),
                'both amqpUrl and managementUrl when brokerSecret is "create"',
            );
        }
        super("swh:elastic:KedaScaledLoader", name, {}, opts);
        this.plan = plan;
        if (plan.clampedBecause) {
            pulumi.log.warn(`maxReplicas clamped to ${plan.maxReplicas}: ${plan.clampedBecause}`, this);
        }
        const image = pulumi.output(args.image).apply((ref) => checkDigestPinned(ref, key("image")));

        const k8sOpts = { parent: this, provider: args.provider };
        if (plan.createNamespace) {
            this.namespace = new k8s.core.v1.Namespace(`${name}-namespace`, namespaceManifest(plan), k8sOpts);
        }
        const nsOpts = { ...k8sOpts, dependsOn: this.namespace ? [this.namespace] : [] };
        this.config = new k8s.core.v1.ConfigMap(`${name}-env`, envConfigMap(plan), nsOpts);
        if (createSecret) {
            this.brokerSecret = new k8s.core.v1.Secret(
                `${name}-broker`,
                brokerSecret(plan, args.amqpUrl!, args.managementUrl!),
                nsOpts,
            );
        }
        const secretDeps = this.brokerSecret ? [this.brokerSecret] : [];
        // Pods restart when their config changes. The hash covers the secret config when this component holds
        // it; a 64-bit digest reveals nothing of the password, and is a plain value in the pod spec below (kept
        // secret, it would make the whole spec secret and hide image and resource changes from MR previews).
        const envHash = crypto.createHash("sha256").update(JSON.stringify(envConfigMap(plan).data));
        const configHash: pulumi.Input<string> = createSecret
            ? pulumi.secret(
                  pulumi
                      .output(args.amqpUrl!)
                      .apply((url) =>
                          envHash.copy().update(workerConfigYaml(plan, url)).digest("hex").slice(0, 16),
                      ),
              )
            : envHash.digest("hex").slice(0, 16);
        const kedaOpts = {
            ...k8sOpts,
            dependsOn: [...secretDeps, ...(args.kedaOperator ? [args.kedaOperator] : [])],
        };
        this.triggerAuthentication = new k8s.apiextensions.CustomResource(
            `${name}-trigger-auth`,
            triggerAuthentication(plan) as never,
            kedaOpts,
        );

        // The pod template carries the image, unknown at preview when the image is built in the same update. The
        // whole spec is made one unknown then, not a value deep inside it: Pulumi's update plans (`up --plan`)
        // reject a nested unknown that becomes known (pulumi/pulumi#13765), which would fail every deploy that
        // builds a new image.
        const known = pulumi.all([image, pulumi.unsecret(pulumi.output(configHash))]);
        if (plan.mode === "deployment") {
            const deployment = loaderDeployment(plan, "", undefined);
            this.deployment = new k8s.apps.v1.Deployment(
                `${name}-deployment`,
                {
                    metadata: deployment.metadata,
                    spec: pulumi.output(
                        known.apply(([ref, hash]) => loaderDeployment(plan, ref, hash).spec!),
                    ),
                },
                { ...nsOpts, dependsOn: [this.config, ...secretDeps] },
            );
            this.scaler = new k8s.apiextensions.CustomResource(
                `${name}-scaledobject`,
                scaledObject(plan) as never,
                {
                    ...kedaOpts,
                    dependsOn: [...kedaOpts.dependsOn, this.deployment, this.triggerAuthentication],
                },
            );
        } else {
            this.scaler = new k8s.apiextensions.CustomResource(
                `${name}-scaledjob`,
                {
                    ...scaledJob(plan, podTemplate(plan, "", undefined) as never),
                    spec: known.apply(
                        ([ref, hash]) => scaledJob(plan, podTemplate(plan, ref, hash) as never).spec,
                    ),
                } as never,
                { ...kedaOpts, dependsOn: [...kedaOpts.dependsOn, this.config, this.triggerAuthentication] },
            );
        }
        this.maxReplicas = pulumi.output(plan.maxReplicas);
        this.registerOutputs({
            maxReplicas: this.maxReplicas,
            namespace: plan.namespace,
            capacity: plan.capacity,
            workload: objectNames(plan).workload,
        });
    }
}
