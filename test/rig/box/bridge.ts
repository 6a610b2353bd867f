/**
 * The pod-to-process bridge, the box's stand-in for a kubelet's container runtime: for every Running loader pod
 * it runs a real Celery worker with the pod's own configuration (its ConfigMap env and its broker Secret's
 * config.yml), and when the pod is deleted it does what the kubelet does with the pod's preStop: one SIGTERM
 * (Celery's warm shutdown), the pod's grace period, then SIGKILL; the pod object goes once the worker is gone.
 *
 * Like a kubelet, it gives each worker its pod's identity (POD_NAME, POD_NAMESPACE) and a token of the pod's
 * ServiceAccount (TokenRequest, bound to the pod), so the image's own deletion-cost module
 * (images/loader/swh_elastic_deletion_cost.py) annotates the pod through the API server, with the pod's RBAC.
 *
 * Run by the box as one of its services (services.ts); env BOX_PYTHON (the Celery venv), BOX_TASK_RECORD (where
 * tasks record completion), BOX_WORKER_PIDS (where it records each worker's pid, so the box can stop any left).
 * Every worker stopped because its pod was deleted is recorded in TERMINATIONS, busy or idle at that moment.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { BOX, BRIDGE_READY, BUSY_DIR, SERVER, TERMINATIONS } from "./services";
import { Kube, KubeObject } from "./kube";
import { ensurePki } from "./pki";
import type { Termination } from "./watch";
import { ROOT } from "../engine/env";

const PYTHON = process.env.BOX_PYTHON!;
const RECORD = process.env.BOX_TASK_RECORD!;
const WORKER_PIDS = process.env.BOX_WORKER_PIDS!;
const POLL_MS = 500;
/** Each pod's files, as the kubelet mounts them: its ServiceAccount token and CA. */
const PODS_DIR = path.join(BOX, "pods");
/** The loader image's Python modules, which the box's workers load as the image's do. */
const IMAGE_LIB = path.join(ROOT, "images", "loader");
const pki = ensurePki(BOX);

interface Worker {
    pod: string;
    namespace: string;
    proc: ChildProcess;
    exited: boolean;
    terminating: boolean;
    /** Killed with its node (or its pod force-deleted). */
    lost?: boolean;
    /** It exited 0 (a Job's pod then Succeeded). */
    succeeded?: boolean;
    /** The CPU usage last reported for the pod (kwok.x-k8s.io/usage-cpu). */
    reportedCpu?: string;
    killTimer?: NodeJS.Timeout;
}

const kube = new Kube(SERVER, pki);
const workers = new Map<string, Worker>();
const restartAfter = new Map<string, number>();

function log(msg: string): void {
    console.log(`${new Date().toISOString()} ${msg}`);
}

/** The settings a pod's container would see: its ConfigMap env and its Secret's config.yml. */
async function podSettings(pod: KubeObject) {
    const ns = pod.metadata.namespace;
    const container = pod.spec.containers[0];
    const env: Record<string, string> = {};
    for (const from of container.envFrom ?? []) {
        if (from.configMapRef) {
            const cm = await kube.get(`/api/v1/namespaces/${ns}/configmaps/${from.configMapRef.name}`);
            Object.assign(env, cm.data ?? {});
        }
    }
    const secretName = (pod.spec.volumes ?? []).find((v: KubeObject) => v.secret)?.secret.secretName;
    const secret = await kube.get(`/api/v1/namespaces/${ns}/secrets/${secretName}`);
    const config = YAML.parse(Buffer.from(secret.data["config.yml"], "base64").toString("utf8"));
    // The rest of config.yml's celery section is Celery settings, which swh.scheduler's app takes as they are.
    const { task_broker, task_queues, ...celery } = config.celery as Record<string, unknown>;
    return {
        broker: String(task_broker),
        queues: (task_queues as string[]).map(String),
        celery,
        // A ScaledJob's pod (job mode): one task, then the worker exits and the pod completes.
        oneshot: env.WORKER_MODE === "oneshot",
        oneshotIdleSeconds: env.ONESHOT_IDLE_SECONDS,
        concurrency: env.CONCURRENCY ?? "1",
        maxTasksPerChild: env.MAX_TASKS_PER_CHILD ?? "5",
        logLevel: env.SWH_LOG_LEVEL ?? "INFO",
    };
}

/**
 * The pod's ServiceAccount token and the cluster's CA in a directory of their own, as the kubelet projects them;
 * undefined when the pod mounts no token.
 */
