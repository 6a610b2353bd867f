import * as pulumi from "@pulumi/pulumi";
import { closest, distance } from "fastest-levenshtein";
import * as fs from "fs";
import * as path from "path";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { z } from "zod";
import { ArgumentError } from "../components/common/errors";
import { formatPath, issueText, subKey } from "../components/common/schema";
import {
    KedaOperatorArgs,
    KedaScaledLoaderArgs,
    LoaderPlan,
    planLoader,
} from "../components/keda-scaled-loader";
import { LoaderImageArgs } from "../components/loader-image/args";
import { ObservabilityStackArgs } from "../components/observability-stack/args";
import { planObservability } from "../components/observability-stack/plan";
import {
    RancherServerArgs,
    checkRancherSupportsKubernetes,
    planRancherServer,
} from "../components/rancher-server";
import { NodeCapacity, WorkerNodePoolArgs, planPool } from "../components/worker-node-pool";
import { StructuredConfig, programKeys, structuredSchema } from "./schema";

/** The project directory: relative paths in the config (kubernetes.kubeconfig) are relative to it. */
export const PROJECT_DIR = path.resolve(__dirname, "..");

/** The Pulumi project name, the namespace of every config key. */
export const PROJECT = "elastic-workers";

/** Where config values come from: the engine's config in a program, a plain map in tests. */
export interface ConfigSource {
    /** The raw value of `elastic-workers:<key>` (objects and arrays as JSON text), or undefined. */
    get(key: string): string | undefined;
    /** Whether `elastic-workers:<key>` was set as a secret. */
    isSecret(key: string): boolean;
    /** Every `elastic-workers:` key the stack sets, without the prefix (to refuse misspelt ones). */
    keys(): string[];
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
        keys: () =>
            Object.keys(runtimeConfig.allConfig())
                .filter((k) => k.startsWith(`${PROJECT}:`))
                .map((k) => k.slice(PROJECT.length + 1)),
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
    rancherApiToken: {
        what: "a Rancher API token (token-xxxxx:secret) of the existing Rancher, allowed to create clusters",
        check: (v: string) => /^[^\s:]+:\S+$/.test(v),
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
    sentryDsn: {
        what: "a Sentry DSN, https://<key>@<host>/<project id>; loaders then report task errors to it",
        check: (v: string) => /^https?:\/\/[^\s@/]+@[^\s/]+(\/[^\s]*)?\/\d+$/.test(v),
    },
} as const;
export type SecretKey = keyof typeof SECRET_KEYS;

/** One loader: how its image is had (built, or prebuilt) and the KedaScaledLoader that runs it. */
export interface LoaderArgs {
    loader: string;
    /** LoaderImage arguments, when the image is built from pinned packages. */
    build?: LoaderImageArgs;
    /** The prebuilt, digest-pinned image, when one is given instead. */
    prebuiltImage?: string;
    /** KedaScaledLoader arguments, but for the image (the build's or the prebuilt one) and the operator. */
    scaled: Omit<KedaScaledLoaderArgs, "image" | "kedaOperator">;
}

/** The validated stack config, as the components' arguments: index.ts passes them on. */
export interface StackConfig {
    environment: string;
    /** Protect the resources whose loss loses a cluster or data (config/protect.ts). */
    protect: boolean;
    /** Undefined when this stack manages no Rancher. */
    rancher?: RancherServerArgs;
    /** A Rancher that already runs, with its API token; undefined unless existingRancher is set. */
    existingRancher?: { apiUrl: string; caCerts?: string; token: pulumi.Output<string> };
    pool: WorkerNodePoolArgs;
    keda: KedaOperatorArgs;
    /** Undefined when observability.enabled is false. */
    observability?: ObservabilityStackArgs;
    loaders: LoaderArgs[];
    kubernetes: StructuredConfig["kubernetes"];
    /** Secret values, secret Outputs from here on. */
    secrets: Partial<Record<SecretKey, pulumi.Output<string>>>;
}

/** `elastic-workers:<path>`. */
export function keyOf(path: string): string {
    return `${PROJECT}:${path}`;
}

/** Names a component's field by its config key: `pool` + `hosts[0].name` → `elastic-workers:pool.hosts[0].name`. */
function under(prefix: string): (field: string) => string {
    return subKey(keyOf(prefix));
}

/**
 * Reads and validates the whole stack config. Reports every malformed value at once, each with its key
 * and what was expected; then runs the cross-field checks (Rancher/Kubernetes support, capacity bounds).
 */
export function loadConfig(source: ConfigSource): StackConfig {
    const problems: string[] = unknownKeys(source.keys());
    const raw: Record<string, unknown> = {};
    for (const key of Object.keys(structuredSchema.shape)) {
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
    const parsed = structuredSchema.safeParse(raw);
    if (!parsed.success) {
        for (const issue of parsed.error.issues) {
            problems.push(`${keyOf(formatPath(issue.path))}: ${issueText(issue, raw)}`);
        }
    }
    const program = programKeys.safeParse(
        Object.fromEntries(Object.keys(programKeys.shape).map((k) => [k, source.get(k)])),
    );
    if (!program.success) {
        for (const issue of program.error.issues)
            problems.push(`${keyOf(formatPath(issue.path))}: ${issue.message}`);
    }
    const cfg = parsed.success ? parsed.data : undefined;
    const required = new Set<SecretKey>();
    // Rendered manifests reference the broker Secret instead of holding it (see KedaScaledLoader.brokerSecret).
    if (cfg && !cfg.kubernetes.renderYamlToDirectory) {
        required.add("brokerAmqpUrl");
        required.add("brokerManagementUrl");
    }
    // Hosts are reached over SSH to install Rancher, to prepare them, or to register them.
    if (cfg && (cfg.rancher || cfg.pool.prepareHosts || cfg.pool.register)) required.add("sshPrivateKey");
    if (cfg?.rancher) {
        required.add("rancherBootstrapPassword");
        required.add("rancherAdminPassword");
    }
    if (cfg?.existingRancher) required.add("rancherApiToken");
    if (cfg?.images.username) required.add("registryPassword");
    if (cfg?.observability.logs?.username) required.add("elasticsearchPassword");

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
    // Cross-field checks, in the components' own words, keyed by config path: reported with the rest, at once.
    const nodes = cfg ? crossChecks(cfg, problems) : undefined;
    if (problems.length > 0 || !cfg || !program.success || !nodes) throw new ConfigError(problems);
    return componentArgs(cfg, program.data, secrets, nodes);
}

/** Every key the stack config has: the program's, the structured ones and the secrets. */
export const KNOWN_KEYS = [
    ...Object.keys(programKeys.shape),
    ...Object.keys(structuredSchema.shape),
    ...Object.keys(SECRET_KEYS),
];

/** A problem for each key this program does not read, with the nearest known key: a misspelt one is silent otherwise. */
export function unknownKeys(keys: string[]): string[] {
    return keys
        .filter((k) => !KNOWN_KEYS.includes(k))
        .map((k) => {
            const near = closest(k, KNOWN_KEYS);
            const hint =
                distance(k.toLowerCase(), near.toLowerCase()) <= Math.max(2, near.length / 3)
                    ? `; did you mean ${near}?`
                    : "";
            return `${keyOf(k)}: not a key of this stack${hint} (the keys: docs/config.md)`;
        });
}

/** The components' arguments from the parsed config and the secrets (present wherever required). */
function componentArgs(
    cfg: StructuredConfig,
    program: z.output<typeof programKeys>,
    secrets: StackConfig["secrets"],
    nodes: NodeCapacity[],
): StackConfig {
    const sshPrivateKey = secrets.sshPrivateKey ?? "";
    // Every image setting passes on to each loader's LoaderImage, but the repository namespace (it makes the
    // repository) and the base image (a loader may have its own).
    const { namespace, baseImage, ...imageSettings } = cfg.images;
    const { enabled, ...observability } = cfg.observability;
    // Rendered manifests would hold secret values in plain text: then the loaders' Secrets are made out of band.
    const secretMode = cfg.kubernetes.renderYamlToDirectory ? "existing" : "create";
    return {
        environment: program.environment,
        protect: program.protect,
        rancher: cfg.rancher && {
            ...cfg.rancher,
            sshPrivateKey,
            bootstrapPassword: secrets.rancherBootstrapPassword!,
            adminPassword: secrets.rancherAdminPassword!,
        },
        existingRancher: cfg.existingRancher && {
            apiUrl: cfg.existingRancher.apiUrl,
            caCerts: cfg.existingRancher.caCerts,
            token: secrets.rancherApiToken!,
        },
        pool: { ...cfg.pool, sshPrivateKey },
        keda: cfg.keda,
        observability: enabled
            ? {
                  ...observability,
                  kedaNamespace: cfg.keda.namespace,
                  elasticsearchPassword: secrets.elasticsearchPassword,
              }
            : undefined,
        loaders: cfg.loaders
            .map(splitLoader)
            .map(({ packages, image, baseImage: ownBase, imagePullSecret, settings }) => ({
                loader: settings.loader,
                prebuiltImage: image,
                build: packages && {
                    loader: settings.loader,
                    packages,
                    ...imageSettings,
                    baseImage: ownBase ?? baseImage,
                    repository: `${namespace}/loader_${settings.loader}`,
                    password: secrets.registryPassword,
                },
                scaled: {
                    ...settings,
                    brokerSecret: secretMode,
                    // The pods pull what was pushed with the registry's login, with the same credentials; a
                    // prebuilt image from a private registry, with a Secret made out of band ("existing").
                    ...(packages && imageSettings.username !== undefined
                        ? {
                              imagePullSecret: secretMode,
                              registry: {
                                  server: imageSettings.registry,
                                  username: imageSettings.username,
                                  password: secrets.registryPassword!,
                              },
                          }
                        : { imagePullSecret }),
                    amqpUrl: secrets.brokerAmqpUrl,
                    managementUrl: secrets.brokerManagementUrl,
                    sentryDsn: secrets.sentryDsn,
                    sentryEnvironment: secrets.sentryDsn ? program.environment : undefined,
                    capacity: nodes,
                },
            })),
        kubernetes: cfg.kubernetes,
        secrets,
    };
}

/**
 * A loader entry's stack-only keys (how its image is had and pulled) apart from its KedaScaledLoader settings:
 * the one place that knows which keys the stack adds to the component's.
 */
function splitLoader({
    packages,
    image,
    baseImage,
    imagePullSecret,
    ...settings
}: StructuredConfig["loaders"][number]) {
    return { packages, image, baseImage, imagePullSecret, settings };
}

/**
 * A stack file's loader entry as read from its YAML, unchecked: its KedaScaledLoader settings (splitLoader's),
 * for the tools that read stack files (the box, the benchmark). Taking only the keys apart needs no check.
 */
export function loaderSettings(entry: Record<string, unknown>): Record<string, unknown> {
    return splitLoader(entry as StructuredConfig["loaders"][number]).settings;
}

/** Namespaces a loader must not take: the cluster's own, Rancher's, and the stack's other components'. */
function reservedNamespaces(cfg: StructuredConfig): Map<string, string> {
    return new Map([
        ...["default", "kube-system", "kube-public", "kube-node-lease"].map((n): [string, string] => [
            n,
            "Kubernetes'",
        ]),
        ...["cattle-system", "cattle-monitoring-system", "cattle-dashboards", "cert-manager"].map(
            (n): [string, string] => [n, "Rancher's"],
        ),
        [cfg.keda.namespace, "KEDA's (keda.namespace)"],
        [cfg.observability.namespace, "the ObservabilityStack's (observability.namespace)"],
    ]);
}

/** What loaders share: a namespace each (none of the system's), and each queue consumed by one loader. */
function sharedResourceProblems(cfg: StructuredConfig, plans: [number, LoaderPlan][]): string[] {
    const problems: string[] = [];
    const reserved = reservedNamespaces(cfg);
    const namespaces = new Map<string, number>();
    const queues = new Map<string, number>();
    for (const [i, plan] of plans) {
        const owner = reserved.get(plan.namespace);
        const first = namespaces.get(plan.namespace);
        if (owner) {
            problems.push(
                `${keyOf(`loaders[${i}].namespace`)}: expected a namespace of the loader's own; "${plan.namespace}" is ${owner}`,
            );
        } else if (first !== undefined) {
            problems.push(
                `${keyOf(`loaders[${i}].namespace`)}: expected a namespace of the loader's own; "${plan.namespace}" is also loaders[${first}]'s`,
            );
        }
        namespaces.set(plan.namespace, i);
        for (const q of plan.queues) {
            const other = queues.get(q);
            if (other !== undefined && other !== i) {
                problems.push(
                    `${keyOf(`loaders[${i}].queues`)}: expected queues no other loader consumes; "${q}" is also loaders[${other}]'s (both would scale on one backlog)`,
                );
            }
            queues.set(q, i);
        }
    }
    return problems;
}

/** Runs `f`, turning an ArgumentError into a problem; undefined when it threw one. */
function collect<T>(problems: string[], f: () => T): T | undefined {
    try {
        return f();
    } catch (e) {
        if (e instanceof ArgumentError) {
            problems.push(e.message);
            return undefined;
        }
        throw e;
    }
}

/**
 * The rules across keys, each component's own checks under config keys, and the stack's own rules: adds to
 * `problems`, and returns the pool's capacity when the pool itself is valid.
 */
function crossChecks(cfg: StructuredConfig, problems: string[]): NodeCapacity[] | undefined {
    if (cfg.rancher) collect(problems, () => planRancherServer("rancher", cfg.rancher!, under("rancher")));
    if (cfg.observability.enabled) {
        collect(problems, () => planObservability(cfg.observability, under("observability")));
    }
    const pool = collect(problems, () => planPool("pool", cfg.pool, under("pool")));
    if (cfg.rancher && cfg.existingRancher) {
        problems.push(
            `${keyOf("existingRancher")}: expected either rancher (install one) or existingRancher (use one), not both`,
        );
    } else if (cfg.pool.register && !cfg.rancher && !cfg.existingRancher) {
        problems.push(
            `${keyOf("rancher")}: required while pool.register is true (the default), or existingRancher ` +
                '(e.g. {"apiUrl": "https://rancher.example.org"} and the secret rancherApiToken)',
        );
    }
    // The pool's Kubernetes must be one the Rancher it registers into supports (T3592's first failure).
    const rancherVersion = cfg.rancher
        ? { version: cfg.rancher.version, key: "rancher.version" }
        : cfg.existingRancher?.version && {
              version: cfg.existingRancher.version,
              key: "existingRancher.version",
          };
    if (cfg.pool.register && rancherVersion) {
        collect(problems, () =>
            checkRancherSupportsKubernetes(rancherVersion.version, cfg.pool.kubernetesVersion, {
                rancher: keyOf(rancherVersion.key),
                kubernetes: keyOf("pool.kubernetesVersion"),
            }),
        );
    }
    const seenLoaders = new Map<string, number>();
    const plans: [number, LoaderPlan][] = [];
    cfg.loaders.map(splitLoader).forEach(({ packages, image, imagePullSecret, settings }, i) => {
        const first = seenLoaders.get(settings.loader);
        if (first !== undefined) {
            problems.push(
                `${keyOf(`loaders[${i}].loader`)}: expected a unique loader type; "${settings.loader}" is also loaders[${first}]`,
            );
        }
        seenLoaders.set(settings.loader, i);
        if (!packages && !image) {
            problems.push(
                `${keyOf(`loaders[${i}].packages`)}: required, expected the pinned packages to build the image from, ` +
                    `or loaders[${i}].image (a prebuilt, digest-pinned image)`,
            );
        }
        if (packages && image) {
            problems.push(`${keyOf(`loaders[${i}].image`)}: expected either image or packages, not both`);
        }
        if (packages && imagePullSecret) {
            problems.push(
                `${keyOf(`loaders[${i}].imagePullSecret`)}: expected only with a prebuilt image; a loader built ` +
                    "here pulls with the login it was pushed with (images.username), e.g. remove the key",
            );
        }
        const plan = collect(problems, () => planLoader(settings, under(`loaders[${i}]`), pool?.nodes));
        if (plan) plans.push([i, plan]);
    });
    problems.push(...sharedResourceProblems(cfg, plans));
    if (
        cfg.images.pipCaBundle !== undefined &&
        !fs.existsSync(path.resolve(PROJECT_DIR, cfg.images.pipCaBundle))
    ) {
        problems.push(
            `${keyOf("images.pipCaBundle")}: expected a readable PEM file; ${cfg.images.pipCaBundle} does not exist`,
        );
    }
    const rancherAddress = cfg.rancher?.host.address;
    cfg.pool.hosts.forEach((h, i) => {
        if (
            typeof rancherAddress === "string" &&
            typeof h.address === "string" &&
            h.address === rancherAddress
        ) {
            problems.push(
                `${keyOf(`pool.hosts[${i}].address`)}: expected a host apart from the Rancher server's; "${h.address}" is rancher.host`,
            );
        }
    });
    if (cfg.kubernetes.kubeconfig && cfg.kubernetes.renderYamlToDirectory) {
        problems.push(
            `${keyOf("kubernetes.kubeconfig")}: expected either kubeconfig or renderYamlToDirectory, not both`,
        );
    } else if (cfg.kubernetes.kubeconfig) {
        // Checked here, before any resource is declared, rather than when the provider is made.
        const file = path.resolve(PROJECT_DIR, cfg.kubernetes.kubeconfig);
        if (!fs.existsSync(file)) {
            problems.push(
                `${keyOf("kubernetes.kubeconfig")}: expected a readable kubeconfig file; ${file} does not exist`,
            );
        }
    }
    return pool?.nodes;
}
