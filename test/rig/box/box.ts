/**
 * The autoscaling box: a real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler), kwok nodes shaped like the worker pool's hosts, the real KEDA operator and metrics server,
 * RabbitMQ with its management API, and the bridge that runs a real Celery worker per Running loader pod.
 * Everything listens on 127.0.0.1 and lives under .state/box; `down` stops it all.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as crypto from "crypto";
import * as http from "http";
import * as https from "https";
import * as path from "path";
import { ROOT, STATE, toolsBin } from "../engine/env";
import { configGetSync } from "../engine/cli";
import { step, stopByPidFile, waitFor } from "../e2e/env";
import { Kube } from "./kube";
import { until } from "./watch";
import { BoxNode, nodeObject, overheadPod } from "./nodes";
import { BoxPki, adminKubeconfig, ensurePki } from "./pki";

export const BOX = path.join(STATE, "box");

/** Loopback ports of the box (chosen away from the defaults, so a box runs beside real services). */
/** The box stack (Pulumi.box.yaml). */
export const BOX_STACK = "box";

/** Box ports: below the kernel's range for outgoing connections (32768-60999), so no client socket takes one. */
export const PORTS = {
    etcd: 23790,
    etcdPeer: 23800,
    apiserver: 16443,
    controllerManager: 20257,
    scheduler: 20259,
    kwok: 20247,
    kedaMetrics: 18080,
    kedaProbe: 18081,
    kedaGrpc: 19666,
    kedaAdapter: 16444,
    kedaAdapterMetrics: 18082,
    metricsServer: 16445,
    amqp: 25672,
    rabbitManagement: 25673,
    rabbitDist: 25674,
    epmd: 24369,
} as const;

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
    python: string;
}

export const SERVER = `https://127.0.0.1:${PORTS.apiserver}`;

function sh(cmd: string, args: string[]): string {
    return execFileSync(cmd, args, { encoding: "utf8" });
}

function pidFile(name: string): string {
    return path.join(BOX, "pids", `${name}.pid`);
}

function pidAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

function alive(name: string): boolean {
    const f = pidFile(name);
    return fs.existsSync(f) && pidAlive(Number(fs.readFileSync(f, "utf8")));
}

/** Starts a daemon detached, its output in .state/box/logs/<name>.log and its pid in .state/box/pids. */
export function daemon(
    name: string,
    cmd: string,
    args: string[],
    env: Record<string, string> = {},
): ChildProcess {
    fs.mkdirSync(path.join(BOX, "logs"), { recursive: true });
    fs.mkdirSync(path.join(BOX, "pids"), { recursive: true });
    stopByPidFile(pidFile(name));
    const log = fs.openSync(path.join(BOX, "logs", `${name}.log`), "a");
    const child = spawn(cmd, args, {
        detached: true,
        stdio: ["ignore", log, log],
        env: { ...process.env, ...env },
    });
    child.unref();
    fs.writeFileSync(pidFile(name), String(child.pid));
    return child;
}

/** An HTTP(S) GET's status code, or 0 when nothing answers. */
function probe(url: string, auth?: string): Promise<number> {
    return new Promise((resolve) => {
        const mod = url.startsWith("https:") ? https : http;
        const req = mod.get(
            url,
            { timeout: 2000, rejectUnauthorized: false, headers: auth ? { Authorization: auth } : {} },
            (res: http.IncomingMessage) => {
                res.resume();
                resolve(res.statusCode ?? 0);
            },
        );
        req.on("error", () => resolve(0));
        req.on("timeout", () => {
            req.destroy();
            resolve(0);
        });
    });
}

/** Waits for `ok` (errors count as not yet); on timeout, says what and shows the end of `log`. */
function waitUntil(
    what: string,
    seconds: number,
    ok: () => Promise<boolean>,
    log?: string,
): Promise<boolean> {
    return until(what, seconds, ok, log ? () => `last lines of ${log}:\n${tailOf(log)}` : undefined);
}

