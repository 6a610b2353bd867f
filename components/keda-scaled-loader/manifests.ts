import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { DOCKER_HUB } from "../loader-image/args";
import { RegistryCredentials } from "./args";
import { celerySettings } from "./delivery";
import { LoaderPlan } from "./plan";

import inputs = k8s.types.input;
/** A pod template whose spec is an object (not an Input of one), so builders and tests can read into it. */
export type PodTemplate = { metadata: inputs.meta.v1.ObjectMeta; spec: inputs.core.v1.PodSpec };

/** Annotation on loader workloads: the longest task, in seconds (the policy pack checks the grace period by it). */
export const TASK_TIMEOUT_ANNOTATION = "swh/task-timeout-seconds";

/** Labels on every object of a loader; `app.kubernetes.io/name` also selects its pods. */
export function loaderLabels(plan: LoaderPlan): Record<string, string> {
    return {
        "app.kubernetes.io/name": plan.baseName,
        "app.kubernetes.io/component": "loader",
        "app.kubernetes.io/part-of": "swh-elastic-workers",
        "app.kubernetes.io/managed-by": "pulumi",
        "swh/loader-type": plan.loader,
    };
}

function meta(plan: LoaderPlan, name: string): k8s.types.input.meta.v1.ObjectMeta {
    return { name, namespace: plan.namespace, labels: loaderLabels(plan) };
}

/** Names of a loader's objects. */
export function objectNames(plan: LoaderPlan) {
    return {
        env: `${plan.baseName}-env`,
        logging: `${plan.baseName}-logging`,
        broker: `${plan.baseName}-broker`,
        registry: `${plan.baseName}-registry`,
        triggerAuth: `${plan.baseName}-rabbitmq`,
        workload: plan.baseName,
    };
}

export function namespaceManifest(plan: LoaderPlan): inputs.core.v1.Namespace {
    return {
        metadata: { name: plan.namespace, labels: { "app.kubernetes.io/part-of": "swh-elastic-workers" } },
    };
}

/** Non-secret worker settings, read by the entrypoint as environment. */
export function envConfigMap(plan: LoaderPlan): inputs.core.v1.ConfigMap {
    return {
        metadata: meta(plan, objectNames(plan).env),
        data: {
            CONCURRENCY: String(plan.concurrency),
            MAX_TASKS_PER_CHILD: String(plan.maxTasksPerChild),
            SWH_LOG_LEVEL: plan.logLevel,
            SWH_CONFIG_FILENAME: "/etc/swh/config.yml",
            STATSD_HOST: plan.statsd.host,
            STATSD_PORT: String(plan.statsd.port),
            STATSD_TAGS: `deployment:${plan.baseName}`,
            WORKER_MODE: plan.mode === "job" ? "oneshot" : "worker",
            // A Job's pod that finds no task stops after two polls (KEDA started a Job per message it counted,
            // and another pod took it), rather than holding its slot until the Job's deadline.
            ...(plan.mode === "job" ? { ONESHOT_IDLE_SECONDS: String(2 * plan.pollingInterval) } : {}),
            SWH_STOP_WITNESS: STOP_WITNESS,
            ...(plan.logFormat === "json" ? { SWH_LOG_CONFIG: `${LOGGING_DIR}/${LOGGING_FILE}` } : {}),
            // As swh-charts: errors reach Sentry as task failures, not once more as each error log line.
            ...(plan.sentry
                ? {
                      SWH_SENTRY_ENVIRONMENT: plan.sentry.environment ?? "",
                      SWH_SENTRY_DISABLE_LOGGING_EVENTS: "yes",
                  }
                : {}),
        },
    };
}

/** Where the logging config is mounted, apart from /etc/swh (the broker Secret's volume). */
export const LOGGING_DIR = "/etc/swh-logging";
export const LOGGING_FILE = "logging.yml";

/**
 * SWH's logging config for JSON logs (swh-charts' loader template): read by swh.scheduler's Celery app through
 * SWH_LOG_CONFIG. `pythonjsonlogger.jsonlogger` works with python-json-logger 2 and 3 (3 keeps it as an alias).
 */
export function loggingConfigYaml(plan: LoaderPlan): string {
    const level = plan.logLevel;
    return YAML.stringify({
        version: 1,
        disable_existing_loggers: false,
        formatters: {
            json: {
                class: "pythonjsonlogger.jsonlogger.JsonFormatter",
                format:
                    "%(asctime)s:%(threadName)s:%(pathname)s:%(lineno)s:%(funcName)s:%(task_name)s:" +
                    "%(task_id)s:%(name)s:%(levelname)s:%(message)s",
            },
        },
        handlers: {
            console: { class: "logging.StreamHandler", formatter: "json", stream: "ext://sys.stdout" },
        },
        loggers: {
            amqp: { level: "WARNING" },
            urllib3: { level: "WARNING" },
            celery: { level },
            "celery.task": { level },
            swh: { level },
        },
        root: { level, handlers: ["console"] },
    });
}