async function serviceAccountDir(pod: KubeObject): Promise<string | undefined> {
    const account = pod.spec.serviceAccountName;
    if (!account || pod.spec.automountServiceAccountToken === false) return undefined;
    const { namespace, name, uid } = pod.metadata;
    const review = await kube.request(
        "POST",
        `/api/v1/namespaces/${namespace}/serviceaccounts/${account}/token`,
        {
            apiVersion: "authentication.k8s.io/v1",
            kind: "TokenRequest",
            spec: { expirationSeconds: 3600, boundObjectRef: { apiVersion: "v1", kind: "Pod", name, uid } },
        },
    );
    const dir = path.join(PODS_DIR, uid, "serviceaccount");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "token"), review.status.token, { mode: 0o600 });
    fs.copyFileSync(pki.ca, path.join(dir, "ca.crt"));
    return dir;
}

async function startWorker(pod: KubeObject): Promise<void> {
    const uid = pod.metadata.uid;
    const s = await podSettings(pod);
    const account = await serviceAccountDir(pod);
    const server = new URL(SERVER);
    const name = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const args = [
        "-m",
        "celery",
        "-A",
        "swh_box_loader",
        "worker",
        "--queues",
        s.queues.join(","),
        // As the image's entrypoint: a oneshot worker runs its one task in the worker process itself.
        ...(s.oneshot ? ["--pool", "solo", "--concurrency", "1"] : ["--concurrency", s.concurrency]),
        "-O",
        "fair",
        "--max-tasks-per-child",
        s.maxTasksPerChild,
        "--loglevel",
        s.logLevel,
        "--hostname",
        `${pod.metadata.name}@${pod.spec.nodeName}`,
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ];
    fs.mkdirSync(path.join(BOX, "logs", "workers"), { recursive: true });
    const out = fs.openSync(path.join(BOX, "logs", "workers", `${pod.metadata.name}.log`), "a");
    const proc = spawn(PYTHON, args, {
        cwd: path.join(__dirname, "worker"),
        detached: true, // its own process group, so SIGKILL reaches the pool's children too
        stdio: ["ignore", out, out],
        env: {
            ...process.env,
            BOX_BROKER_URL: s.broker,
            BOX_QUEUES: s.queues.join(","),
            BOX_CELERY_SETTINGS: JSON.stringify(s.celery),
            BOX_POD: pod.metadata.name,
            BOX_WORKER_MODE: s.oneshot ? "oneshot" : "worker",
            ...(s.oneshotIdleSeconds ? { ONESHOT_IDLE_SECONDS: s.oneshotIdleSeconds } : {}),
            PYTHONPATH: IMAGE_LIB,
            POD_NAME: pod.metadata.name,
            POD_NAMESPACE: pod.metadata.namespace,
            ...(account
                ? {
                      SWH_SERVICEACCOUNT_DIR: account,
                      KUBERNETES_SERVICE_HOST: server.hostname,
                      KUBERNETES_SERVICE_PORT: server.port,
                  }
                : {}),
            BOX_TASK_RECORD: RECORD,
            BOX_BUSY_DIR: BUSY_DIR,
        },
    });
    fs.closeSync(out);
    // Its group's pid, kept while it runs: if the bridge dies without stopping it, the box's down does.
    const pidFile = path.join(WORKER_PIDS, `${uid}.pid`);
    if (proc.pid !== undefined) fs.writeFileSync(pidFile, String(proc.pid));
    const w: Worker = {
        pod: pod.metadata.name,
        namespace: pod.metadata.namespace,
        proc,
        exited: false,
        terminating: false,
    };
    proc.on("exit", (code, signal) => {
        w.exited = true;
        w.succeeded = code === 0;
        fs.rmSync(pidFile, { force: true });
        // A killed process leaves its busy flag behind.
        for (const f of fs.readdirSync(BUSY_DIR))
            if (f.startsWith(`${w.pod}.`)) fs.rmSync(path.join(BUSY_DIR, f));
        if (w.killTimer) clearTimeout(w.killTimer);
        log(`${name}: worker exited (${signal ?? code})`);
    });
    workers.set(uid, w);
    log(`${name}: Running on ${pod.spec.nodeName}, worker pid ${proc.pid} (queues ${s.queues.join(", ")})`);
}

/**
 * CPU usage as a CPU-bound loader would show it, for kwok's emulated kubelet metrics: its CPU request while a
 * task runs, 1m when idle. Only the benchmark's CPU-based HPA reads it; KEDA scales on the queues.
 */
async function reportCpu(w: Worker, pod: KubeObject): Promise<void> {
    const busy = isBusy(w.pod);
    const cpu = busy ? String(pod.spec.containers[0].resources?.requests?.cpu ?? "500m") : "1m";
    if (cpu === w.reportedCpu) return;
    await kube.mergePatch(`/api/v1/namespaces/${w.namespace}/pods/${w.pod}`, {
        metadata: { annotations: { "kwok.x-k8s.io/usage-cpu": cpu } },
    });
    w.reportedCpu = cpu;
}