function tailOf(file: string): string {
    try {
        return fs.readFileSync(file, "utf8").split("\n").slice(-15).join("\n");
    } catch {
        return "(no log)";
    }
}

function logOf(name: string): string {
    return path.join(BOX, "logs", `${name}.log`);
}

/** The tools the box needs, built by scripts/tools/bootstrap.sh. */
function tool(bin: string, name: string): string {
    const p = path.join(bin, name);
    if (!fs.existsSync(p))
        throw new Error(
            `${name} is not built: run scripts/tools/bootstrap.sh box (bench for metrics-server; looked in ${bin})`,
        );
    return p;
}

const RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server";

function rabbitEnv(): Record<string, string> {
    const dir = path.join(BOX, "rabbitmq");
    return {
        HOME: dir,
        RABBITMQ_NODENAME: "swhbox@localhost",
        RABBITMQ_CONFIG_FILE: path.join(dir, "rabbitmq.conf"),
        RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, "enabled_plugins"),
        RABBITMQ_MNESIA_BASE: path.join(dir, "mnesia"),
        RABBITMQ_LOG_BASE: path.join(dir, "log"),
        RABBITMQ_DIST_PORT: String(PORTS.rabbitDist),
        ERL_EPMD_PORT: String(PORTS.epmd),
        ERL_EPMD_ADDRESS: "127.0.0.1",
        RABBITMQ_LOGS: "-",
        // Erlang distribution (rabbitmqctl) on loopback too.
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: "-kernel inet_dist_use_interface {127,0,0,1}",
    };
}

let rabbit: Box["rabbit"] | undefined;

/**
 * The box's RabbitMQ credentials and URLs: the box stack's own secrets (Pulumi.box.yaml, brokerAmqpUrl and
 * brokerManagementUrl), so the broker the box starts is the one the stack's loaders and KEDA are given.
 */
export function rabbitCredentials(): Box["rabbit"] {
    if (rabbit) return rabbit;
    const amqpUrl = configGetSync(BOX_STACK, "brokerAmqpUrl");
    const managementUrl = configGetSync(BOX_STACK, "brokerManagementUrl");
    const amqp = new URL(amqpUrl);
    const management = new URL(managementUrl);
    const expect = (key: string, url: URL, port: number) => {
        if (url.hostname !== "127.0.0.1" || Number(url.port) !== port)
            throw new Error(
                `Pulumi.box.yaml: elastic-workers:${key} must point at the box's RabbitMQ, 127.0.0.1:${port} (got ${url.host})`,
            );
    };
    expect("brokerAmqpUrl", amqp, PORTS.amqp);
    expect("brokerManagementUrl", management, PORTS.rabbitManagement);
    rabbit = {
        user: decodeURIComponent(amqp.username),
        password: decodeURIComponent(amqp.password),
        amqpUrl,
        managementUrl,
    };
    return rabbit;
}

/** RabbitMQ (Debian) with the management plugin, on loopback. Data survives stop/start (durable queues). */
export async function startRabbitmq(): Promise<void> {
    if (!fs.existsSync(RABBITMQ_SERVER))
        throw new Error("RabbitMQ is missing: apt-get install rabbitmq-server");
    const dir = path.join(BOX, "rabbitmq");
    fs.mkdirSync(dir, { recursive: true });
    const { user, password } = rabbitCredentials();
    fs.writeFileSync(
        path.join(dir, "rabbitmq.conf"),
        [
            `listeners.tcp.default = 127.0.0.1:${PORTS.amqp}`,
            `management.tcp.ip = 127.0.0.1`,
            `management.tcp.port = ${PORTS.rabbitManagement}`,
            `default_user = ${user}`,
            `default_pass = ${password}`,
            "",
        ].join("\n"),
        { mode: 0o600 },
    );
    fs.writeFileSync(path.join(dir, "enabled_plugins"), "[rabbitmq_management].\n");
    daemon("rabbitmq", RABBITMQ_SERVER, [], rabbitEnv());
    await rabbitmqReady();
}