/** The ConfigMap holding the logging config (JSON logs only). */
export function loggingConfigMap(plan: LoaderPlan): inputs.core.v1.ConfigMap {
    return {
        metadata: meta(plan, objectNames(plan).logging),
        data: { [LOGGING_FILE]: loggingConfigYaml(plan) },
    };
}

/**
 * The worker's config.yml: the non-secret settings plus the Celery broker (with credentials) and queues.
 * It carries credentials, so it only ever goes into the broker Secret.
 */
export function workerConfigYaml(plan: LoaderPlan, amqpUrl: string): string {
    const celery = (plan.workerConfig.celery as Record<string, unknown> | undefined) ?? {};
    return YAML.stringify({
        ...plan.workerConfig,
        celery: { ...celery, ...celerySettings(plan), task_broker: amqpUrl, task_queues: plan.queues },
    });
}

/**
 * Annotation a busy worker sets on its own pod (images/loader/swh_elastic_deletion_cost.py), so that a scale-down
 * takes idle pods first: the ReplicaSet deletes the pods of lowest cost first. The PATCH's answer also tells the
 * worker when its pod is already being deleted: the task then goes back to its queue before it starts.
 */
export const POD_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost";

/**
 * The loader's own ServiceAccount and what it may do: patch the pods of its namespace (its own pod's deletion
 * cost; RBAC cannot narrow a verb to one pod whose name is not known in advance). Deployment mode only; a Job's pod runs one task and is never scaled down.
 */
export function workerAccess(plan: LoaderPlan): {
    serviceAccount: inputs.core.v1.ServiceAccount;
    role: inputs.rbac.v1.Role;
    roleBinding: inputs.rbac.v1.RoleBinding;
} {
    const name = objectNames(plan).workload;
    return {
        serviceAccount: { metadata: meta(plan, name) },
        role: {
            metadata: meta(plan, name),
            rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["patch"] }],
        },
        roleBinding: {
            metadata: meta(plan, name),
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
            subjects: [{ kind: "ServiceAccount", name, namespace: plan.namespace }],
        },
    };
}

/** The broker Secret's key holding the Sentry DSN, read into SWH_SENTRY_DSN. */
export const SENTRY_DSN_KEY = "sentry-dsn";

/**
 * The broker Secret: worker config.yml (AMQP URL), `host`, the management API URL KEDA polls, and the Sentry DSN
 * when there is one.
 */
export function brokerSecret(
    plan: LoaderPlan,
    amqpUrl: pulumi.Input<string>,
    managementUrl: pulumi.Input<string>,
    sentryDsn?: pulumi.Input<string>,
): inputs.core.v1.Secret {
    return {
        metadata: meta(plan, objectNames(plan).broker),
        type: "Opaque",
        stringData: {
            "config.yml": pulumi.secret(pulumi.output(amqpUrl).apply((url) => workerConfigYaml(plan, url))),
            host: pulumi.secret(managementUrl),
            ...(sentryDsn !== undefined ? { [SENTRY_DSN_KEY]: pulumi.secret(sentryDsn) } : {}),
        },
    };
}

/**
 * The key of a registry in a docker config: its host, but Docker Hub's is the index URL that `docker login`
 * writes, which is the one the kubelet looks up for docker.io images.
 */
export function registryAuthKey(server: string): string {
    return [DOCKER_HUB, "index.docker.io", "registry-1.docker.io"].includes(server)
        ? "https://index.docker.io/v1/"
        : server;
}

/** The pods' image pull Secret: a docker config holding the registry's credentials, secret as a whole. */
export function registrySecret(plan: LoaderPlan, registry: RegistryCredentials): inputs.core.v1.Secret {
    const config = pulumi.all([registry.username, registry.password]).apply(([username, password]) =>
        JSON.stringify({
            auths: {
                [registryAuthKey(registry.server)]: {
                    username,
                    password,
                    auth: Buffer.from(`${username}:${password}`).toString("base64"),
                },
            },
        }),
    );
    return {
        metadata: meta(plan, objectNames(plan).registry),
        type: "kubernetes.io/dockerconfigjson",
        stringData: { ".dockerconfigjson": pulumi.secret(config) },
    };
}

/** Left in the pod's /tmp by the first preStop run; the entrypoint removes it when a container starts. */
export const STOP_WITNESS = "/tmp/swh-loader-stopping";

/**
 * preStop: one SIGTERM to Celery (PID 1), a warm shutdown, then wait for it to exit. The kubelet sends its
 * own SIGTERM only after preStop returns; a second SIGTERM would make Celery kill the running task, so a re-run
 * (the kubelet retries a hook, or an operator runs it by hand) finds the witness file and only waits (as SWH's
 * pre-stop-idempotent.sh).
 */
