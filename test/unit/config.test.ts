import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { planLoader } from "../../components/keda-scaled-loader/plan";
import { logShippingSpec } from "../../components/observability-stack/logging";
import { PoolHostSpec, planPool } from "../../components/worker-node-pool";
import { ConfigError, ConfigSource, loadConfig } from "../../config";
import { ALL_SECRETS, RANCHER_API_TOKEN } from "../fixtures";
import { FAKE_SECRETS, stackConfig } from "../harness/program";
import { resolve } from "../harness/pulumi";

type Doc = Record<string, unknown>;

/** The staging stack as plain objects, keyed without the project prefix. */
function staging(): Doc {
    return Object.fromEntries(
        Object.entries(stackConfig("Pulumi.staging.yaml")).map(([k, v]) => {
            const key = k.replace(/^elastic-workers:/, "");
            try {
                return [key, JSON.parse(v)];
            } catch {
                return [key, v];
            }
        }),
    );
}

function source(
    doc: Doc,
    secrets: Record<string, string> = FAKE_SECRETS,
    plainSecrets: string[] = [],
): ConfigSource {
    const values: Record<string, string> = {};
    for (const [k, v] of Object.entries(doc))
        if (v !== undefined) values[k] = typeof v === "string" ? v : JSON.stringify(v);
    for (const [k, v] of Object.entries(secrets)) values[k] = v;
    return {
        get: (k) => values[k],
        isSecret: (k) => k in secrets && !plainSecrets.includes(k),
        keys: () => Object.keys(values),
    };
}

/** Sets a value deep in a copy of the doc; `undefined` deletes. */
function set(doc: Doc, path: (string | number)[], value: unknown): Doc {
    const copy = structuredClone(doc);
    let cur: Record<string | number, unknown> = copy;
    for (const p of path.slice(0, -1)) cur = cur[p] as Record<string | number, unknown>;
    const last = path[path.length - 1];
    if (value === undefined) delete cur[last];
    else cur[last] = value;
    return copy;
}

