/**
 * The autoscaling box: a real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler), kwok nodes shaped like the worker pool's hosts, the real KEDA operator and metrics server,
 * RabbitMQ with its management API, and the bridge that runs a real Celery worker per Running loader pod.
 * The processes are the rows of services.ts: up starts them in order, down stops them in reverse.
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ROOT, toolsBin } from "../engine/env";
import { pidAlive, readPid, startService, startServices, step, stopServices } from "../supervisor";
import { Kube } from "./kube";
import { BoxNode } from "./nodes";
import { BoxPki, adminKubeconfig, ensurePki } from "./pki";
import { checkTimeScale } from "./time-scale";
import {
    BOX,
    BoxContext,
    KUBECONFIG,
    RABBITMQ,
    SERVER,
    SERVICES,
    TASK_RECORD,
    TERMINATIONS,
    rabbitCredentials,
    supervisor,
} from "./services";

export { BOX, BOX_STACK, CLUSTER_CIDR, PORTS, SERVER } from "./services";

/** What a running box offers its users (the stack, the tests, the benchmark). */
export interface Box {
    dir: string;
    pki: BoxPki;
    server: string;
    kubeconfig: string;
    kube: Kube;
    rabbit: { user: string; password: string; amqpUrl: string; managementUrl: string };
    /** Every task completion the workers recorded, one JSON line each. */
    taskRecord: string;
    /** Every worker the bridge stopped because its pod was deleted (watch.ts `terminations`). */
    terminations: string;
    python: string;
}

/** The Celery venv for the loader workers, from test/rig/box/worker/requirements.txt (kept per its hash). */
function celeryPython(): string {
    const req = path.join(ROOT, "test/rig/box/worker/requirements.txt");
    const key = crypto.createHash("sha256").update(fs.readFileSync(req)).digest("hex").slice(0, 12);
    const venv = path.join(process.env.HOME ?? "/root", ".cache/swh-elastic-workers", `celery-venv-${key}`);
    const python = path.join(venv, "bin/python");
    if (fs.existsSync(path.join(venv, ".complete"))) return python;
    console.log(`celery: creating ${venv} from ${path.relative(ROOT, req)}`);
    fs.rmSync(venv, { recursive: true, force: true });
    execFileSync("python3", ["-m", "venv", venv]);
    const cert = process.env.PIP_CERT ?? "/etc/ssl/certs/ca-certificates.crt";
    execFileSync(python, ["-m", "pip", "install", "-q", "--no-deps", "-r", req], {
        stdio: "inherit",
        env: { ...process.env, PIP_CERT: cert, PIP_DISABLE_PIP_VERSION_CHECK: "1" },
    });
    fs.writeFileSync(path.join(venv, ".complete"), "");
    return python;
}

/**
 * What the service rows read; the tools and the venv are looked up once, when a row first needs them. The time
 * scale defaults to the running box's (1 when none runs).
 */
function boxContext(
    pki: BoxPki,
    kube: Kube,
    nodes: BoxNode[],
    resourceMetrics: boolean,
    timeScale = runningTimeScale() ?? 1,
): BoxContext {
    let bin: string | undefined;
    let python: string | undefined;
    return {
        pki,
        kube,
        nodes,
        resourceMetrics,
        timeScale,
        tool: (name) => {
            bin ??= toolsBin();
            const p = path.join(bin, name);
            if (!fs.existsSync(p))
                throw new Error(
                    `${name} is not built: run scripts/tools/bootstrap.sh box (bench for metrics-server; looked in ${bin})`,
                );
            return p;
        },
        python: () => (python ??= celeryPython()),
    };
}

function boxHandle(c: BoxContext): Box {
    return {
        dir: BOX,
        pki: c.pki,
        server: SERVER,
        kubeconfig: KUBECONFIG,
        kube: c.kube,
        rabbit: rabbitCredentials(),
        taskRecord: TASK_RECORD,
        terminations: TERMINATIONS,
        python: c.python(),
    };
}

/** The box as it runs (for callers that did not start it). */
export function openBox(): Box {
    const pki = ensurePki(BOX);
    return boxHandle(boxContext(pki, new Kube(SERVER, pki), [], false));
}

/** Where the box records the time scale its processes were started at. */
const TIME_SCALE_FILE = path.join(BOX, "time-scale");