export async function rabbitmqReady(): Promise<void> {
    const { user, password } = rabbitCredentials();
    const auth = "Basic " + Buffer.from(`${user}:${password}`).toString("base64");
    await waitUntil(
        "RabbitMQ's management API",
        120,
        async () => (await probe(`http://127.0.0.1:${PORTS.rabbitManagement}/api/overview`, auth)) === 200,
        logOf("rabbitmq"),
    );
}

/** Stops RabbitMQ (SIGTERM: a clean shutdown, queues and persistent messages kept on disk). */
export async function stopRabbitmq(): Promise<void> {
    const f = pidFile("rabbitmq");
    if (!fs.existsSync(f)) return;
    const pid = Number(fs.readFileSync(f, "utf8"));
    try {
        process.kill(-pid, "SIGTERM");
    } catch {
        // already gone
    }
    await waitFor("RabbitMQ to stop", 60, () => !pidAlive(pid));
    fs.rmSync(f, { force: true });
    // epmd (started by the Erlang VM on the box's port) stays until the box goes down: RabbitMQ restarts use it.
}

function celeryPython(): string {
    const req = path.join(ROOT, "test/rig/box/worker/requirements.txt");
    const key = crypto.createHash("sha256").update(fs.readFileSync(req)).digest("hex").slice(0, 12);
    const venv = path.join(process.env.HOME ?? "/root", ".cache/swh-elastic-workers", `celery-venv-${key}`);
    const python = path.join(venv, "bin/python");
    if (fs.existsSync(path.join(venv, ".complete"))) return python;
    console.log(`celery: creating ${venv} from ${path.relative(ROOT, req)}`);
    fs.rmSync(venv, { recursive: true, force: true });
    sh("python3", ["-m", "venv", venv]);
    const cert = process.env.PIP_CERT ?? "/etc/ssl/certs/ca-certificates.crt";
    execFileSync(python, ["-m", "pip", "install", "-q", "--no-deps", "-r", req], {
        stdio: "inherit",
        env: { ...process.env, PIP_CERT: cert, PIP_DISABLE_PIP_VERSION_CHECK: "1" },
    });
    fs.writeFileSync(path.join(venv, ".complete"), "");
    return python;
}

/** The box as it runs (for callers that did not start it). */
export function openBox(): Box {
    const pki = ensurePki(BOX);
    return boxHandle(pki, new Kube(SERVER, pki), celeryPython());
}

const KUBECONFIG = path.join(BOX, "kubeconfig");
const TASK_RECORD = path.join(BOX, "tasks.jsonl");

function boxHandle(pki: BoxPki, kube: Kube, python: string): Box {
    return {
        dir: BOX,
        pki,
        server: SERVER,
        kubeconfig: KUBECONFIG,
        kube,
        rabbit: rabbitCredentials(),
        taskRecord: TASK_RECORD,
        python,
    };
}

const KWOK_STAGES = [
    "stage/node/fast/node-initialize.yaml",
    "stage/pod/fast/pod-ready.yaml",
    // A kubelet's /metrics/resource per node, with each pod's CPU from its kwok.x-k8s.io/usage-cpu annotation
    // (set by the bridge from its worker's state), for metrics-server and the benchmark's CPU-based HPA.
    "metrics/resource/metrics-resource.yaml",
    "metrics/usage/usage-from-annotation.yaml",
];

/**
 * kwok's configuration: nodes come up Ready and renew their leases; scheduled pods become Running. No pod-delete
 * stage: the bridge deletes a pod only once its worker has stopped, as a kubelet does.
 */
function kwokConfig(): string {
    const dir = sh("go", ["mod", "download", "-json", `sigs.k8s.io/kwok@${versions().KWOK_VERSION}`]);
    const moduleDir = (JSON.parse(dir) as { Dir: string }).Dir;
    const stages = KWOK_STAGES.map((s) => fs.readFileSync(path.join(moduleDir, "kustomize", s), "utf8"));
    return stages.join("\n---\n");
}

