import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";
import { ArgumentError, argKey } from "../common/errors";
import { checkedInput, digestPinnedImage, parseValue } from "../common/schema";
import { KedaScaledLoaderArgs, SECRET_MODES, SecretMode } from "./args";
import {
    brokerSecret,
    envConfigMap,
    registrySecret,
    loggingConfigMap,
    loggingConfigYaml,
    loaderDeployment,
    namespaceManifest,
    objectNames,
    podTemplate,
    workerAccess,
    workerConfigYaml,
} from "./manifests";
import { LoaderPlan, planLoader } from "./plan";
import { scaledJob, scaledObject, triggerAuthentication } from "./scaling";

export * from "./args";
export { KedaOperator } from "./operator";
export { LoaderPlan, planLoader } from "./plan";
export { SharedCapacity, sharedCapacity } from "./shared-capacity";

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
    /** The image pull Secret (undefined when there is none, or it exists out of band). */
    public readonly registrySecret?: k8s.core.v1.Secret;
    public readonly deployment?: k8s.apps.v1.Deployment;
    public readonly triggerAuthentication: k8s.apiextensions.CustomResource;
    /** The ScaledObject (deployment mode) or ScaledJob (job mode). */
    public readonly scaler: k8s.apiextensions.CustomResource;
    /** The effective max replica count, after the capacity bound. */
    public readonly maxReplicas: pulumi.Output<number>;

    constructor(name: string, args: KedaScaledLoaderArgs, opts?: pulumi.ComponentResourceOptions) {
        // Everything is checked before the component registers: a bad argument leaves no trace in the stack.
        const key = argKey("KedaScaledLoader", name);
        const {
            image: imageArg,
            brokerSecret: brokerMode,
            amqpUrl,
            managementUrl,
            capacity,
            kedaOperator,
            sentryDsn,
            sentryEnvironment,
            imagePullSecret,
            registry,
            ...settings
        } = args;
        const plan: LoaderPlan = {
            ...planLoader(settings, key, capacity),
            sentry: sentryDsn !== undefined ? { environment: sentryEnvironment } : undefined,
            pullSecret: secretMode(imagePullSecret, key("imagePullSecret")) !== undefined,
        };
        // A plain reference is checked now; a computed one (LoaderImage.ref) when known.
        if (typeof imageArg === "string") parseValue(digestPinnedImage, imageArg, key("image"));
        const createSecret = (secretMode(brokerMode, key("brokerSecret")) ?? "create") === "create";
        if (createSecret && (amqpUrl === undefined || managementUrl === undefined)) {
            throw new ArgumentError(
                key("amqpUrl"),
                'both amqpUrl and managementUrl when brokerSecret is "create"',
            );
        }
        const createPullSecret = imagePullSecret === "create";
        if (
            createPullSecret &&
            (registry?.server === undefined ||
                registry.username === undefined ||
                registry.password === undefined)
        ) {
            throw new ArgumentError(
                key("registry"),
                'server, username and password when imagePullSecret is "create", e.g. ' +
                    '{ server: "docker.io", username: "swh-bot", password: <secret> }',
                // Which keys were given, never their values: the password is secret.
                registry && `keys ${Object.keys(registry).join(", ") || "none"}`,
            );
        }
        super("swh:elastic:KedaScaledLoader", name, {}, opts);
        this.plan = plan;
        if (plan.clampedBecause) {
            pulumi.log.warn(`maxReplicas clamped to ${plan.maxReplicas}: ${plan.clampedBecause}`, this);
        }
        const image = pulumi.output(checkedInput(digestPinnedImage, imageArg, key("image")));

        // Children inherit the Kubernetes provider given in this component's opts.
        const k8sOpts = { parent: this };
        if (plan.createNamespace) {
            this.namespace = new k8s.core.v1.Namespace(`${name}-namespace`, namespaceManifest(plan), k8sOpts);
        }
        const nsOpts = { ...k8sOpts, dependsOn: this.namespace ? [this.namespace] : [] };
        this.config = new k8s.core.v1.ConfigMap(`${name}-env`, envConfigMap(plan), nsOpts);
        const logging =
            plan.logFormat === "json"
                ? new k8s.core.v1.ConfigMap(`${name}-logging`, loggingConfigMap(plan), nsOpts)
                : undefined;
        if (createPullSecret) {
            this.registrySecret = new k8s.core.v1.Secret(
                `${name}-registry`,
                registrySecret(plan, registry!),
                nsOpts,
            );
        }
        // What the pods read at start: they wait for it, and restart when it changes (configHash below).
        const podConfig = [
            this.config,
            ...(logging ? [logging] : []),
            ...(this.registrySecret ? [this.registrySecret] : []),
        ];
        if (createSecret) {
            this.brokerSecret = new k8s.core.v1.Secret(
                `${name}-broker`,
                brokerSecret(plan, amqpUrl!, managementUrl!, sentryDsn),
                nsOpts,
            );
        }
        const secretDeps = this.brokerSecret ? [this.brokerSecret] : [];
        // Pods restart when their config changes. The hash covers the secret config when this component holds
        // it; a 64-bit digest reveals nothing of the password, and is a plain value in the pod spec below (kept
        // secret, it would make the whole spec secret and hide image and resource changes from MR previews).
        const envHash = crypto
            .createHash("sha256")
            .update(JSON.stringify(envConfigMap(plan).data))
            .update(logging ? loggingConfigYaml(plan) : "");
        const configHash: pulumi.Input<string> = createSecret
            ? pulumi.secret(
                  pulumi
                      .all([amqpUrl!, sentryDsn ?? ""])
                      .apply(([url, dsn]) =>
                          envHash
                              .copy()
                              .update(workerConfigYaml(plan, url))
                              .update(dsn)
                              .digest("hex")
                              .slice(0, 16),
                      ),
              )
            : envHash.digest("hex").slice(0, 16);
        const kedaOpts = {
            ...k8sOpts,
            dependsOn: [...secretDeps, ...(kedaOperator ? [kedaOperator] : [])],
        };
        this.triggerAuthentication = new k8s.apiextensions.CustomResource(
            `${name}-trigger-auth`,
            triggerAuthentication(plan),
            kedaOpts,
        );

        // The pod template carries the image, unknown at preview when the image is built in the same update. The
        // whole spec is made one unknown then, not a value deep inside it: Pulumi's update plans (`up --plan`)
        // reject a nested unknown that becomes known (pulumi/pulumi#13765), which would fail every deploy that
        // builds a new image.
        const known = pulumi.all([image, pulumi.unsecret(pulumi.output(configHash))]);
        if (plan.mode === "deployment") {
            const access = workerAccess(plan);
            const account = [
                new k8s.core.v1.ServiceAccount(`${name}-serviceaccount`, access.serviceAccount, nsOpts),
                new k8s.rbac.v1.Role(`${name}-role`, access.role, nsOpts),
                new k8s.rbac.v1.RoleBinding(`${name}-rolebinding`, access.roleBinding, nsOpts),
            ];
            const deployment = loaderDeployment(plan, "", undefined);
            this.deployment = new k8s.apps.v1.Deployment(
                `${name}-deployment`,
                {
                    metadata: deployment.metadata,
                    spec: pulumi.output(
                        known.apply(([ref, hash]) => loaderDeployment(plan, ref, hash).spec!),
                    ),
                },
                { ...nsOpts, dependsOn: [...podConfig, ...secretDeps, ...account] },
            );
            this.scaler = new k8s.apiextensions.CustomResource(`${name}-scaledobject`, scaledObject(plan), {
                ...kedaOpts,
                dependsOn: [...kedaOpts.dependsOn, this.deployment, this.triggerAuthentication],
            });
        } else {
            this.scaler = new k8s.apiextensions.CustomResource(
                `${name}-scaledjob`,
                {
                    ...scaledJob(plan, podTemplate(plan, "", undefined)),
                    spec: known.apply(([ref, hash]) => scaledJob(plan, podTemplate(plan, ref, hash)).spec),
                },
                {
                    ...kedaOpts,
                    dependsOn: [...kedaOpts.dependsOn, ...podConfig, this.triggerAuthentication],
                },
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

/** A Secret's mode, checked: one of SECRET_MODES, or undefined. */
function secretMode(mode: SecretMode | undefined, key: string): SecretMode | undefined {
    if (mode !== undefined && !SECRET_MODES.includes(mode)) {
        throw new ArgumentError(key, SECRET_MODES.map((m) => `"${m}"`).join(" or "), mode);
    }
    return mode;
}
