import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { z } from "zod";
import { ArgumentError } from "../components/common/errors";
import { versions } from "../components/common/versions";
import { LoaderPlan, planLoader } from "../components/keda-scaled-loader/plan";
import { checkRancherSupportsKubernetes } from "../components/rancher-server/support-matrix";
import { NodeCapacity, nodeCapacity, resolveReservations } from "../components/worker-node-pool/capacity";
import { checkUniqueNames } from "../components/worker-node-pool/hosts";
import {
    ImagesConfig,
    KedaConfig,
    KubernetesConfig,
    LoaderConfig,
    ObservabilityConfig,
    PoolConfig,
    RancherConfig,
    structuredKeys,
} from "./schema";

/** The Pulumi project name, the namespace of every config key. */
export const PROJECT = "elastic-workers";

/** Where config values come from: the engine's config in a program, a plain map in tests. */
export interface ConfigSource {
    /** The raw value of `elastic-workers:<key>` (objects and arrays as JSON text), or undefined. */
    get(key: string): string | undefined;
    /** Whether `elastic-workers:<key>` was set as a secret. */
    isSecret(key: string): boolean;
}

/** The SDK's own secret-key lookup: exported by the runtime, absent from its typings. */
const { isConfigSecret } = runtimeConfig as unknown as { isConfigSecret?: (key: string) => boolean };

/** Reads the engine's config without the "use getSecret" warning: secrets are wrapped right after. */
export function pulumiConfigSource(): ConfigSource {
    if (typeof isConfigSecret !== "function") {
        throw new pulumi.RunError(
            "this @pulumi/pulumi no longer exports runtime/config isConfigSecret; pin 3.260.x",
        );
    }
    return {
        get: (key) => runtimeConfig.getConfig(`${PROJECT}:${key}`),
        isSecret: (key) => isConfigSecret(`${PROJECT}:${key}`),
    };
}

