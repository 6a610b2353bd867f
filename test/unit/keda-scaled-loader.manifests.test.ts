import { strict as assert } from "assert";
import * as YAML from "yaml";
import {
    LoaderSettings,
    RABBITMQ_CONSUMER_TIMEOUT_SECONDS,
    SHUTDOWN_MARGIN_SECONDS,
} from "../../components/keda-scaled-loader/args";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    PRE_STOP_COMMAND,
    SENTRY_DSN_KEY,
    STOP_WITNESS,
    brokerSecret,
    envConfigMap,
    podTemplate,
} from "../../components/keda-scaled-loader/manifests";
import { planLoader } from "../../components/keda-scaled-loader/plan";
import { scaledJob } from "../../components/keda-scaled-loader/scaling";
import { DIGEST_REF } from "../fixtures";
import { base, key, objectsOf } from "../harness/loader-objects";
import { validateObject } from "../harness/schemas";

const variants: [string, LoaderSettings][] = [
    ["SWH defaults", base],
    [
        "production git, SWH's at-most-once (min 1, max 64, threshold 200)",
        { ...base, minReplicas: 1, maxReplicas: 64, queueThreshold: 200, delivery: "at-most-once" },
    ],
    ["job mode", { ...base, mode: "job", taskTimeoutSeconds: 36000, consumerTimeoutSeconds: 72000 }],
    [
        "tolerations and a CPU limit",
        {
            ...base,
            tolerations: [{ key: "swh/loader", operator: "Exists", effect: "NoSchedule" }],
            limits: { cpu: "2", memory: "2Gi" },
        },
    ],
    [
        "low priority, several queues",
        { ...base, priority: "low", queues: ["a.b.C", "save_code_now:a.b.C", "oneshot:a.b.C"] },
    ],
];

