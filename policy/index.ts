import { PolicyPack, ReportViolation, validateResourceOfType } from "@pulumi/policy";
import * as k8s from "@pulumi/kubernetes";
import {
    Workload,
    graceShorterThanTask,
    isLoader,
    missingMemoryRequests,
    plainConfigMapSecrets,
    plainEnvSecrets,
    unpinnedImages,
} from "./rules";

function report(violations: string[], reportViolation: ReportViolation): void {
    for (const v of violations) reportViolation(v);
}

function loaderRule(name: string, description: string, check: (w: Workload) => string[]) {
    return {
        name,
        description,
        enforcementLevel: "mandatory" as const,
        validateResource: [
            validateResourceOfType(k8s.apps.v1.Deployment, (d, _args, reportViolation) => {
                if (isLoader(d as Workload)) report(check(d as Workload), reportViolation);
            }),
        ],
    };
}

new PolicyPack("swh-elastic-workers", {
    policies: [
        loaderRule(
            "loader-memory-requests",
            "Loader containers request memory, so the scheduler never overcommits a node.",
            missingMemoryRequests,
        ),
        loaderRule(
            "loader-grace-covers-task",
            "A loader's grace period is at least its task timeout.",
            graceShorterThanTask,
        ),
        loaderRule("loader-digest-pinned", "Loaders run digest-pinned images.", unpinnedImages),
        {
            name: "no-plain-secrets",
            description: "No credential in a plain env value or a ConfigMap.",
            enforcementLevel: "mandatory",
            validateResource: [
                validateResourceOfType(k8s.apps.v1.Deployment, (d, _args, reportViolation) =>
                    report(plainEnvSecrets(d as Workload), reportViolation),
                ),
                validateResourceOfType(k8s.core.v1.ConfigMap, (cm, _args, reportViolation) =>
                    report(plainConfigMapSecrets(cm as { data?: Record<string, string> }), reportViolation),
                ),
            ],
        },
    ],
});