export const PRE_STOP_COMMAND = [
    "/bin/sh",
    "-c",
    'if [ ! -e "$SWH_STOP_WITNESS" ]; then touch "$SWH_STOP_WITNESS" && kill -TERM 1; fi; ' +
        "while kill -0 1 2>/dev/null; do sleep 1; done",
];

/** The loader pod: digest-pinned image, requests/limits, statsd env, loader-host affinity, long grace. */
export function podTemplate(
    plan: LoaderPlan,
    image: pulumi.Input<string>,
    configHash?: pulumi.Input<string>,
): PodTemplate {
    const names = objectNames(plan);
    return {
        metadata: {
            labels: loaderLabels(plan),
            annotations: configHash ? { "swh/config-hash": configHash } : {},
        },
        spec: {
            priorityClassName: plan.priorityClassName,
            ...(plan.mode === "deployment"
                ? { serviceAccountName: objectNames(plan).workload }
                : { automountServiceAccountToken: false }),
            terminationGracePeriodSeconds: plan.terminationGracePeriodSeconds,
            ...(plan.pullSecret ? { imagePullSecrets: [{ name: names.registry }] } : {}),
            restartPolicy: plan.mode === "job" ? "Never" : "Always",
            affinity: {
                nodeAffinity: {
                    requiredDuringSchedulingIgnoredDuringExecution: {
                        nodeSelectorTerms: [
                            {
                                matchExpressions: Object.entries(plan.nodeSelector).map(([k, v]) => ({
                                    key: k,
                                    operator: "In",
                                    values: [v],
                                })),
                            },
                        ],
                    },
                },
            },
            tolerations: plan.tolerations.map((t) => ({ ...t })),
            securityContext: { runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true, fsGroup: 1000 },
            containers: [
                {
                    name: "loader",
                    image,
                    command: ["/opt/swh/entrypoint.sh"],
                    envFrom: [{ configMapRef: { name: names.env } }],
                    env: [
                        { name: "SWH_WORKER_INSTANCE", value: plan.baseName },
                        {
                            name: "POD_NAME",
                            valueFrom: { fieldRef: { fieldPath: "metadata.name" } },
                        },
                        {
                            name: "POD_NAMESPACE",
                            valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } },
                        },
                        ...(plan.sentry
                            ? [
                                  {
                                      name: "SWH_SENTRY_DSN",
                                      valueFrom: {
                                          secretKeyRef: { name: names.broker, key: SENTRY_DSN_KEY },
                                      },
                                  },
                              ]
                            : []),
                    ],
                    resources: {
                        requests: { cpu: plan.requests.cpu, memory: plan.requests.memory },
                        limits: {
                            memory: plan.limits.memory,
                            ...(plan.limits.cpu ? { cpu: plan.limits.cpu } : {}),
                        },
                    },
                    lifecycle: { preStop: { exec: { command: PRE_STOP_COMMAND } } },
                    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
                    volumeMounts: [
                        { name: "config", mountPath: "/etc/swh", readOnly: true },
                        { name: "tmp", mountPath: "/tmp" },
                        ...(plan.logFormat === "json"
                            ? [{ name: "logging", mountPath: LOGGING_DIR, readOnly: true }]
                            : []),
                    ],
                },
            ],
            volumes: [
                ...(plan.logFormat === "json"
                    ? [{ name: "logging", configMap: { name: names.logging } }]
                    : []),
                {
                    name: "tmp",
                    emptyDir: {
                        ...(plan.tmp.medium === "memory" ? { medium: "Memory" } : {}),
                        sizeLimit: plan.tmp.sizeLimit,
                    },
                },
                {
                    name: "config",
                    secret: { secretName: names.broker, items: [{ key: "config.yml", path: "config.yml" }] },
                },
            ],
        },
    };
}

/** The loader Deployment. No `replicas`: KEDA owns the count, and an apply must not reset it. */
export function loaderDeployment(
    plan: LoaderPlan,
    image: pulumi.Input<string>,
    configHash?: pulumi.Input<string>,
): inputs.apps.v1.Deployment {
    return {
        // The task timeout travels with the workload, so guardrails (policy/) can check the grace period.
        metadata: {
            ...meta(plan, objectNames(plan).workload),
            annotations: { [TASK_TIMEOUT_ANNOTATION]: String(plan.taskTimeoutSeconds) },
        },
        spec: {
            selector: { matchLabels: { "app.kubernetes.io/name": plan.baseName } },
            revisionHistoryLimit: 3,
            // One extra pod at a time; one old pod may stop (after its grace period) even on a full pool.
            strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } },
            template: podTemplate(plan, image, configHash),
        },
    };
}