function recordTermination(w: Worker, how: Termination["how"]): void {
    const t: Termination = {
        namespace: w.namespace,
        pod: w.pod,
        busy: isBusy(w.pod),
        at: Date.now(),
        how,
    };
    fs.appendFileSync(TERMINATIONS, JSON.stringify(t) + "\n");
}

function terminate(w: Worker, pod: KubeObject): void {
    w.terminating = true;
    recordTermination(w, "graceful");
    const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
    log(`${w.namespace}/${w.pod}: deleted, SIGTERM (grace ${grace}s)`);
    w.proc.kill("SIGTERM");
    w.killTimer = setTimeout(() => {
        if (!w.exited) {
            log(`${w.namespace}/${w.pod}: grace period over, SIGKILL`);
            process.kill(-w.proc.pid!, "SIGKILL");
        }
    }, grace * 1000);
}

/** A task runs in one of the pod's worker processes (each flags itself in BUSY_DIR as <pod>.<pid>). */
function isBusy(pod: string): boolean {
    return fs.readdirSync(BUSY_DIR).some((f) => f.startsWith(`${pod}.`));
}

/** A worker whose machine is gone: killed at once, as a power cut would, and never restarted. */
function lose(w: Worker): void {
    if (w.exited || w.lost) return;
    w.lost = true;
    if (!w.terminating) recordTermination(w, "lost");
    process.kill(-w.proc.pid!, "SIGKILL");
}

async function reconcile(): Promise<void> {
    const pods = await kube.list("/api/v1/pods?labelSelector=app.kubernetes.io%2Fcomponent%3Dloader");
    const nodes = new Set((await kube.list("/api/v1/nodes")).map((n) => n.metadata.name as string));
    const seen = new Set<string>();
    for (const pod of pods) {
        const uid = pod.metadata.uid as string;
        seen.add(uid);
        const w = workers.get(uid);
        // Its node was deleted: the machine is gone with its processes; the pod object stays until the pod
        // garbage collector removes it.
        if (pod.spec.nodeName && !nodes.has(pod.spec.nodeName)) {
            if (w) lose(w);
            continue;
        }
        const podPath = `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`;
        if (pod.metadata.deletionTimestamp) {
            if (w && !w.exited && !w.terminating) terminate(w, pod);
            // The kubelet's last word: the pod object goes once its container has stopped.
            if ((!w || w.exited) && pod.spec.nodeName) {
                await kube.delete(podPath, 0);
                workers.delete(uid);
                fs.rmSync(path.join(PODS_DIR, uid), { recursive: true, force: true });
            }
            continue;
        }
        if (pod.status?.phase !== "Running") continue;
        if (w && w.exited && pod.spec.restartPolicy === "Never") {
            // A Job's pod: its container's end is the pod's, which the Job controller counts.
            const phase = w.succeeded ? "Succeeded" : "Failed";
            await kube.mergePatch(`${podPath}/status`, { status: { phase } });
            log(`${pod.metadata.namespace}/${pod.metadata.name}: ${phase}`);
            continue;
        }
        if (w && w.exited) {
            // restartPolicy Always, with a short back-off.
            if (!restartAfter.has(uid)) restartAfter.set(uid, Date.now() + 2000);
            if (Date.now() < restartAfter.get(uid)!) continue;
            restartAfter.delete(uid);
            workers.delete(uid);
        }
        if (!workers.has(uid)) await startWorker(pod);
        else await reportCpu(workers.get(uid)!, pod);
    }
    // A pod force-deleted by someone else: its worker goes at once, as on a node that lost it.
    for (const [uid, w] of workers) {
        if (!seen.has(uid)) {
            lose(w);
            workers.delete(uid);
            fs.rmSync(path.join(PODS_DIR, uid), { recursive: true, force: true });
        }
    }
}

async function main(): Promise<void> {
    if (!PYTHON || !RECORD || !WORKER_PIDS)
        throw new Error("bridge: BOX_PYTHON, BOX_TASK_RECORD and BOX_WORKER_PIDS must be set");
    fs.mkdirSync(BUSY_DIR, { recursive: true });
    fs.mkdirSync(WORKER_PIDS, { recursive: true });
    let stopping = false;
    process.on("SIGTERM", () => {
        stopping = true;
        for (const w of workers.values()) if (!w.exited) process.kill(-w.proc.pid!, "SIGKILL");
        process.exit(0);
    });
    fs.writeFileSync(BRIDGE_READY, String(process.pid));
    log(`bridge: watching loader pods on ${SERVER}`);
    while (!stopping) {
        try {
            await reconcile();
        } catch (e) {
            log(`bridge: ${(e as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, POLL_MS));
    }
}

void main();
