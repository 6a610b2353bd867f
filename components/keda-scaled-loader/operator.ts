import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { argKey } from "../common/errors";
import { parseArgs } from "../common/schema";
import { chartRepos } from "../common/versions";
import { KedaOperatorArgs, PRIORITY_CLASSES, kedaOperatorSchema } from "./args";

/** KEDA's Helm release: the operator, its metrics API server and admission webhooks, with CRDs. */
export function kedaRelease(version: string, namespace: string): k8s.helm.v3.ReleaseArgs {
    return {
        chart: "keda",
        version,
        repositoryOpts: { repo: chartRepos.keda },
        namespace,
        createNamespace: true,
        // Metrics endpoints on; the ObservabilityStack owns the ServiceMonitors that scrape them.
        values: {
            prometheus: {
                operator: { enabled: true, serviceMonitor: { enabled: false } },
                metricServer: { enabled: true, serviceMonitor: { enabled: false } },
            },
        },
        waitForJobs: true,
        timeout: 600,
    };
}

/**
 * SWH's loader priority classes. The low class never preempts: a backlog of low-priority loaders waits
 * for room instead of evicting running tasks.
 */
export function priorityClasses(): k8s.types.input.scheduling.v1.PriorityClass[] {
    return Object.entries(PRIORITY_CLASSES).map(([level, pc]) => ({
        metadata: { name: pc.name, labels: { "app.kubernetes.io/part-of": "swh-elastic-workers" } },
        value: pc.value,
        globalDefault: false,
        preemptionPolicy: level === "low" ? "Never" : "PreemptLowerPriority",
        description: `SWH ${level}-priority loaders`,
    }));
}

/** What every loader of a cluster needs once: the KEDA operator from its pinned chart, and the priority classes. */
export class KedaOperator extends pulumi.ComponentResource {
    /** The KEDA release (undefined when installChart is false). */
    public readonly release?: k8s.helm.v3.Release;
    public readonly priorityClasses: k8s.scheduling.v1.PriorityClass[];

    /** @param opts `provider`: the Kubernetes provider of the cluster (defaults to the ambient one). */
    constructor(name: string, args: KedaOperatorArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        const s = parseArgs(kedaOperatorSchema, args, argKey("KedaOperator", name));
        super("swh:elastic:KedaOperator", name, {}, opts);
        const childOpts = { parent: this };
        if (s.installChart) {
            this.release = new k8s.helm.v3.Release(
                `${name}-keda`,
                kedaRelease(s.version, s.namespace),
                childOpts,
            );
        }
        this.priorityClasses = priorityClasses().map(
            (pc) =>
                new k8s.scheduling.v1.PriorityClass(
                    `${name}-${(pc.metadata as { name: string }).name}`,
                    pc,
                    childOpts,
                ),
        );
        this.registerOutputs({ installed: this.release !== undefined });
    }
}
