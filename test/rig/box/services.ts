/**
 * The box's processes as a table, in start order: the box starts them top to bottom, each ready before the
 * next, and stops them bottom to top. Adding a process to the box is adding a row. Everything listens on
 * 127.0.0.1, on the ports below, and lives under .state/box.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as path from "path";
import { configGetSync } from "../engine/cli";
import { ROOT, STATE } from "../engine/env";
import { Service, Supervisor } from "../supervisor";
import { Kube } from "./kube";
import { BoxNode, ensureNode } from "./nodes";
import { BoxPki } from "./pki";
import {
    CLUSTER_PERIODS,
    hpaFlags,
    metricsResolution,
    rabbitSampleSeconds,
    rabbitStatisticsMs,
} from "./time-scale";

export const BOX = path.join(STATE, "box");

/** The box stack (Pulumi.box.yaml). */
export const BOX_STACK = "box";

/**
 * Box ports: away from the services' defaults, so a box runs beside real ones, and below the kernel's range for
 * outgoing connections (32768-60999), so no client socket takes one.
 */
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

export const SERVER = `https://127.0.0.1:${PORTS.apiserver}`;
/** The pods' network, split by the controller manager into one /24 per node. */
export const CLUSTER_CIDR = "10.42.0.0/16";
export const KUBECONFIG = path.join(BOX, "kubeconfig");
/** Every task completion the workers record, one JSON line each. */
export const TASK_RECORD = path.join(BOX, "tasks.jsonl");
/** Where the workers flag a running task, one file per worker process: <pod>.<pid> (swh_box_loader.py). */
export const BUSY_DIR = path.join(BOX, "busy");
/** Every worker the bridge stopped because its pod was deleted, one JSON line each (see bridge.ts). */
export const TERMINATIONS = path.join(BOX, "terminations.jsonl");
/** The bridge writes it once it watches pods. */
export const BRIDGE_READY = path.join(BOX, "bridge.ready");

/** The box's processes: pids in .state/box/pids, logs in .state/box/logs. */
export const supervisor = new Supervisor(BOX);

/** What the rows read: the box's certificates and API client, its nodes, its tools. */
export interface BoxContext {
    pki: BoxPki;
    kube: Kube;
    nodes: BoxNode[];
    /** metrics-server too: only the benchmark's CPU-based HPA baseline reads it (bootstrap.sh bench builds it). */
    resourceMetrics: boolean;
    /** Real seconds per box second for the cluster's control periods (time-scale.ts); 1 is real time. */
    timeScale: number;
    /** A tool built by scripts/tools/bootstrap.sh (its path; an error naming the bootstrap when missing). */
    tool(name: string): string;
    /** The Celery venv's python, for the bridge's workers. */
    python(): string;
}

/** scripts/tools/versions.sh, as key → value. */
export function versions(): Record<string, string> {
    const text = fs.readFileSync(path.join(ROOT, "scripts/tools/versions.sh"), "utf8");
    return Object.fromEntries([...text.matchAll(/^([A-Z_]+)=(\S+)$/gm)].map((m) => [m[1], m[2]]));
}

/** A Go module's directory in the module cache (bootstrap.sh downloaded it: no network here). */
function moduleDir(module: string): string {
    const out = execFileSync("go", ["mod", "download", "-json", module], { encoding: "utf8" });
    return (JSON.parse(out) as { Dir: string }).Dir;
}

let rabbit: { user: string; password: string; amqpUrl: string; managementUrl: string } | undefined;

/**
 * The box's RabbitMQ credentials and URLs: the box stack's own secrets (Pulumi.box.yaml, brokerAmqpUrl and
 * brokerManagementUrl), so the broker the box starts is the one the stack's loaders and KEDA are given.
 */