/** scripts/tools/versions.sh, as key → value. */
export function versions(): Record<string, string> {
    const text = fs.readFileSync(path.join(ROOT, "scripts/tools/versions.sh"), "utf8");
    return Object.fromEntries([...text.matchAll(/^([A-Z_]+)=(\S+)$/gm)].map((m) => [m[1], m[2]]));
}

function kedaModuleDir(): string {
    const out = sh("go", [
        "mod",
        "download",
        "-json",
        `github.com/kedacore/keda/v2@${versions().KEDA_VERSION}`,
    ]);
    return (JSON.parse(out) as { Dir: string }).Dir;
}

const STEPS = 9;

/**
 * Serves `group`/v1beta1 through the aggregation layer from a server on loopback: the aggregator dials an
 * ExternalName Service as https://<externalName>:<port>, and checks the certificate against the box's CA.
 */
async function registerAggregatedApi(
    kube: Kube,
    pki: BoxPki,
    group: string,
    namespace: string,
    service: string,
    port: number,
): Promise<void> {
    await kube.ensure(`/api/v1/namespaces/${namespace}/services`, {
        metadata: { name: service, namespace },
        spec: { type: "ExternalName", externalName: "localhost", ports: [{ port }] },
    });
    await kube.ensure("/apis/apiregistration.k8s.io/v1/apiservices", {
        metadata: { name: `v1beta1.${group}` },
        spec: {
            group,
            version: "v1beta1",
            service: { namespace, name: service, port },
            caBundle: fs.readFileSync(pki.ca).toString("base64"),
            groupPriorityMinimum: 100,
            versionPriority: 100,
        },
    });
}

/** Brings the box up (reusing what already runs) with kwok nodes shaped as `nodes`. */
/**
 * Brings the box up (or finds it up). `resourceMetrics` adds metrics-server, which only the benchmark's
 * CPU-based HPA baseline reads (bootstrap.sh builds it only for `bench`).
 */