/** The time scale of the box's running processes; undefined when none runs. */
function runningTimeScale(): number | undefined {
    if (!SERVICES.some((s) => supervisor.alive(s.name))) return undefined;
    return fs.existsSync(TIME_SCALE_FILE) ? Number(fs.readFileSync(TIME_SCALE_FILE, "utf8")) : 1;
}

/**
 * Brings the box up (reusing what already runs) with kwok nodes shaped as `nodes`. `resourceMetrics` adds
 * metrics-server, which only the benchmark's CPU-based HPA baseline reads (bootstrap.sh builds it only for `bench`).
 * `timeScale` divides the cluster's control periods (time-scale.ts; default 1, real time); a box already running
 * at another scale is refused, as its processes' flags are fixed at their start.
 */
export async function boxUp(
    nodes: BoxNode[],
    opts: { resourceMetrics?: boolean; timeScale?: number } = {},
): Promise<Box> {
    const timeScale = checkTimeScale(opts.timeScale ?? 1, "time scale");
    const running = runningTimeScale();
    if (running !== undefined && running !== timeScale)
        throw new Error(
            `the box runs at time scale ${running}, and this needs ${timeScale}: stop it first (npm run box:down)`,
        );
    fs.mkdirSync(BOX, { recursive: true });
    fs.writeFileSync(TIME_SCALE_FILE, String(timeScale));
    const pki = ensurePki(BOX);
    fs.writeFileSync(KUBECONFIG, adminKubeconfig(pki, SERVER), { mode: 0o600 });
    const c = boxContext(pki, new Kube(SERVER, pki), nodes, opts.resourceMetrics ?? false, timeScale);
    await startServices(SERVICES, c, supervisor, (i, count, what) => step(i + 1, count, what));
    console.log(`box up: kubectl --kubeconfig ${path.relative(process.cwd(), KUBECONFIG)} get nodes`);
    return boxHandle(c);
}

/**
 * Starts RabbitMQ alone (the box's row), e.g. after stopRabbitmq; its queues survive the restart. True if it was
 * started, false if it was running (a box's).
 */
export async function startRabbitmq(): Promise<boolean> {
    const pki = ensurePki(BOX);
    const kube = new Kube(SERVER, pki);
    try {
        return await startService(RABBITMQ, boxContext(pki, kube, [], false), supervisor);
    } finally {
        kube.close();
    }
}

/**
 * Stops RabbitMQ alone (a clean shutdown: durable queues and persistent messages stay on disk). `andEpmd` also
 * stops the Erlang port mapper it started, which stays for a restart otherwise.
 */
export async function stopRabbitmq(opts: { andEpmd?: boolean } = {}): Promise<void> {
    await supervisor.stop(RABBITMQ.name, RABBITMQ.stopSeconds ?? 30);
    if (opts.andEpmd) RABBITMQ.down?.();
}

/**
 * Runs `fn` with the bridge stopped (SIGSTOP to its process alone; the workers, in their own process groups, run
 * on), then lets it go on: a kubelet slow to act on a pod's deletion, so a test can hold a pod between the
 * ReplicaSet's choice and its worker's SIGTERM, a gap the bridge's polling otherwise keeps under a second.
 */
export async function withBridgePaused<T>(fn: () => Promise<T>): Promise<T> {
    const pid = readPid(supervisor.pidFile("bridge"));
    if (pid === undefined || !pidAlive(pid))
        throw new Error("the box's bridge is not running: npm run box:up");
    process.kill(pid, "SIGSTOP");
    try {
        return await fn();
    } finally {
        process.kill(pid, "SIGCONT");
    }
}

/**
 * Stops every process of the box, in reverse start order, and any Celery worker the bridge left (by the pids it
 * recorded); keeps certificates, tools and the Celery venv. `wipe` also drops the services' data and the logs.
 */
export async function boxDown(opts: { wipe?: boolean } = {}): Promise<void> {
    await stopServices(SERVICES, supervisor, (name) => console.log(`stopped ${name}`));
    if (opts.wipe) {
        for (const d of [...SERVICES.flatMap((s) => s.data ?? []), "logs"]) {
            fs.rmSync(path.join(BOX, d), { recursive: true, force: true });
        }
        console.log("wiped the box's data (etcd, RabbitMQ, task records, logs)");
    }
}
