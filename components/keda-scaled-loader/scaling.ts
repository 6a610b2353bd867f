import type { IScaledJob } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledJob";
import type { IScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import type { ITriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication";
import { PodTemplate, loaderLabels, objectNames } from "./manifests";
import { LoaderPlan } from "./plan";

type ScaledJobSpec = NonNullable<IScaledJob["spec"]>;
/** KEDA's ScaledJob, its pod template in Pulumi's input types (the template the Deployment's pods also get). */
export type ScaledJobManifest = Omit<IScaledJob, "spec"> & {
    spec: Omit<ScaledJobSpec, "jobTargetRef"> & {
        jobTargetRef: Omit<ScaledJobSpec["jobTargetRef"], "template"> & { template: PodTemplate };
    };
};

/** KEDA reads the management API URL (with credentials) from the broker Secret's `host` key. */
export function triggerAuthentication(plan: LoaderPlan): ITriggerAuthentication {
    const names = objectNames(plan);
    return {
        apiVersion: "keda.sh/v1alpha1",
        kind: "TriggerAuthentication",
        metadata: { name: names.triggerAuth, namespace: plan.namespace, labels: loaderLabels(plan) },
        spec: { secretTargetRef: [{ parameter: "host", name: names.broker, key: "host" }] },
    };
}

/**
 * One RabbitMQ trigger per queue, QueueLength over the management API (http): it counts ready plus unacked
 * messages, so a task still running keeps its worker (SWH: "to avoid dismissal of containers still running on
 * long-standing messages"). Several queues are summed (`queuesSum`): the HPA alone would take the largest.
 */
export function rabbitmqTriggers(plan: LoaderPlan) {
    return plan.queues.map((queue) => ({
        type: "rabbitmq",
        name: triggerName(queue),
        metadata: {
            protocol: "http",
            mode: "QueueLength",
            value: String(plan.queueThreshold),
            activationValue: String(plan.activationThreshold),
            queueName: queue,
            vhostName: "/",
            excludeUnacknowledged: "false",
        },
        authenticationRef: { name: objectNames(plan).triggerAuth },
    }));
}

/**
 * A trigger name that stays unique per queue and is an identifier in KEDA's formulas (lower-case, '_', not
 * starting with a digit).
 */
export function triggerName(queue: string): string {
    const slug = queue
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "_")
        .replace(/^_|_$/g, "");
    let hash = 0;
    for (const c of queue) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
    return `q_${slug.slice(-40)}_${hash.toString(16)}`.replace(/__+/g, "_");
}

/**
 * With several queues, the work is their sum: the HPA takes the largest of its metrics, which would count one
 * queue's tasks and scale the others' busy workers down. KEDA's scaling modifiers give the HPA one metric, the
 * sum, against the same target.
 */
export function queuesSum(plan: LoaderPlan) {
    if (plan.queues.length < 2) return {};
    return {
        scalingModifiers: {
            formula: plan.queues.map(triggerName).join(" + "),
            target: String(plan.queueThreshold),
            activationTarget: String(plan.activationThreshold),
            metricType: "AverageValue" as const,
        },
    };
}

/** ScaledObject: scale to zero when idle, max bounded by the pool, SWH's polling/cooldown/fallback. */
export function scaledObject(plan: LoaderPlan): IScaledObject {
    return {
        apiVersion: "keda.sh/v1alpha1",
        kind: "ScaledObject",
        metadata: { name: plan.baseName, namespace: plan.namespace, labels: loaderLabels(plan) },
        spec: {
            scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: objectNames(plan).workload },
            pollingInterval: plan.pollingInterval,
            cooldownPeriod: plan.cooldownPeriod,
            // KEDA requires idleReplicaCount < minReplicaCount: with a floor above zero, still idle at zero.
            ...(plan.minReplicas > 0 && plan.scaleToZero ? { idleReplicaCount: 0 } : {}),
            minReplicaCount: plan.minReplicas,
            maxReplicaCount: plan.maxReplicas,
            fallback: plan.fallback,
            advanced: {
                restoreToOriginalReplicaCount: false,
                horizontalPodAutoscalerConfig: { behavior: plan.hpaBehavior },
                ...queuesSum(plan),
            },
            triggers: rabbitmqTriggers(plan),
        },
    };
}

/**
 * ScaledJob, for tasks too long for a Deployment's scale-down: one Job per task, never killed by scaling;
 * `gradual` rollout so a spec change does not delete running Jobs. The pod template comes from the caller
 * (it carries the image Output), the rest is plain.
 */
export function scaledJob(plan: LoaderPlan, template: PodTemplate): ScaledJobManifest {
    return {
        apiVersion: "keda.sh/v1alpha1",
        kind: "ScaledJob",
        metadata: { name: plan.baseName, namespace: plan.namespace, labels: loaderLabels(plan) },
        spec: {
            jobTargetRef: {
                parallelism: 1,
                completions: 1,
                backoffLimit: 0,
                activeDeadlineSeconds: plan.taskTimeoutSeconds + 300,
                template,
            },
            pollingInterval: plan.pollingInterval,
            minReplicaCount: plan.minReplicas,
            maxReplicaCount: plan.maxReplicas,
            successfulJobsHistoryLimit: 5,
            failedJobsHistoryLimit: 5,
            rollout: { strategy: "gradual" },
            // KEDA starts (queue length - running Jobs) Jobs by default. "accurate" assumes the queue no longer
            // holds the running Jobs' tasks: true with early ack only; with late ack they are unacked, and counted.
            scalingStrategy: {
                strategy: plan.delivery === "at-most-once" ? "accurate" : "default",
                multipleScalersCalculation: "sum",
            },
            triggers: rabbitmqTriggers(plan),
        },
    };
}