describe("loader builders", () => {
    for (const [label, settings] of variants) {
        it(`${label}: every object is valid against the Kubernetes and KEDA schemas`, () => {
            const objs = objectsOf(settings);
            for (const [name, obj] of Object.entries(objs)) {
                if (name === "plan" || obj === undefined) continue;
                assert.doesNotThrow(() => validateObject(obj), name);
            }
        });
    }

    it("schema validation does catch a broken object (the check can fail)", () => {
        const { deployment } = objectsOf(base);
        deployment.spec.template.spec.terminationGracePeriodSeconds = "an hour";
        assert.throws(() => validateObject(deployment), /terminationGracePeriodSeconds must be integer/);
    });

    it("Deployment: no replicas field, digest image, requests/limits, statsd env, loader-host affinity, priority, grace", () => {
        const { deployment, env } = objectsOf({
            ...base,
            taskTimeoutSeconds: 5400,
            consumerTimeoutSeconds: 10800,
        });
        assert.equal("replicas" in deployment.spec, false, "KEDA owns the replica count");
        const pod = deployment.spec.template.spec;
        const c = pod.containers[0];
        assert.equal(c.image, DIGEST_REF);
        assert.deepEqual(c.command, ["/opt/swh/entrypoint.sh"]);
        assert.deepEqual(c.resources, {
            requests: { cpu: "500m", memory: "512Mi" },
            limits: { memory: "20Gi" },
        });
        // The longest task, then the worker's own shutdown (SHUTDOWN_MARGIN_SECONDS).
        assert.equal(pod.terminationGracePeriodSeconds, 5400 + SHUTDOWN_MARGIN_SECONDS);
        assert.equal(pod.priorityClassName, "normal-workload");
        assert.deepEqual(
            pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]
                .matchExpressions,
            [{ key: "swh/loader", operator: "In", values: ["true"] }],
        );
        assert.equal(c.readinessProbe, undefined, "no probes: a busy worker is healthy");
        assert.equal(env.data.STATSD_HOST, "prometheus-statsd-exporter.swh-monitoring.svc.cluster.local");
        assert.equal(env.data.STATSD_PORT, "9125");
        assert.equal(env.data.STATSD_TAGS, "deployment:loader-git");
        assert.deepEqual(deployment.spec.strategy.rollingUpdate, { maxSurge: 1, maxUnavailable: 1 });
    });

    it("preStop sends Celery (PID 1) one SIGTERM however often it runs, then waits for it to exit", function () {
        this.timeout(20000);
        const { deployment, env } = objectsOf(base);
        const c = deployment.spec.template.spec.containers[0];
        assert.deepEqual(c.lifecycle.preStop.exec.command, PRE_STOP_COMMAND);
        assert.equal(env.data.SWH_STOP_WITNESS, STOP_WITNESS);
        // In a PID namespace of its own, PID 1 counts SIGTERMs; the hook runs, then runs again while the first
        // run waits (a retried hook). The witness goes to a fresh directory, standing for the pod's /tmp emptyDir.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prestop-"));
        const pid1 = [
            "import json, os, signal, subprocess, sys, time",
            "n = 0",
            "def term(*_):",
            "    global n; n += 1",
            "signal.signal(signal.SIGTERM, term)",
            "env = dict(os.environ, SWH_STOP_WITNESS=sys.argv[2])",
            "hook = json.loads(sys.argv[1])",
            "first = subprocess.Popen(hook, env=env); time.sleep(0.5)",
            "again = subprocess.Popen(hook, env=env); time.sleep(1.5)",
            "print(json.dumps({'sigterms': n, 'waiting': [first.poll() is None, again.poll() is None]}))",
        ].join("\n");
        const r = spawnSync(
            "unshare",
            [
                "--pid",
                "--fork",
                "--mount-proc",
                "/usr/bin/python3",
                "-c",
                pid1,
                JSON.stringify(PRE_STOP_COMMAND),
                path.join(dir, path.basename(STOP_WITNESS)),
            ],
            { encoding: "utf8", timeout: 20000, cwd: dir },
        );
        const witnessLeft = fs.existsSync(path.join(dir, path.basename(STOP_WITNESS)));
        fs.rmSync(dir, { recursive: true, force: true });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(JSON.parse(r.stdout), { sigterms: 1, waiting: [true, true] });
        assert.ok(witnessLeft, "the first run left its witness");
    });

    it("/tmp is an emptyDir of SWH's shape: memory-backed for git, on disk for the others, bounded", () => {
        const git = objectsOf(base).deployment.spec.template.spec;
        assert.deepEqual(
            git.volumes.find((v: { name: string }) => v.name === "tmp"),
            { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "16Gi" } },
        );
        assert.deepEqual(git.containers[0].resources.limits, { memory: "20Gi" });
        assert.ok(git.containers[0].volumeMounts.some((m: { mountPath: string }) => m.mountPath === "/tmp"));
        const svn = objectsOf({ ...base, loader: "svn" }).deployment.spec.template.spec;
        assert.deepEqual(
            svn.volumes.find((v: { name: string }) => v.name === "tmp"),
            { name: "tmp", emptyDir: { sizeLimit: "10Gi" } },
        );
        assert.deepEqual(svn.containers[0].resources.limits, { memory: "1Gi" });
        // A smaller limit: the memory-backed /tmp takes what the limit leaves above the request.
        const sized = (limit: string) =>
            objectsOf({ ...base, limits: { memory: limit } }).deployment.spec.template.spec.volumes.find(
                (v: { name: string }) => v.name === "tmp",
            ).emptyDir;
        assert.deepEqual(sized("4Gi"), { medium: "Memory", sizeLimit: "3584Mi" });
        assert.deepEqual(sized("640Mi"), { sizeLimit: "10Gi" }, "on disk when under 256Mi would be left");
        assert.throws(
            () =>
                objectsOf({
                    ...base,
                    limits: { memory: "1Gi" },
                    tmp: { medium: "memory", sizeLimit: "1Gi" },
                }),
            /test\.tmp\.sizeLimit: expected at most limits\.memory - requests\.memory \(1Gi - 512Mi\) for a memory-backed \/tmp/,
        );
        assert.doesNotThrow(() =>
            objectsOf({ ...base, limits: { memory: "1Gi" }, tmp: { medium: "disk", sizeLimit: "20Gi" } }),
        );
    });

    it("JSON logs: SWH_LOG_CONFIG names the mounted config, which Python's logging and python-json-logger turn into JSON lines", function () {
        this.timeout(20000);
        const { env, deployment, logging } = objectsOf({ ...base, logLevel: "DEBUG" });
        const pod = deployment.spec.template.spec;
        const mount = pod.containers[0].volumeMounts.find((m: { name: string }) => m.name === "logging");
        const volume = pod.volumes.find((v: { name: string }) => v.name === "logging");
        assert.equal(volume.configMap.name, logging.metadata.name);
        assert.equal(env.data.SWH_LOG_CONFIG, `${mount.mountPath}/${Object.keys(logging.data)[0]}`);
        // What swh.core.logging.logging_configure does with the file: yaml.safe_load, then dictConfig. Debian's
        // python3-pythonjsonlogger (2.x; built images get 3.x, which keeps this formatter's module).
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "logging-"));
        const file = path.join(dir, "logging.yml");
        fs.writeFileSync(file, logging.data["logging.yml"]);
        const script = [
            "import logging, logging.config, sys, yaml",
            "logging.config.dictConfig(yaml.safe_load(open(sys.argv[1])))",
            "logging.getLogger('swh.loader.git').debug('loading %s', 'origin', extra={'task_name': 'swh.loader.git.tasks.UpdateGitRepository', 'task_id': 'abc'})",
            "logging.getLogger('urllib3').info('not shown: urllib3 logs warnings only')",
        ].join("\n");
        const r = spawnSync("/usr/bin/python3", ["-c", script, file], { encoding: "utf8", timeout: 15000 });
        fs.rmSync(dir, { recursive: true, force: true });
        assert.equal(r.status, 0, r.stderr);
        const lines = r.stdout.trim().split("\n");
        assert.equal(lines.length, 1, r.stdout);
        const record = JSON.parse(lines[0]);
        assert.equal(record.message, "loading origin");
        assert.equal(record.levelname, "DEBUG");
        assert.equal(record.name, "swh.loader.git");
        assert.equal(record.task_name, "swh.loader.git.tasks.UpdateGitRepository");
    });

    it("text logs: no logging config, Celery's own format", () => {
        const { env, deployment } = objectsOf({ ...base, logFormat: "text" });
        assert.equal(env.data.SWH_LOG_CONFIG, undefined);
        assert.equal(
            deployment.spec.template.spec.volumes.some((v: { name: string }) => v.name === "logging"),
            false,
        );
    });

    it("Sentry: the DSN from the broker Secret, the environment from the ConfigMap; nothing when off", () => {
        const plan = { ...planLoader(base, key), sentry: { environment: "staging" } };
        // any: the template as plain JSON, navigated by the assertions.
        const c: any = JSON.parse(JSON.stringify(podTemplate(plan, DIGEST_REF))).spec.containers[0];
        assert.deepEqual(
            (c.env as { name: string }[]).find((e) => e.name === "SWH_SENTRY_DSN"),
            {
                name: "SWH_SENTRY_DSN",
                valueFrom: { secretKeyRef: { name: "loader-git-broker", key: SENTRY_DSN_KEY } },
            },
        );
        const envData = JSON.parse(JSON.stringify(envConfigMap(plan))).data;
        assert.equal(envData.SWH_SENTRY_ENVIRONMENT, "staging");
        assert.equal(envData.SWH_SENTRY_DISABLE_LOGGING_EVENTS, "yes");
        assert.ok(
            SENTRY_DSN_KEY in (brokerSecret(plan, "a", "b", "https://k@sentry.test/1").stringData as object),
        );
        const off = objectsOf(base);
        assert.doesNotMatch(JSON.stringify(off), /SENTRY/);
    });

    it("the worker config with the broker credentials goes to the Secret, never the ConfigMap", () => {
        const { env, secret } = objectsOf({
            ...base,
            workerConfig: { storage: { cls: "remote", url: "http://storage:5002/" } },
        });
        assert.doesNotMatch(JSON.stringify(env), /amqp:/);
        assert.match(secret.stringData["config.yml"], /task_broker: amqp:\/\//);
        assert.match(secret.stringData["config.yml"], /url: http:\/\/storage:5002\//);
        assert.match(secret.stringData["config.yml"], /- swh\.loader\.git\.tasks\.UpdateGitRepository/);
    });

    it("at least once by default: late ack, a dead worker's task requeued, one task reserved, the time limit", () => {
        const { secret, plan } = objectsOf({ ...base, taskTimeoutSeconds: 900 });
        const celery = YAML.parse(secret.stringData["config.yml"]).celery;
        assert.equal(plan.delivery, "at-least-once");
        assert.equal(plan.queueThreshold, 1, "one replica per task waiting or running");
        assert.deepEqual(
            [celery.task_acks_late, celery.task_reject_on_worker_lost, celery.worker_prefetch_multiplier],
            [true, true, 1],
        );
        assert.equal(celery.task_time_limit, 900);
    });

    it("at most once keeps SWH's early ack, and still bounds a task by its timeout", () => {
        const { secret } = objectsOf({ ...base, delivery: "at-most-once", queueThreshold: 10 });
        const celery = YAML.parse(secret.stringData["config.yml"]).celery;
        assert.deepEqual(
            [celery.task_acks_late, celery.task_reject_on_worker_lost, celery.task_time_limit],
            [false, false, RABBITMQ_CONSUMER_TIMEOUT_SECONDS - 300],
        );
    });

    it("a worker may patch its namespace's pods (its deletion cost), through its own ServiceAccount; Job pods get no token", () => {
        const { deployment, role, roleBinding, serviceAccount } = objectsOf(base);
        const pod = deployment.spec.template.spec;
        assert.equal(pod.serviceAccountName, serviceAccount.metadata.name);
        assert.deepEqual(role.rules, [{ apiGroups: [""], resources: ["pods"], verbs: ["patch"] }]);
        assert.deepEqual(roleBinding.subjects, [
            { kind: "ServiceAccount", name: serviceAccount.metadata.name, namespace: "swh-loader-git" },
        ]);
        const env = pod.containers[0].env.map((e: { name: string }) => e.name);
        assert.ok(env.includes("POD_NAME") && env.includes("POD_NAMESPACE"), env.join(" "));
        const job = objectsOf({ ...base, mode: "job" });
        const jobPod = (job.scaled as ReturnType<typeof scaledJob>).spec!.jobTargetRef.template.spec;
        assert.equal(jobPod.automountServiceAccountToken, false);
        assert.equal(job.role, undefined);
    });
});