/** Several bad config values at once, each line naming its key. Printed without a stack trace. */
export class ConfigError extends pulumi.RunError {
    constructor(public readonly problems: string[]) {
        super(`invalid stack config:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

/** The secret config keys: what each holds, when it is required, and a shape check that never echoes it. */
export const SECRET_KEYS = {
    sshPrivateKey: { what: "an OpenSSH private key (PEM)", check: (v: string) => /PRIVATE KEY-----/.test(v) },
    rancherBootstrapPassword: {
        what: "Rancher's bootstrap password, 12+ characters",
        check: (v: string) => v.length >= 12,
    },
    rancherAdminPassword: {
        what: "Rancher's admin password, 12+ characters",
        check: (v: string) => v.length >= 12,
    },
    registryPassword: { what: "the registry password or access token", check: (v: string) => v.length > 0 },
    brokerAmqpUrl: {
        what: "the Celery broker URL, amqp(s)://user:password@host:5672/vhost",
        check: (v: string) => /^amqps?:\/\/[^\s:@/]+:[^\s@/]+@[^\s/]+/.test(v),
    },
    brokerManagementUrl: {
        what: "the RabbitMQ management API URL, http(s)://user:password@host:15672",
        check: (v: string) => /^https?:\/\/[^\s:@/]+:[^\s@/]+@[^\s/]+/.test(v),
    },
    elasticsearchPassword: { what: "the Elasticsearch password", check: (v: string) => v.length > 0 },
} as const;
export type SecretKey = keyof typeof SECRET_KEYS;

/** The validated stack config. */
export interface StackConfig {
    environment: string;
    /** Protect the resources whose loss loses a cluster or data (config/protect.ts). */
    protect: boolean;
    rancher?: RancherConfig;
    pool: PoolConfig;
    images: ImagesConfig;
    loaders: LoaderConfig[];
    keda: KedaConfig;
    observability: ObservabilityConfig;
    kubernetes: KubernetesConfig;
    /** Secret values, secret Outputs from here on. */
    secrets: Partial<Record<SecretKey, pulumi.Output<string>>>;
    /** The pool's capacity per host, after reservations. */
    nodes: NodeCapacity[];
    /** Each loader's checked plan, in config order (maxReplicas bounded by `nodes`). */
    loaderPlans: LoaderPlan[];
}

/** `loaders[1].queues` from a zod path. */
export function formatPath(path: readonly PropertyKey[]): string {
    return path
        .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
        .join("");
}

/** The raw value at a zod issue's path, undefined when absent. */
function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
    let cur = raw;
    for (const p of path) {
        if (cur === null || typeof cur !== "object") return undefined;
        cur = (cur as Record<PropertyKey, unknown>)[p];
    }
    return cur;
}

function keyOf(path: string): string {
    return `${PROJECT}:${path}`;
}

/**
 * Reads and validates the whole stack config. Reports every malformed value at once, each with its key
 * and what was expected; then runs the cross-field checks (Rancher/Kubernetes support, capacity bounds).
 */
export function loadConfig(source: ConfigSource): StackConfig {
    const problems: string[] = [];
    const raw: Record<string, unknown> = {};
    for (const key of Object.keys(structuredKeys)) {
        const text = source.get(key);
        if (text === undefined) continue;
        if (source.isSecret(key))
            problems.push(`${keyOf(key)}: expected a plain value; structured keys hold no secrets`);
        try {
            raw[key] = JSON.parse(text);
        } catch {
            // A plain string where an object or list belongs: let the schema say what was expected.
            raw[key] = text;
        }
    }
    const parsed = z.strictObject(structuredKeys).safeParse(raw);
    if (!parsed.success) {
        for (const issue of parsed.error.issues) {
            const where = formatPath(issue.path);
            const missing = issue.code === "invalid_type" && valueAt(raw, issue.path) === undefined;
            problems.push(`${keyOf(where)}: ${missing ? "required, " : ""}${issue.message}`);
        }
    }

    const environment = source.get("environment") ?? "dev";
    const protectText = source.get("protect") ?? "true";
    if (protectText !== "true" && protectText !== "false")
        problems.push(
            `${keyOf("protect")}: expected true or false, e.g. \`pulumi config set protect false\` (got ${protectText})`,
        );
    const cfg = parsed.success ? parsed.data : undefined;
    const required = new Set<SecretKey>();
    // Rendered manifests reference the broker Secret instead of holding it (see KedaScaledLoader.brokerSecret).
    if (cfg && !cfg.kubernetes?.renderYamlToDirectory)
        ["brokerAmqpUrl", "brokerManagementUrl"].forEach((k) => required.add(k as SecretKey));
    // Hosts are reached over SSH to install Rancher, to prepare them, or to register them.
    if (cfg && (cfg.rancher || cfg.pool.prepareHosts !== false || cfg.pool.register !== false))
        required.add("sshPrivateKey");
    if (cfg?.rancher)
        ["rancherBootstrapPassword", "rancherAdminPassword"].forEach((k) => required.add(k as SecretKey));
    if (cfg?.images?.username) required.add("registryPassword");
    if (cfg?.observability?.logs?.username) required.add("elasticsearchPassword");

    const secrets: StackConfig["secrets"] = {};
    for (const [key, spec] of Object.entries(SECRET_KEYS) as [SecretKey, (typeof SECRET_KEYS)[SecretKey]][]) {
        const value = source.get(key);
        if (value === undefined) {
            if (required.has(key)) {
                problems.push(
                    `${keyOf(key)}: required, ${spec.what}; set it with \`pulumi config set --secret ${key}\``,
                );
            }
            continue;
        }
        if (!source.isSecret(key)) {
            problems.push(
                `${keyOf(key)}: expected a secret; set it with \`pulumi config set --secret ${key}\``,
            );
            continue;
        }
        if (!spec.check(value)) {
            problems.push(`${keyOf(key)}: expected ${spec.what} (value not shown)`);
            continue;
        }
        secrets[key] = pulumi.secret(value);
    }
    if (problems.length > 0 || !cfg) throw new ConfigError(problems);

    // Cross-field checks, in the components' own words, keyed by config path.
    const checked = collect(problems, () => crossChecks(cfg));
    if (problems.length > 0 || !checked) throw new ConfigError(problems);
    return {
        environment,
        protect: protectText !== "false",
        rancher: cfg.rancher,
        pool: cfg.pool,
        images: cfg.images ?? {},
        loaders: cfg.loaders,
        keda: cfg.keda ?? {},
        observability: cfg.observability ?? {},
        kubernetes: cfg.kubernetes ?? {},
        secrets,
        nodes: checked.nodes,
        loaderPlans: checked.loaderPlans,
    };
}

function collect<T>(problems: string[], f: () => T): T | undefined {
    try {
        return f();
    } catch (e) {
        if (e instanceof ArgumentError || e instanceof ConfigError) {
            problems.push(...(e instanceof ConfigError ? e.problems : [e.message]));
            return undefined;
        }
        throw e;
    }
}

type Parsed = z.infer<z.ZodObject<typeof structuredKeys>>;

function crossChecks(cfg: Parsed): { nodes: NodeCapacity[]; loaderPlans: LoaderPlan[] } {
    const problems: string[] = [];
    const register = cfg.pool.register ?? true;
    const rancherVersion = cfg.rancher?.version ?? versions.rancher;
    if (cfg.rancher) {
        collect(problems, () =>
            checkRancherSupportsKubernetes(
                rancherVersion,
                cfg.rancher!.k3sVersion ?? versions.k3s,
                keyOf("rancher.k3sVersion"),
            ),
        );
    }
    if (register) {
        if (!cfg.rancher)
            problems.push(`${keyOf("rancher")}: required while pool.register is true (the default)`);
        collect(problems, () =>
            checkRancherSupportsKubernetes(
                rancherVersion,
                cfg.pool.kubernetesVersion ?? versions.rke2,
                keyOf("pool.kubernetesVersion"),
            ),
        );
        for (const role of ["etcd", "controlplane"]) {
            if (!cfg.pool.hosts.some((h) => (h.roles ?? ["worker"]).includes(role as never))) {
                problems.push(
                    `${keyOf("pool.hosts")}: expected at least one host with the ${role} role when registering`,
                );
            }
        }
    }
    collect(problems, () => checkUniqueNames(cfg.pool.hosts, keyOf("pool.hosts")));
    const reservations = collect(problems, () =>
        resolveReservations(cfg.pool.reservations, keyOf("pool.reservations")),
    );
    const nodes = reservations ? cfg.pool.hosts.map((h) => nodeCapacity(h, reservations)) : [];
    const seenLoaders = new Map<string, number>();
    const loaderPlans: LoaderPlan[] = [];
    cfg.loaders.forEach((l, i) => {
        if (seenLoaders.has(l.loader)) {
            problems.push(
                `${keyOf(`loaders[${i}].loader`)}: expected a unique loader type; "${l.loader}" is also loaders[${seenLoaders.get(l.loader)}]`,
            );
        }
        seenLoaders.set(l.loader, i);
        if (!l.packages && !l.image) {
            problems.push(
                `${keyOf(`loaders[${i}].packages`)}: required, expected the pinned packages to build the image from, ` +
                    `or loaders[${i}].image (a prebuilt, digest-pinned image)`,
            );
        }
        if (l.packages && l.image) {
            problems.push(`${keyOf(`loaders[${i}].image`)}: expected either image or packages, not both`);
        }
        const plan = collect(problems, () =>
            planLoader(l, (field) => keyOf(`loaders[${i}].${field}`), reservations ? nodes : undefined),
        );
        if (plan) loaderPlans.push(plan);
    });
    if (cfg.kubernetes?.kubeconfig && cfg.kubernetes.renderYamlToDirectory) {
        problems.push(
            `${keyOf("kubernetes.kubeconfig")}: expected either kubeconfig or renderYamlToDirectory, not both`,
        );
    }
    if (cfg.observability?.logs?.swhNamespaces !== undefined) {
        try {
            new RegExp(cfg.observability.logs.swhNamespaces);
        } catch {
            problems.push(`${keyOf("observability.logs.swhNamespaces")}: expected a regular expression`);
        }
    }
    if (problems.length > 0) throw new ConfigError(problems);
    return { nodes, loaderPlans };
}