export async function boxUp(nodes: BoxNode[], opts: { resourceMetrics?: boolean } = {}): Promise<Box> {
    const bin = toolsBin();
    fs.mkdirSync(BOX, { recursive: true });
    step(1, STEPS, "certificates and kubeconfig");
    const pki = ensurePki(BOX);
    const kubeconfig = KUBECONFIG;
    fs.writeFileSync(kubeconfig, adminKubeconfig(pki, SERVER), { mode: 0o600 });
    const kube = new Kube(SERVER, pki);
    const kcEnv = { KUBECONFIG: kubeconfig };

    step(2, STEPS, `etcd ${versions().ETCD_VERSION} on 127.0.0.1:${PORTS.etcd}`);
    if (!alive("etcd")) {
        daemon("etcd", tool(bin, "etcd"), [
            "--name=box",
            `--data-dir=${path.join(BOX, "etcd")}`,
            `--listen-client-urls=http://127.0.0.1:${PORTS.etcd}`,
            `--advertise-client-urls=http://127.0.0.1:${PORTS.etcd}`,
            `--listen-peer-urls=http://127.0.0.1:${PORTS.etcdPeer}`,
            `--initial-advertise-peer-urls=http://127.0.0.1:${PORTS.etcdPeer}`,
            `--initial-cluster=box=http://127.0.0.1:${PORTS.etcdPeer}`,
            "--listen-metrics-urls=",
            // A throw-away store: no fsync, so the control plane is not slowed by the disk.
            "--unsafe-no-fsync",
        ]);
    }
    await waitUntil(
        "etcd",
        60,
        async () => (await probe(`http://127.0.0.1:${PORTS.etcd}/health`)) === 200,
        logOf("etcd"),
    );

    step(3, STEPS, `kube-apiserver ${versions().KUBE_VERSION} on ${SERVER}`);
    if (!alive("kube-apiserver")) {
        daemon("kube-apiserver", tool(bin, "kube-apiserver"), [
            `--etcd-servers=http://127.0.0.1:${PORTS.etcd}`,
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            `--secure-port=${PORTS.apiserver}`,
            `--tls-cert-file=${pki.apiserver.cert}`,
            `--tls-private-key-file=${pki.apiserver.key}`,
            `--client-ca-file=${pki.ca}`,
            `--service-account-key-file=${pki.serviceAccount.pub}`,
            `--service-account-signing-key-file=${pki.serviceAccount.key}`,
            "--service-account-issuer=https://kubernetes.default.svc",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--authorization-mode=RBAC",
            // The aggregation layer, through which the HPA reads KEDA's external metrics.
            `--requestheader-client-ca-file=${pki.frontProxyCa}`,
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            `--proxy-client-cert-file=${pki.frontProxyClient.cert}`,
            `--proxy-client-key-file=${pki.frontProxyClient.key}`,
            // The advertise address is loopback, which Endpoints may not hold.
            "--endpoint-reconciler-type=none",
            "--profiling=false",
        ]);
    }
    await waitUntil(
        "kube-apiserver /readyz",
        120,
        async () => (await kube.request("GET", "/readyz")) !== undefined,
        logOf("kube-apiserver"),
    );

    step(4, STEPS, "kube-controller-manager (Deployments, ReplicaSets, HPA) and kube-scheduler");
    const authFlags = [
        `--kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        "--bind-address=127.0.0.1",
        "--leader-elect=false",
    ];
    if (!alive("kube-controller-manager")) {
        daemon("kube-controller-manager", tool(bin, "kube-controller-manager"), [
            ...authFlags,
            `--secure-port=${PORTS.controllerManager}`,
            `--service-account-private-key-file=${pki.serviceAccount.key}`,
            `--root-ca-file=${pki.ca}`,
            "--cluster-name=box",
            // The defaults, stated: the HPA as clusters run it.
            "--horizontal-pod-autoscaler-sync-period=15s",
            "--horizontal-pod-autoscaler-tolerance=0.1",
        ]);
    }
    if (!alive("kube-scheduler")) {
        daemon("kube-scheduler", tool(bin, "kube-scheduler"), [
            ...authFlags,
            `--secure-port=${PORTS.scheduler}`,
        ]);
    }
    for (const [name, port] of [
        ["kube-controller-manager", PORTS.controllerManager],
        ["kube-scheduler", PORTS.scheduler],
    ] as const) {
        await waitUntil(
            name,
            90,
            async () => (await probe(`https://127.0.0.1:${port}/healthz`)) === 200,
            logOf(name),
        );
    }

    step(
        5,
        STEPS,
        `kwok ${versions().KWOK_VERSION}: ${nodes.length} nodes (${nodes.map((n) => n.name).join(", ")})`,
    );
    for (const node of nodes) {
        await kube.ensure("/api/v1/nodes", nodeObject(node));
        await kube.ensure("/api/v1/namespaces/kube-system/pods", overheadPod(node), { update: false });
    }
    if (!alive("kwok")) {
        const cfg = path.join(BOX, "kwok.yaml");
        fs.writeFileSync(cfg, kwokConfig());
        daemon("kwok", tool(bin, "kwok"), [
            `--kubeconfig=${kubeconfig}`,
            `--config=${cfg}`,
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            `--server-address=127.0.0.1:${PORTS.kwok}`,
            "--cidr=10.244.0.0/16",
            "--node-lease-duration-seconds=40",
            // Nodes answer on loopback, over TLS as kubelets do (metrics-server scrapes them).
            "--node-ip=127.0.0.1",
            `--node-port=${PORTS.kwok}`,
            `--tls-cert-file=${pki.apiserver.cert}`,
            `--tls-private-key-file=${pki.apiserver.key}`,
        ]);
    }
    await waitUntil(
        "kwok nodes Ready",
        90,
        async () => {
            const ready = (await kube.list("/api/v1/nodes")).filter((n) =>
                (n.status?.conditions ?? []).some(
                    (c: { type: string; status: string }) => c.type === "Ready" && c.status === "True",
                ),
            );
            return ready.length >= nodes.length;
        },
        logOf("kwok"),
    );

    step(6, STEPS, `RabbitMQ with management on 127.0.0.1:${PORTS.amqp} / :${PORTS.rabbitManagement}`);
    if (!alive("rabbitmq")) await startRabbitmq();
    else await rabbitmqReady();

    step(
        7,
        STEPS,
        `KEDA ${versions().KEDA_VERSION} (CRDs, operator, external metrics), metrics-server ${versions().METRICS_SERVER_VERSION}`,
    );
    const keda = kedaModuleDir();
    const crds = fs.readdirSync(path.join(keda, "config/crd/bases")).filter((f) => f.endsWith(".yaml"));
    execFileSync(
        tool(bin, "kubectl"),
        ["apply", "--server-side", ...crds.flatMap((f) => ["-f", path.join(keda, "config/crd/bases", f)])],
        { env: { ...process.env, ...kcEnv }, stdio: ["ignore", "ignore", "inherit"] },
    );
    await kube.ensure("/api/v1/namespaces", { metadata: { name: "keda" } });
    const kedaEnv = {
        ...kcEnv,
        KEDA_CLUSTER_OBJECT_NAMESPACE: "keda",
        POD_NAMESPACE: "keda",
        WATCH_NAMESPACE: "",
    };
    if (!alive("keda-operator")) {
        daemon(
            "keda-operator",
            tool(bin, "keda-operator"),
            [
                `--metrics-bind-address=127.0.0.1:${PORTS.kedaMetrics}`,
                `--health-probe-bind-address=127.0.0.1:${PORTS.kedaProbe}`,
                `--metrics-service-bind-address=127.0.0.1:${PORTS.kedaGrpc}`,
                `--cert-dir=${pki.kedaDir}`,
                `--ca-dir=${pki.kedaDir}`,
                "--enable-cert-rotation=false",
                "--enable-webhook-patching=false",
                "--enable-apiservice-patching=false",
                "--leader-elect=false",
            ],
            kedaEnv,
        );
    }
    if (!alive("keda-adapter")) {
        daemon(
            "keda-adapter",
            tool(bin, "keda-adapter"),
            [
                "--bind-address=127.0.0.1",
                `--secure-port=${PORTS.kedaAdapter}`,
                `--port=${PORTS.kedaAdapterMetrics}`,
                `--tls-cert-file=${path.join(pki.kedaDir, "tls.crt")}`,
                `--tls-private-key-file=${path.join(pki.kedaDir, "tls.key")}`,
                `--cert-dir=${pki.kedaDir}`,
                `--metrics-service-address=127.0.0.1:${PORTS.kedaGrpc}`,
                "--metrics-service-grpc-authority=localhost",
                `--lister-kubeconfig=${kubeconfig}`,
                `--authentication-kubeconfig=${kubeconfig}`,
                `--authorization-kubeconfig=${kubeconfig}`,
            ],
            kedaEnv,
        );
    }
    await registerAggregatedApi(
        kube,
        pki,
        "external.metrics.k8s.io",
        "keda",
        "keda-metrics-apiserver",
        PORTS.kedaAdapter,
    );
    await waitUntil(
        "KEDA operator /readyz",
        90,
        async () => (await probe(`http://127.0.0.1:${PORTS.kedaProbe}/readyz`)) === 200,
        logOf("keda-operator"),
    );
    await waitUntil(
        "the external metrics API (KEDA metrics server through the aggregator)",
        90,
        async () => (await kube.get("/apis/external.metrics.k8s.io/v1beta1")) !== undefined,
        logOf("keda-adapter"),
    );

    if (opts.resourceMetrics) {
        if (!alive("metrics-server")) {
            daemon("metrics-server", tool(bin, "metrics-server"), [
                "--bind-address=127.0.0.1",
                `--secure-port=${PORTS.metricsServer}`,
                `--tls-cert-file=${pki.metricsServer.cert}`,
                `--tls-private-key-file=${pki.metricsServer.key}`,
                `--kubeconfig=${kubeconfig}`,
                `--authentication-kubeconfig=${kubeconfig}`,
                `--authorization-kubeconfig=${kubeconfig}`,
                "--kubelet-preferred-address-types=InternalIP",
                "--kubelet-use-node-status-port",
                // kwok's serving certificate is the box's, not one per node.
                "--kubelet-insecure-tls",
                "--metric-resolution=15s",
            ]);
        }
        await registerAggregatedApi(
            kube,
            pki,
            "metrics.k8s.io",
            "kube-system",
            "metrics-server",
            PORTS.metricsServer,
        );
        await waitUntil(
            "the resource metrics API (metrics-server scraping the kwok nodes)",
            120,
            async () => (await kube.list("/apis/metrics.k8s.io/v1beta1/nodes")).length >= nodes.length,
            logOf("metrics-server"),
        );
    }

    step(8, STEPS, "Celery (PyPI) for the loader workers");
    const python = celeryPython();

    step(9, STEPS, "the pod-to-worker bridge");
    if (!alive("bridge")) {
        fs.rmSync(path.join(BOX, "bridge.ready"), { force: true });
        daemon(
            "bridge",
            process.execPath,
            ["-r", "ts-node/register/transpile-only", path.join(__dirname, "bridge.ts")],
            {
                BOX_PYTHON: python,
                BOX_TASK_RECORD: TASK_RECORD,
            },
        );
    }
    await waitUntil(
        "the bridge",
        30,
        async () => fs.existsSync(path.join(BOX, "bridge.ready")),
        logOf("bridge"),
    );
    console.log(`box up: kubectl --kubeconfig ${path.relative(process.cwd(), kubeconfig)} get nodes`);
    return boxHandle(pki, kube, python);
}