export function rabbitCredentials(): {
    user: string;
    password: string;
    amqpUrl: string;
    managementUrl: string;
} {
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

const answers200 = async (url: string, auth?: string) => (await probe(url, auth)) === 200;

/**
 * Serves `group`/v1beta1 through the aggregation layer from a server on loopback: the aggregator dials an
 * ExternalName Service as https://<externalName>:<port>, and checks the certificate against the box's CA.
 */
async function registerAggregatedApi(
    c: BoxContext,
    group: string,
    namespace: string,
    service: string,
    port: number,
): Promise<void> {
    await c.kube.ensure(`/api/v1/namespaces/${namespace}/services`, {
        metadata: { name: service, namespace },
        spec: { type: "ExternalName", externalName: "localhost", ports: [{ port }] },
    });
    await c.kube.ensure("/apis/apiregistration.k8s.io/v1/apiservices", {
        metadata: { name: `v1beta1.${group}` },
        spec: {
            group,
            version: "v1beta1",
            service: { namespace, name: service, port },
            caBundle: fs.readFileSync(c.pki.ca).toString("base64"),
            groupPriorityMinimum: 100,
            versionPriority: 100,
        },
    });
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
    const dir = moduleDir(`sigs.k8s.io/kwok@${versions().KWOK_VERSION}`);
    return KWOK_STAGES.map((s) => fs.readFileSync(path.join(dir, "kustomize", s), "utf8")).join("\n---\n");
}

const RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server";
const RABBITMQ_DIR = path.join(BOX, "rabbitmq");

function rabbitEnv(): Record<string, string> {
    return {
        HOME: RABBITMQ_DIR,
        RABBITMQ_NODENAME: "swhbox@localhost",
        RABBITMQ_CONFIG_FILE: path.join(RABBITMQ_DIR, "rabbitmq.conf"),
        RABBITMQ_ENABLED_PLUGINS_FILE: path.join(RABBITMQ_DIR, "enabled_plugins"),
        RABBITMQ_MNESIA_BASE: path.join(RABBITMQ_DIR, "mnesia"),
        RABBITMQ_LOG_BASE: path.join(RABBITMQ_DIR, "log"),
        RABBITMQ_DIST_PORT: String(PORTS.rabbitDist),
        ERL_EPMD_PORT: String(PORTS.epmd),
        ERL_EPMD_ADDRESS: "127.0.0.1",
        RABBITMQ_LOGS: "-",
        // Erlang distribution (rabbitmqctl) on loopback too.
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: "-kernel inet_dist_use_interface {127,0,0,1}",
    };
}

function writeRabbitmqConfig(timeScale: number): void {
    if (!fs.existsSync(RABBITMQ_SERVER))
        throw new Error("RabbitMQ is missing: apt-get install rabbitmq-server");
    fs.mkdirSync(RABBITMQ_DIR, { recursive: true });
    const { user, password } = rabbitCredentials();
    fs.writeFileSync(
        path.join(RABBITMQ_DIR, "rabbitmq.conf"),
        [
            `listeners.tcp.default = 127.0.0.1:${PORTS.amqp}`,
            `management.tcp.ip = 127.0.0.1`,
            `management.tcp.port = ${PORTS.rabbitManagement}`,
            `default_user = ${user}`,
            `default_pass = ${password}`,
            // How old the queue lengths KEDA reads are: RabbitMQ's 5 s statistics and the management plugin's 5 s
            // samples, in the box's time (the samples' least is 1 s). Unscaled, the samples alone made the lengths
            // up to 75 s old in real time at scale 15, past the HPA's 60 s scale-down window: it scaled below the
            // running tasks and stopped busy workers.
            `collect_statistics_interval = ${rabbitStatisticsMs(timeScale)}`,
            // Unscaled, the plugin keeps its defaults, as a real broker does.
            ...(rabbitSampleSeconds(timeScale) === CLUSTER_PERIODS.rabbitSampleSeconds
                ? []
                : ["global.minute", "basic.minute", "detailed.10"].map(
                      (policy) =>
                          `management.sample_retention_policies.${policy} = ${rabbitSampleSeconds(timeScale)}`,
                  )),
            "",
        ].join("\n"),
        { mode: 0o600 },
    );
    fs.writeFileSync(path.join(RABBITMQ_DIR, "enabled_plugins"), "[rabbitmq_management].\n");
}

/** The flags every control-plane client of the box's API server shares. */
const authFlags = [
    `--kubeconfig=${KUBECONFIG}`,
    `--authentication-kubeconfig=${KUBECONFIG}`,
    `--authorization-kubeconfig=${KUBECONFIG}`,
    "--bind-address=127.0.0.1",
    "--leader-elect=false",
];

const kedaEnv = {
    KUBECONFIG,
    KEDA_CLUSTER_OBJECT_NAMESPACE: "keda",
    POD_NAMESPACE: "keda",
    WATCH_NAMESPACE: "",
};

export const RABBITMQ: Service<BoxContext> = {
    name: "rabbitmq",
    what: () => `RabbitMQ with management on 127.0.0.1:${PORTS.amqp} / :${PORTS.rabbitManagement}`,
    prepare: (c) => writeRabbitmqConfig(c.timeScale),
    command: () => ({ cmd: RABBITMQ_SERVER, args: [] }),
    env: rabbitEnv,
    ready: {
        what: "RabbitMQ's management API",
        seconds: 120,
        check: () => {
            const { user, password } = rabbitCredentials();
            const auth = "Basic " + Buffer.from(`${user}:${password}`).toString("base64");
            return answers200(`http://127.0.0.1:${PORTS.rabbitManagement}/api/overview`, auth);
        },
    },
    // SIGTERM is a clean shutdown: queues and persistent messages stay on disk for the next start.
    stopSeconds: 60,
    // epmd, which the Erlang VM started on the box's port, stays across RabbitMQ restarts; it keeps no state.
    down: () => {
        spawnSync("epmd", ["-port", String(PORTS.epmd), "-kill"], { stdio: "ignore" });
    },
    data: ["rabbitmq"],
};

/** The box's processes, in start order. */
export const SERVICES: readonly Service<BoxContext>[] = [
    {
        name: "etcd",
        what: () => `etcd ${versions().ETCD_VERSION} on 127.0.0.1:${PORTS.etcd}`,
        command: (c) => ({
            cmd: c.tool("etcd"),
            args: [
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
            ],
        }),
        ready: {
            what: "etcd",
            seconds: 60,
            check: () => answers200(`http://127.0.0.1:${PORTS.etcd}/health`),
        },
        data: ["etcd"],
    },
    {
        name: "kube-apiserver",
        what: () => `kube-apiserver ${versions().KUBE_VERSION} on ${SERVER}`,
        command: (c) => ({
            cmd: c.tool("kube-apiserver"),
            args: [
                `--etcd-servers=http://127.0.0.1:${PORTS.etcd}`,
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                `--secure-port=${PORTS.apiserver}`,
                `--tls-cert-file=${c.pki.apiserver.cert}`,
                `--tls-private-key-file=${c.pki.apiserver.key}`,
                `--client-ca-file=${c.pki.ca}`,
                `--service-account-key-file=${c.pki.serviceAccount.pub}`,
                `--service-account-signing-key-file=${c.pki.serviceAccount.key}`,
                "--service-account-issuer=https://kubernetes.default.svc",
                "--service-cluster-ip-range=10.96.0.0/16",
                // As RKE2 runs it: kubelets authorized as their own node (the real nodes of test/rig/hosts).
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                // Logs and exec reach a kubelet at its node's address, never through a DNS lookup of its name.
                "--kubelet-preferred-address-types=InternalIP,Hostname",
                // The aggregation layer, through which the HPA reads KEDA's external metrics.
                `--requestheader-client-ca-file=${c.pki.frontProxyCa}`,
                "--requestheader-allowed-names=front-proxy-client",
                "--requestheader-username-headers=X-Remote-User",
                "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                `--proxy-client-cert-file=${c.pki.frontProxyClient.cert}`,
                `--proxy-client-key-file=${c.pki.frontProxyClient.key}`,
                // The advertise address is loopback, which Endpoints may not hold.
                "--endpoint-reconciler-type=none",
                "--profiling=false",
            ],
        }),
        ready: {
            what: "kube-apiserver /readyz",
            seconds: 120,
            check: async (c) => (await c.kube.request("GET", "/readyz")) !== undefined,
        },
    },
    {
        name: "kube-controller-manager",
        what: () => "kube-controller-manager (Deployments, ReplicaSets, HPA)",
        command: (c) => ({
            cmd: c.tool("kube-controller-manager"),
            args: [
                ...authFlags,
                `--secure-port=${PORTS.controllerManager}`,
                `--service-account-private-key-file=${c.pki.serviceAccount.key}`,
                `--root-ca-file=${c.pki.ca}`,
                "--cluster-name=box",
                // Each node's pod subnet, which flannel reads on the real nodes (RKE2's default cluster CIDR).
                "--allocate-node-cidrs=true",
                `--cluster-cidr=${CLUSTER_CIDR}`,
                // The defaults, stated: the HPA as clusters run it, in the box's time.
                ...hpaFlags(c.timeScale),
            ],
        }),
        ready: {
            what: "kube-controller-manager",
            seconds: 90,
            check: () => answers200(`https://127.0.0.1:${PORTS.controllerManager}/healthz`),
        },
    },
    {
        name: "kube-scheduler",
        what: () => "kube-scheduler",
        command: (c) => ({
            cmd: c.tool("kube-scheduler"),
            args: [...authFlags, `--secure-port=${PORTS.scheduler}`],
        }),
        ready: {
            what: "kube-scheduler",
            seconds: 90,
            check: () => answers200(`https://127.0.0.1:${PORTS.scheduler}/healthz`),
        },
    },
    {
        name: "kwok",
        what: (c) =>
            `kwok ${versions().KWOK_VERSION}: ${c.nodes.length} nodes (${c.nodes.map((n) => n.name).join(", ")})`,
        setup: async (c) => {
            for (const node of c.nodes) await ensureNode(c.kube, node);
        },
        prepare: () => fs.writeFileSync(path.join(BOX, "kwok.yaml"), kwokConfig()),
        command: (c) => ({
            cmd: c.tool("kwok"),
            args: [
                `--kubeconfig=${KUBECONFIG}`,
                `--config=${path.join(BOX, "kwok.yaml")}`,
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                `--server-address=127.0.0.1:${PORTS.kwok}`,
                "--cidr=10.244.0.0/16",
                "--node-lease-duration-seconds=40",
                // Nodes answer on loopback, over TLS as kubelets do (metrics-server scrapes them).
                "--node-ip=127.0.0.1",
                `--node-port=${PORTS.kwok}`,
                `--tls-cert-file=${c.pki.apiserver.cert}`,
                `--tls-private-key-file=${c.pki.apiserver.key}`,
            ],
        }),
        ready: {
            what: "kwok nodes Ready",
            seconds: 90,
            check: async (c) => {
                const ready = (await c.kube.list("/api/v1/nodes")).filter((n) =>
                    (n.status?.conditions ?? []).some(
                        (x: { type: string; status: string }) => x.type === "Ready" && x.status === "True",
                    ),
                );
                return ready.length >= c.nodes.length;
            },
        },
    },
    RABBITMQ,
    {
        name: "keda-operator",
        what: () => `KEDA ${versions().KEDA_VERSION} operator, with the CRDs from its module`,
        setup: async (c) => {
            const keda = moduleDir(`github.com/kedacore/keda/v2@${versions().KEDA_VERSION}`);
            const bases = path.join(keda, "config/crd/bases");
            const crds = fs.readdirSync(bases).filter((f) => f.endsWith(".yaml"));
            execFileSync(
                c.tool("kubectl"),
                ["apply", "--server-side", ...crds.flatMap((f) => ["-f", path.join(bases, f)])],
                { env: { ...process.env, KUBECONFIG }, stdio: ["ignore", "ignore", "inherit"] },
            );
            await c.kube.ensure("/api/v1/namespaces", { metadata: { name: "keda" } });
        },
        command: (c) => ({
            cmd: c.tool("keda-operator"),
            args: [
                `--metrics-bind-address=127.0.0.1:${PORTS.kedaMetrics}`,
                `--health-probe-bind-address=127.0.0.1:${PORTS.kedaProbe}`,
                `--metrics-service-bind-address=127.0.0.1:${PORTS.kedaGrpc}`,
                `--cert-dir=${c.pki.kedaDir}`,
                `--ca-dir=${c.pki.kedaDir}`,
                "--enable-cert-rotation=false",
                "--enable-webhook-patching=false",
                "--enable-apiservice-patching=false",
                "--leader-elect=false",
            ],
        }),
        env: () => kedaEnv,
        ready: {
            what: "KEDA operator /readyz",
            seconds: 90,
            check: () => answers200(`http://127.0.0.1:${PORTS.kedaProbe}/readyz`),
        },
    },
    {
        name: "keda-adapter",
        what: () =>
            `KEDA ${versions().KEDA_VERSION} metrics server, as the external.metrics.k8s.io APIService`,
        setup: (c) =>
            registerAggregatedApi(
                c,
                "external.metrics.k8s.io",
                "keda",
                "keda-metrics-apiserver",
                PORTS.kedaAdapter,
            ),
        command: (c) => ({
            cmd: c.tool("keda-adapter"),
            args: [
                "--bind-address=127.0.0.1",
                `--secure-port=${PORTS.kedaAdapter}`,
                `--port=${PORTS.kedaAdapterMetrics}`,
                `--tls-cert-file=${path.join(c.pki.kedaDir, "tls.crt")}`,
                `--tls-private-key-file=${path.join(c.pki.kedaDir, "tls.key")}`,
                `--cert-dir=${c.pki.kedaDir}`,
                `--metrics-service-address=127.0.0.1:${PORTS.kedaGrpc}`,
                "--metrics-service-grpc-authority=localhost",
                `--lister-kubeconfig=${KUBECONFIG}`,
                `--authentication-kubeconfig=${KUBECONFIG}`,
                `--authorization-kubeconfig=${KUBECONFIG}`,
            ],
        }),
        env: () => kedaEnv,
        ready: {
            what: "the external metrics API (KEDA metrics server through the aggregator)",
            seconds: 90,
            check: async (c) => (await c.kube.get("/apis/external.metrics.k8s.io/v1beta1")) !== undefined,
        },
    },
    {
        name: "metrics-server",
        what: () => `metrics-server ${versions().METRICS_SERVER_VERSION}, as the metrics.k8s.io APIService`,
        enabled: (c) => c.resourceMetrics,
        setup: (c) =>
            registerAggregatedApi(c, "metrics.k8s.io", "kube-system", "metrics-server", PORTS.metricsServer),
        command: (c) => ({
            cmd: c.tool("metrics-server"),
            args: [
                "--bind-address=127.0.0.1",
                `--secure-port=${PORTS.metricsServer}`,
                `--tls-cert-file=${c.pki.metricsServer.cert}`,
                `--tls-private-key-file=${c.pki.metricsServer.key}`,
                `--kubeconfig=${KUBECONFIG}`,
                `--authentication-kubeconfig=${KUBECONFIG}`,
                `--authorization-kubeconfig=${KUBECONFIG}`,
                "--kubelet-preferred-address-types=InternalIP",
                "--kubelet-use-node-status-port",
                // kwok's serving certificate is the box's, not one per node.
                "--kubelet-insecure-tls",
                `--metric-resolution=${metricsResolution(c.timeScale)}`,
            ],
        }),
        ready: {
            what: "the resource metrics API (metrics-server scraping the kwok nodes)",
            seconds: 120,
            check: async (c) =>
                (await c.kube.list("/apis/metrics.k8s.io/v1beta1/nodes")).length >= c.nodes.length,
        },
    },
    {
        name: "bridge",
        what: () => "the pod-to-worker bridge (a Celery worker per Running loader pod)",
        prepare: () => fs.rmSync(BRIDGE_READY, { force: true }),
        command: () => ({
            cmd: process.execPath,
            args: ["-r", "ts-node/register/transpile-only", path.join(__dirname, "bridge.ts")],
        }),
        env: (c) => ({
            BOX_PYTHON: c.python(),
            BOX_TASK_RECORD: TASK_RECORD,
            // Workers run in their own process groups; their pids here let the box stop any the bridge left.
            BOX_WORKER_PIDS: supervisor.childPidDir("bridge"),
        }),
        ready: { what: "the bridge", seconds: 30, check: async () => fs.existsSync(BRIDGE_READY) },
        data: [path.basename(TASK_RECORD), path.basename(TERMINATIONS), path.basename(BRIDGE_READY)],
    },
];