function problemsOf(src: ConfigSource): string[] {
    try {
        loadConfig(src);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${(e as Error).stack}`);
        for (const s of ALL_SECRETS)
            assert.ok(!e.message.includes(s.trim()), "an error message shows a secret");
        return e.problems;
    }
    return [];
}

const host0 = ["pool", "hosts", 0];
const git = ["loaders", 0];

/** [what is wrong, how to make it wrong, the key and words the error must hold]. */
const MALFORMED: [string, (d: Doc) => Doc, RegExp][] = [
    ["pool missing", (d) => set(d, ["pool"], undefined), /^elastic-workers:pool: required/],
    [
        "pool not an object",
        (d) => set(d, ["pool"], "three hosts"),
        /^elastic-workers:pool: .*expected object/,
    ],
    [
        "no hosts",
        (d) => set(d, ["pool", "hosts"], []),
        /^elastic-workers:pool\.hosts: expected at least one host/,
    ],
    [
        "host name with capitals",
        (d) => set(d, [...host0, "name"], "Elastic-Worker0"),
        /^elastic-workers:pool\.hosts\[0\]\.name: expected a DNS-1123 label/,
    ],
    [
        "host without address",
        (d) => set(d, [...host0, "address"], undefined),
        /^elastic-workers:pool\.hosts\[0\]\.address: required/,
    ],
    [
        "address with a space",
        (d) => set(d, [...host0, "address"], "host one"),
        /^elastic-workers:pool\.hosts\[0\]\.address: expected a host name or IP/,
    ],
    [
        "port out of range",
        (d) => set(d, [...host0, "port"], 70000),
        /^elastic-workers:pool\.hosts\[0\]\.port: expected a TCP port/,
    ],
    [
        "port as text",
        (d) => set(d, [...host0, "port"], "22"),
        /^elastic-workers:pool\.hosts\[0\]\.port: expected a TCP port/,
    ],
    [
        "bad user",
        (d) => set(d, [...host0, "user"], "Root User"),
        /^elastic-workers:pool\.hosts\[0\]\.user: expected a Unix user name/,
    ],
    [
        "unknown role",
        (d) => set(d, [...host0, "roles"], ["master"]),
        /^elastic-workers:pool\.hosts\[0\]\.roles\[0\]: .*"etcd"\|"controlplane"\|"worker"/,
    ],
    [
        "empty roles",
        (d) => set(d, [...host0, "roles"], []),
        /^elastic-workers:pool\.hosts\[0\]\.roles: expected at least one role/,
    ],
    ["cpu as words", (d) => set(d, [...host0, "cpu"], "four"), /^elastic-workers:pool\.hosts\[0\]\.cpu: /],
    [
        "memory without unit style",
        (d) => set(d, [...host0, "memory"], "8 GB"),
        /^elastic-workers:pool\.hosts\[0\]\.memory: expected a memory quantity/,
    ],
    [
        "memory missing",
        (d) => set(d, [...host0, "memory"], undefined),
        /^elastic-workers:pool\.hosts\[0\]\.memory: required/,
    ],
    [
        "bad taint effect",
        (d) => set(d, [...host0, "taints"], [{ key: "k", effect: "Never" }]),
        /^elastic-workers:pool\.hosts\[0\]\.taints\[0\]\.effect: /,
    ],
    [
        "bad label value",
        (d) => set(d, ["pool", "hosts", 1, "labels"], { "swh/loader": "yes please" }),
        /^elastic-workers:pool\.hosts\[1\]\.labels\.swh\/loader: expected a label value/,
    ],
    [
        "typo in a host key",
        (d) => set(d, [...host0, "adress"], "x"),
        /^elastic-workers:pool\.hosts\[0\]: Unrecognized key: "adress"/,
    ],
    [
        "duplicate host names",
        (d) => set(d, ["pool", "hosts", 1, "name"], "elastic-worker0"),
        /^elastic-workers:pool\.hosts\[1\]\.name: expected a unique name; "elastic-worker0" is also hosts\[0\]/,
    ],
    [
        "k8s version without distribution",
        (d) => set(d, ["pool", "kubernetesVersion"], "v1.33.4"),
        /^elastic-workers:pool\.kubernetesVersion: expected an RKE2 or k3s version/,
    ],
    [
        "pool Kubernetes outside Rancher's range",
        (d) => set(d, ["pool", "kubernetesVersion"], "v1.29.4+rke2r1"),
        /^elastic-workers:pool\.kubernetesVersion: expected Kubernetes 1\.32-1\.34, the range Rancher 2\.13\.1 supports/,
    ],
    ["unknown CNI", (d) => set(d, ["pool", "cni"], "flannel"), /^elastic-workers:pool\.cni: /],
    [
        "bad reservation",
        (d) => set(d, ["pool", "reservations"], { kubeReserved: { cpu: "lots", memory: "1Gi" } }),
        /^elastic-workers:pool\.reservations\.kubeReserved\.cpu: expected a CPU quantity/,
    ],
    [
        "registering without a control plane",
        (d) => set(d, [...host0, "roles"], ["worker"]),
        /^elastic-workers:pool\.hosts: expected at least one host with the etcd role when registering/,
    ],
    [
        "registering without Rancher",
        (d) => set(d, ["rancher"], undefined),
        /^elastic-workers:rancher: required while pool\.register is true/,
    ],
    [
        "Rancher hostname with a scheme",
        (d) => set(d, ["rancher", "hostname"], "https://rancher.example.org"),
        /^elastic-workers:rancher\.hostname: expected a DNS name/,
    ],
    [
        "the seed's k3s for a too-old Rancher",
        (d) => set(set(d, ["rancher", "version"], "2.5.9"), ["rancher", "k3sVersion"], "v1.22.2+k3s1"),
        /^elastic-workers:rancher\.k3sVersion: expected Kubernetes 1\.17-1\.20, the range Rancher 2\.5\.9 supports \(Kubernetes v1\.22\.2\+k3s1 is outside it/,
    ],
    [
        "a Rancher version outside the matrix, reported on the Rancher version",
        (d) => set(d, ["rancher", "version"], "2.99.0"),
        /^elastic-workers:rancher\.version: expected a Rancher version in the support matrix/,
    ],
    [
        "both a Rancher to install and an existing one",
        (d) => set(d, ["existingRancher"], { apiUrl: "https://rancher.example.org" }),
        /^elastic-workers:existingRancher: expected either rancher \(install one\) or existingRancher \(use one\), not both/,
    ],
    [
        "an existing Rancher over plain http",
        (d) =>
            set(set(d, ["rancher"], undefined), ["existingRancher"], {
                apiUrl: "http://rancher.example.org",
            }),
        /^elastic-workers:existingRancher\.apiUrl: expected the https URL of Rancher, like "https:\/\/rancher\.example\.org"/,
    ],
    [
        "an existing Rancher's token in its URL",
        (d) =>
            set(set(d, ["rancher"], undefined), ["existingRancher"], {
                apiUrl: "https://token-x:pw@rancher.example.org",
            }),
        /^elastic-workers:existingRancher\.apiUrl: expected no credentials in the URL: the token is a secret/,
    ],
    [
        "an existing Rancher too old for the pool's Kubernetes",
        (d) =>
            set(set(d, ["rancher"], undefined), ["existingRancher"], {
                apiUrl: "https://rancher.example.org",
                version: "2.9.3",
            }),
        /^elastic-workers:pool\.kubernetesVersion: expected Kubernetes 1\.27-1\.30, the range Rancher 2\.9\.3 supports/,
    ],
    [
        "a host's memory as a bare number",
        (d) => set(d, [...host0, "memory"], 8),
        /^elastic-workers:pool\.hosts\[0\]\.memory: expected a memory quantity like "512Mi" or "8Gi"; got 8$/,
    ],
    [
        "a loader's memory request as a bare number",
        (d) => set(d, [...git, "requests"], { cpu: "500m", memory: 512 }),
        /^elastic-workers:loaders\[0\]\.requests\.memory: expected a memory quantity like "512Mi" or "8Gi"; got 512$/,
    ],
    [
        "Rancher monitoring and logs shipped by this stack too",
        (d) => set(d, ["observability", "monitoring"], "rancher"),
        /^elastic-workers:observability\.installPrometheus: expected false or unset with monitoring "rancher"/,
    ],
    [
        "Rancher monitoring and a log shipper of ours",
        (d) => set(d, ["observability"], { monitoring: "rancher", logs: { url: "http://es.test:9200" } }),
        /^elastic-workers:observability\.logs: expected unset with monitoring "rancher"/,
    ],
    [
        "k3s version malformed",
        (d) => set(d, ["rancher", "k3sVersion"], "1.33"),
        /^elastic-workers:rancher\.k3sVersion: expected a k3s release/,
    ],
    [
        "unknown flannel backend",
        (d) => set(d, ["rancher", "flannelBackend"], "udp"),
        /^elastic-workers:rancher\.flannelBackend: /,
    ],
    ["no loaders", (d) => set(d, ["loaders"], []), /^elastic-workers:loaders: expected at least one loader/],
    [
        "loaders not a list",
        (d) => set(d, ["loaders"], { git: {} }),
        /^elastic-workers:loaders: .*expected array/,
    ],
    [
        "loader without queues",
        (d) => set(d, [...git, "queues"], []),
        /^elastic-workers:loaders\[0\]\.queues: expected at least one queue/,
    ],
    [
        "queue name with a space",
        (d) => set(d, ["loaders", 1, "queues", 2], "swh loader"),
        /^elastic-workers:loaders\[1\]\.queues\[2\]: expected a RabbitMQ queue name/,
    ],
    [
        "duplicate queue",
        (d) => set(d, [...git, "queues", 1], "swh.loader.git.tasks.UpdateGitRepository"),
        /^elastic-workers:loaders\[0\]\.queues: expected each queue once/,
    ],
    [
        "unpinned package",
        (d) => set(d, [...git, "packages"], ["swh.loader.git"]),
        /^elastic-workers:loaders\[0\]\.packages\[0\]: expected a pinned requirement/,
    ],
    [
        "threshold zero",
        (d) => set(d, [...git, "queueThreshold"], 0),
        /^elastic-workers:loaders\[0\]\.queueThreshold: expected a whole number of at least 1/,
    ],
    [
        "fractional max",
        (d) => set(d, [...git, "maxReplicas"], 2.5),
        /^elastic-workers:loaders\[0\]\.maxReplicas: expected a whole number/,
    ],
    [
        "min above max",
        (d) => set(set(d, [...git, "minReplicas"], 6), [...git, "maxReplicas"], 4),
        /^elastic-workers:loaders\[0\]\.minReplicas: expected at most maxReplicas \(4\)/,
    ],
    [
        "neither packages nor a prebuilt image",
        (d) => set(d, [...git, "packages"], undefined),
        /^elastic-workers:loaders\[0\]\.packages: required, expected the pinned packages .* or loaders\[0\]\.image/,
    ],
    [
        "both packages and a prebuilt image",
        (d) => set(d, [...git, "image"], `docker.io/swh/loader_git@sha256:${"a".repeat(64)}`),
        /^elastic-workers:loaders\[0\]\.image: expected either image or packages, not both/,
    ],
    [
        "prebuilt image by the tag latest, which moves",
        (d) =>
            set(
                set(d, [...git, "packages"], undefined),
                [...git, "image"],
                "docker.io/swh/loader_git:latest",
            ),
        /^elastic-workers:loaders\[0\]\.image: expected a digest-pinned image \(repository@sha256:<64 hex>\) or a tag other than latest/,
    ],
    [
        "a pull Secret of its own for a loader built here",
        (d) => set(d, [...git, "imagePullSecret"], "existing"),
        /^elastic-workers:loaders\[0\]\.imagePullSecret: expected only with a prebuilt image; .*images\.username/,
    ],
    [
        "a pull Secret the config cannot make",
        (d) =>
            set(
                set(set(d, [...git, "packages"], undefined), [...git, "image"], "r.test/swh/loader_git:v1"),
                [...git, "imagePullSecret"],
                "create",
            ),
        /^elastic-workers:loaders\[0\]\.imagePullSecret: .*"existing"/,
    ],
    [
        "prebuilt image without a tag",
        (d) =>
            set(set(d, [...git, "packages"], undefined), [...git, "image"], "127.0.0.1:5055/swh/loader_git"),
        /^elastic-workers:loaders\[0\]\.image: expected a digest-pinned image .* or a tag other than latest/,
    ],
    [
        "warm workers without a floor",
        (d) => set(d, [...git, "scaleToZero"], false),
        /^elastic-workers:loaders\[0\]\.scaleToZero: expected true, or false with minReplicas >= 1/,
    ],
    [
        "kubeconfig and rendering together",
        (d) => set(d, ["kubernetes"], { kubeconfig: "kubeconfig", renderYamlToDirectory: "out" }),
        /^elastic-workers:kubernetes\.kubeconfig: expected either kubeconfig or renderYamlToDirectory, not both/,
    ],
    [
        "request too big for any host",
        (d) =>
            set(set(d, [...git, "requests"], { cpu: "8", memory: "512Mi" }), [...git, "limits"], {
                memory: "1Gi",
            }),
        /^elastic-workers:loaders\[0\]\.requests: expected requests that fit on at least one worker host/,
    ],
    [
        "max above capacity with fail policy",
        (d) => set(set(d, [...git, "maxReplicas"], 64), [...git, "capacityPolicy"], "fail"),
        /^elastic-workers:loaders\[0\]\.maxReplicas: expected at most 10: maxReplicas 64 exceeds/,
    ],
    [
        "grace shorter than the task",
        (d) => set(d, [...git, "terminationGracePeriodSeconds"], 30),
        /^elastic-workers:loaders\[0\]\.terminationGracePeriodSeconds: expected at least taskTimeoutSeconds \(3600\)/,
    ],
    [
        "limit below request",
        (d) => set(d, [...git, "limits"], { memory: "128Mi" }),
        /^elastic-workers:loaders\[0\]\.limits\.memory: expected at least requests\.memory/,
    ],
    [
        "unknown priority",
        (d) => set(d, [...git, "priority"], "urgent"),
        /^elastic-workers:loaders\[0\]\.priority: /,
    ],
    ["unknown mode", (d) => set(d, [...git, "mode"], "cronjob"), /^elastic-workers:loaders\[0\]\.mode: /],
    [
        "duplicate loader",
        (d) => set(d, ["loaders", 1, "loader"], "git"),
        /^elastic-workers:loaders\[1\]\.loader: expected a unique loader type; "git" is also loaders\[0\]/,
    ],
    [
        "typo in a loader key",
        (d) => set(d, [...git, "queus"], ["q"]),
        /^elastic-workers:loaders\[0\]: Unrecognized key: "queus"/,
    ],
    [
        "bad HPA policy",
        (d) =>
            set(d, [...git, "hpaBehavior"], {
                scaleUp: { policies: [{ type: "Nodes", value: 1, periodSeconds: 15 }] },
            }),
        /^elastic-workers:loaders\[0\]\.hpaBehavior\.scaleUp\.policies\[0\]\.type: /,
    ],
    [
        "bad registry",
        (d) => set(d, ["images", "registry"], "https://hub.docker.com"),
        /^elastic-workers:images\.registry: expected a registry host/,
    ],
    [
        "bad release date",
        (d) => set(d, ["images", "releaseDate"], "2026-11-25"),
        /^elastic-workers:images\.releaseDate: expected a date tag/,
    ],
    [
        "logs URL not http",
        (d) => set(d, ["observability", "logs", "url"], "elastic.example.org:9200"),
        /^elastic-workers:observability\.logs\.url: expected an http\(s\) URL of Elasticsearch/,
    ],
    [
        "bad index name",
        (d) => set(d, ["observability", "logs", "swhIndex"], "SWH Logs"),
        /^elastic-workers:observability\.logs\.swhIndex: expected a lower-case Elasticsearch index name/,
    ],
    [
        "unknown top-level-object key",
        (d) => set(d, ["keda", "chart"], "2.21.0"),
        /^elastic-workers:keda: Unrecognized key: "chart"/,
    ],
    // Issue 12's classes of configs that got through in silence.
    [
        "a misspelt top-level key",
        (d) => set(d, ["loader"], []),
        /^elastic-workers:loader: not a key of this stack; did you mean loaders\?/,
    ],
    [
        "a misspelt secret name",
        (d) => set(d, ["brokerAmqpURL"], "amqp://x"),
        /^elastic-workers:brokerAmqpURL: not a key of this stack; did you mean brokerAmqpUrl\?/,
    ],
    [
        "a host address with a scheme",
        (d) => set(d, [...host0, "address"], "ssh://192.0.2.10"),
        /^elastic-workers:pool\.hosts\[0\]\.address: expected a host name or IP address, like/,
    ],
    [
        "a host address with a port",
        (d) => set(d, [...host0, "address"], "192.0.2.10:22"),
        /^elastic-workers:pool\.hosts\[0\]\.address: expected a host name or IP address/,
    ],
    [
        "a host address with an invisible character",
        (d) => set(d, [...host0, "address"], "worker0\u200b.example.org"),
        /^elastic-workers:pool\.hosts\[0\]\.address: expected a host name or IP address/,
    ],
    [
        "two pool hosts at one address",
        (d) => set(d, ["pool", "hosts", 1, "address"], "elastic-worker0.internal.staging.swh.network"),
        /^elastic-workers:pool\.hosts\[1\]\.address: expected a host of its own; "elastic-worker0\.internal\.staging\.swh\.network" is also hosts\[0\]/,
    ],
    [
        "the Rancher host in the pool",
        (d) =>
            set(
                d,
                ["pool", "hosts", 2, "address"],
                "rancher-node-staging-rke2-mgmt1.internal.staging.swh.network",
            ),
        /^elastic-workers:pool\.hosts\[2\]\.address: expected a host apart from the Rancher server's/,
    ],
    [
        "a host smaller than its reservations",
        (d) => set(d, ["pool", "hosts", 1, "cpu"], 1),
        /^elastic-workers:pool\.hosts\[1\]\.cpu: expected more than the 1 the kubelet reserves/,
    ],
    [
        "replicas past Kubernetes' int32",
        (d) => set(d, [...git, "maxReplicas"], 3000000000),
        /^elastic-workers:loaders\[0\]\.maxReplicas: expected at most 2147483647/,
    ],
    [
        "a label key longer than Kubernetes takes",
        (d) => set(d, ["pool", "hosts", 1, "labels"], { ["k".repeat(64)]: "v" }),
        /^elastic-workers:pool\.hosts\[1\]\.labels\.k+: expected a label key/,
    ],
    [
        "two loaders in one namespace",
        (d) => set(d, ["loaders", 1, "namespace"], "swh-loader-git"),
        /^elastic-workers:loaders\[1\]\.namespace: expected a namespace of the loader's own; "swh-loader-git" is also loaders\[0\]'s/,
    ],
    [
        "a loader in kube-system",
        (d) => set(d, [...git, "namespace"], "kube-system"),
        /^elastic-workers:loaders\[0\]\.namespace: expected a namespace of the loader's own; "kube-system" is Kubernetes'/,
    ],
    [
        "a loader in KEDA's namespace",
        (d) => set(d, [...git, "namespace"], "keda"),
        /^elastic-workers:loaders\[0\]\.namespace: .*"keda" is KEDA's \(keda\.namespace\)/,
    ],
    [
        "one queue consumed by two loaders",
        (d) => set(d, ["loaders", 1, "queues"], ["swh.loader.git.tasks.UpdateGitRepository"]),
        /^elastic-workers:loaders\[1\]\.queues: expected queues no other loader consumes; "swh\.loader\.git\.tasks\.UpdateGitRepository" is also loaders\[0\]'s/,
    ],
    [
        "a password in a worker config URL",
        (d) =>
            set(d, [...git, "workerConfig"], {
                storage: { cls: "remote", url: "http://swh:pw@storage:5002/" },
            }),
        /^elastic-workers:loaders\[0\]\.workerConfig\.storage\.url: expected no credentials in a URL/,
    ],
    [
        "a CA bundle file that does not exist",
        (d) => set(d, ["images", "pipCaBundle"], "certs/missing.pem"),
        /^elastic-workers:images\.pipCaBundle: expected a readable PEM file; certs\/missing\.pem does not exist/,
    ],
];

describe("stack config validation", () => {
    it("loads the staging stack with its secrets as secret Outputs", async () => {
        const cfg = loadConfig(source(staging()));
        assert.equal(cfg.environment, "staging");
        assert.deepEqual(
            cfg.loaders.map((l) => l.loader),
            ["git", "svn", "mercurial", "save-code-now", "add-forge-now"],
        );
        // The loaders' arguments carry the pool's capacity: the staging git loader's 10 is bounded to 8.
        const {
            brokerSecret: _mode,
            amqpUrl: _amqp,
            managementUrl: _mgmt,
            sentryDsn: _dsn,
            sentryEnvironment: _env,
            imagePullSecret,
            registry,
            capacity,
            ...git
        } = cfg.loaders[0].scaled;
        assert.equal(planLoader(git, (f) => f, capacity).maxReplicas, 8);
        // The pods pull the image pushed with images.username, with the same login (a pull Secret per loader).
        assert.equal(imagePullSecret, "create");
        assert.equal(registry?.server, "docker.io");
        assert.equal(registry?.username, "swhbot");
        const password = await resolve(pulumi.output(registry!.password));
        assert.deepEqual(password, { value: FAKE_SECRETS.registryPassword, secret: true });
        for (const k of Object.keys(FAKE_SECRETS) as (keyof typeof cfg.secrets)[]) {
            const s = await resolve(cfg.secrets[k]!);
            assert.equal(s.secret, true, k);
            assert.equal(s.value, FAKE_SECRETS[k]);
        }
    });

    it(`rejects ${MALFORMED.length} malformed configs, each with its key and what was expected`, () => {
        assert.ok(MALFORMED.length >= 40);
        const base = staging();
        const failures: string[] = [];
        for (const [what, mutate, expected] of MALFORMED) {
            const problems = problemsOf(source(mutate(base)));
            if (!problems.some((p) => expected.test(p)))
                failures.push(`${what}: wanted ${expected}, got ${JSON.stringify(problems)}`);
        }
        assert.deepEqual(failures, []);
    });

    it("references the loaders' Secrets, broker and image pull, when manifests are rendered to files", () => {
        const cfg = loadConfig(source(set(staging(), ["kubernetes"], { renderYamlToDirectory: "out" })));
        for (const l of cfg.loaders) {
            assert.equal(l.scaled.brokerSecret, "existing", l.loader);
            assert.equal(l.scaled.imagePullSecret, l.build ? "existing" : undefined, l.loader);
        }
        assert.ok(cfg.loaders.some((l) => l.build));
    });

    it("pulls a prebuilt private image with the Secret made out of band, and a public one with none", () => {
        const prebuilt = `r.test/swh/loader_git@sha256:${"a".repeat(64)}`;
        const asPrebuilt = (d: Doc) =>
            set(set(d, [...git, "packages"], undefined), [...git, "image"], prebuilt);
        const [withSecret] = loadConfig(
            source(set(asPrebuilt(staging()), [...git, "imagePullSecret"], "existing")),
        ).loaders;
        assert.equal(withSecret.prebuiltImage, prebuilt);
        assert.equal(withSecret.scaled.imagePullSecret, "existing");
        assert.equal(withSecret.scaled.registry, undefined, "no credentials: the Secret is made out of band");
        const [publicImage] = loadConfig(source(asPrebuilt(staging()))).loaders;
        assert.equal(publicImage.scaled.imagePullSecret, undefined);
    });

    it("reports every problem at once", () => {
        let d = set(staging(), [...host0, "port"], 0);
        d = set(d, [...git, "queueThreshold"], -1);
        d = set(d, ["images", "releaseDate"], "today");
        const problems = problemsOf(source(d));
        assert.equal(problems.length, 3, JSON.stringify(problems));
    });

    const secretCases: [string, Record<string, string>, string[], RegExp][] = [
        [
            "a missing broker URL",
            { ...FAKE_SECRETS, brokerAmqpUrl: undefined as never },
            [],
            /^elastic-workers:brokerAmqpUrl: required, the Celery broker URL.*pulumi config set --secret brokerAmqpUrl/,
        ],
        [
            "a password set in plain text",
            FAKE_SECRETS,
            ["rancherAdminPassword"],
            /^elastic-workers:rancherAdminPassword: expected a secret; set it with `pulumi config set --secret rancherAdminPassword`/,
        ],
        [
            "a broker URL without credentials",
            { ...FAKE_SECRETS, brokerManagementUrl: "http://rabbitmq:15672" },
            [],
            /^elastic-workers:brokerManagementUrl: expected the RabbitMQ management API URL.*\(value not shown\)/,
        ],
        [
            "an AMQP URL of the wrong scheme",
            { ...FAKE_SECRETS, brokerAmqpUrl: "redis://u:p@h:6379" },
            [],
            /^elastic-workers:brokerAmqpUrl: expected the Celery broker URL/,
        ],
        [
            "a short bootstrap password",
            { ...FAKE_SECRETS, rancherBootstrapPassword: "admin" },
            [],
            /^elastic-workers:rancherBootstrapPassword: expected Rancher's bootstrap password, 12\+ characters \(value not shown\)/,
        ],
        [
            "a key that is not a private key",
            { ...FAKE_SECRETS, sshPrivateKey: "ssh-ed25519 AAAA" },
            [],
            /^elastic-workers:sshPrivateKey: expected an OpenSSH private key/,
        ],
        [
            "no registry password with a user",
            { ...FAKE_SECRETS, registryPassword: undefined as never },
            [],
            /^elastic-workers:registryPassword: required/,
        ],
        [
            "no Elasticsearch password with a user",
            { ...FAKE_SECRETS, elasticsearchPassword: undefined as never },
            [],
            /^elastic-workers:elasticsearchPassword: required/,
        ],
    ];
    for (const [what, secrets, plain, expected] of secretCases) {
        it(`rejects ${what} without showing it`, () => {
            const clean = Object.fromEntries(Object.entries(secrets).filter(([, v]) => v !== undefined));
            const problems = problemsOf(source(staging(), clean, plain));
            assert.ok(
                problems.some((p) => expected.test(p)),
                JSON.stringify(problems),
            );
            assert.ok(
                !problems.join("\n").includes("http://rabbitmq:15672") &&
                    !problems.join("\n").includes("redis://u:p"),
            );
        });
    }

    describe("an existing Rancher (SWH's) instead of one to install", () => {
        const existing = () =>
            set(set(staging(), ["rancher"], undefined), ["existingRancher"], {
                apiUrl: "https://rancher.example.org",
                version: "2.13.1",
            });
        const withToken = { ...FAKE_SECRETS, rancherApiToken: RANCHER_API_TOKEN };

        it("passes its API URL on with the token, kept secret, and installs no Rancher", async () => {
            const cfg = loadConfig(source(existing(), withToken));
            assert.equal(cfg.rancher, undefined);
            assert.equal(cfg.existingRancher?.apiUrl, "https://rancher.example.org");
            const token = await resolve(cfg.existingRancher!.token);
            assert.deepEqual(token, { value: RANCHER_API_TOKEN, secret: true });
        });

        it("requires the token, as a secret", () => {
            assert.deepEqual(problemsOf(source(existing())), [
                "elastic-workers:rancherApiToken: required, a Rancher API token (token-xxxxx:secret) of the " +
                    "existing Rancher, allowed to create clusters; set it with `pulumi config set --secret rancherApiToken`",
            ]);
            assert.deepEqual(problemsOf(source(existing(), withToken, ["rancherApiToken"])), [
                "elastic-workers:rancherApiToken: expected a secret; set it with `pulumi config set --secret rancherApiToken`",
            ]);
        });
    });

    describe("one setting, one source (drifts between config and components, now fixed)", () => {
        it("KEDA's namespace reaches the ObservabilityStack's ServiceMonitors", () => {
            const cfg = loadConfig(source(set(staging(), ["keda"], { namespace: "keda-system" })));
            assert.equal(cfg.keda.namespace, "keda-system");
            assert.equal(cfg.observability?.kedaNamespace, "keda-system");
            assert.equal(
                loadConfig(source(staging())).observability?.kedaNamespace,
                "keda",
                "the component's default",
            );
        });

        it("the Rancher server's readyTimeoutSeconds and reservations can be set", () => {
            let d = set(staging(), ["rancher", "readyTimeoutSeconds"], 900);
            d = set(d, ["rancher", "reservations"], { evictionHardMemory: "300Mi" });
            const cfg = loadConfig(source(d));
            assert.equal(cfg.rancher?.readyTimeoutSeconds, 900);
            assert.equal(cfg.rancher?.reservations?.evictionHardMemory, "300Mi");
            assert.deepEqual(problemsOf(source(set(staging(), ["rancher", "readyTimeoutSeconds"], 0))), [
                "elastic-workers:rancher.readyTimeoutSeconds: expected a whole number of at least 1; got 0",
            ]);
        });

        it("a pool that registers needs etcd and controlplane hosts, in the component as in the config", () => {
            const hosts = [
                {
                    name: "cp",
                    address: "192.0.2.1",
                    roles: ["controlplane", "worker"],
                    cpu: 4,
                    memory: "8Gi",
                },
            ];
            assert.throws(
                () => planPool("pool", { hosts: hosts as PoolHostSpec[] }),
                /WorkerNodePool "pool": args\.hosts: expected at least one host with the etcd role when registering/,
            );
            assert.doesNotThrow(() => planPool("pool", { hosts: hosts as PoolHostSpec[], register: false }));
        });

        it("defaults are the components' own: the config adds none", () => {
            const cfg = loadConfig(source(set(staging(), ["pool", "hosts", 1, "roles"], undefined)));
            assert.equal(cfg.pool.drainTimeoutSeconds, 3600);
            assert.deepEqual(cfg.pool.hosts[1].roles, ["worker"]);
            assert.equal(cfg.observability?.namespace, "swh-monitoring");
            assert.equal(cfg.loaders[0].build?.repository, "softwareheritage/loader_git");
        });
    });

    it("never shows a password found in a URL, in the config's errors or a component's", () => {
        const d = set(staging(), ["observability", "logs", "url"], "http://swh:Pa55-in-url@es:9200");
        const problems = problemsOf(source(d));
        assert.ok(
            problems.some((p) =>
                /observability\.logs\.url: expected an http\(s\) URL without credentials/.test(p),
            ),
        );
        assert.ok(!problems.join("\n").includes("Pa55-in-url"), problems.join("\n"));
        assert.throws(
            () => logShippingSpec({ url: "http://swh:Pa55-in-url@es:9200" }, (f) => `obs.${f}`),
            (e: Error) =>
                /without credentials.*got "http:\/\/swh:\*\*\*@es:9200"/.test(e.message) &&
                !e.message.includes("Pa55"),
        );
    });

    it("refuses a structured key set as a secret", () => {
        const src = source(staging());
        const problems = problemsOf({ ...src, isSecret: (k) => k === "loaders" || src.isSecret(k) });
        assert.ok(problems.some((p) => /^elastic-workers:loaders: expected a plain value/.test(p)));
    });

    it("a config error prints as a message, without a stack trace", () => {
        try {
            loadConfig(source(set(staging(), [...git, "queues"], [])));
            assert.fail("should throw");
        } catch (e) {
            assert.equal(
                (e as { __pulumiRunError?: boolean }).__pulumiRunError,
                true,
                "a pulumi RunError: the engine hides the stack",
            );
            assert.match(
                (e as Error).message,
                /^invalid stack config:\n {2}- elastic-workers:loaders\[0\]\.queues: /,
            );
        }
    });
});