/** SIGTERM, then up to 30 s for the process to exit (its port to be free), then SIGKILL. */
async function stopAndWait(name: string): Promise<boolean> {
    const f = pidFile(name);
    if (!fs.existsSync(f)) return false;
    const pid = Number(fs.readFileSync(f, "utf8"));
    const was = stopByPidFile(f);
    try {
        await waitFor(`${name} to exit`, 30, () => !pidAlive(pid));
    } catch {
        process.kill(pid, "SIGKILL");
    }
    return was;
}

/** Stops every process of the box, in reverse order; keeps certificates, tools and the Celery venv. */
export async function boxDown(opts: { wipe?: boolean } = {}): Promise<void> {
    const order = [
        "bridge",
        "metrics-server",
        "keda-adapter",
        "keda-operator",
        "kwok",
        "kube-scheduler",
        "kube-controller-manager",
        "kube-apiserver",
        "etcd",
    ];
    for (const name of order) {
        if (await stopAndWait(name)) console.log(`stopped ${name}`);
    }
    if (alive("rabbitmq")) {
        await stopRabbitmq();
        console.log("stopped rabbitmq");
    }
    // Celery workers the bridge started are in their own process groups; the bridge stops them on SIGTERM,
    // this catches any it could not (bounded: one pass).
    spawnSync("pkill", ["-f", "swh-box-loader-worker"]);
    // The Erlang port mapper RabbitMQ started on the box's port (it keeps no state).
    spawnSync("epmd", ["-port", String(PORTS.epmd), "-kill"], { stdio: "ignore" });
    if (opts.wipe) {
        for (const d of ["etcd", "rabbitmq", "tasks.jsonl", "bridge.ready", "logs"]) {
            fs.rmSync(path.join(BOX, d), { recursive: true, force: true });
        }
        console.log("wiped the box's data (etcd, RabbitMQ, task records, logs)");
    }
}
