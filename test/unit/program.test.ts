import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ALL_SECRETS, RANCHER_API_TOKEN, SENTRY_DSN } from "../fixtures";
import { FAKE_SECRETS, runProgram, stackConfig } from "../harness/program";
import { REGISTRY_IMAGE_TOKEN, isSecretAt, plainStrings, registryImage, resolve } from "../harness/pulumi";
import { gvkOfType, validateObject } from "../harness/schemas";

describe("the stack program (index.ts) on the staging config, under mocks", function () {
    this.timeout(60000);
    let run: Awaited<ReturnType<typeof runProgram>>;
    before(async () => {
        run = await runProgram(stackConfig("Pulumi.staging.yaml"));
    });

    it("emits only Kubernetes objects valid against the real Kubernetes, KEDA and prometheus-operator schemas", () => {
        let checked = 0;
        const kinds = new Set<string>();
        for (const r of run.recorder.resources) {
            if (!r.type.startsWith("kubernetes:") || r.type === "pulumi:providers:kubernetes") continue;
            const gvk = gvkOfType(r.type);
            const obj = gvk ? { ...gvk, ...r.inputs } : r.inputs;
            if (r.type === "kubernetes:helm.sh/v3:Release") continue;
            assert.doesNotThrow(() => validateObject(obj), `${r.name} (${obj.apiVersion}/${obj.kind})`);
            kinds.add(`${obj.apiVersion}/${obj.kind}`);
            checked++;
        }
        for (const k of [
            "apps/v1/Deployment",
            "v1/Secret",
            "v1/ConfigMap",
            "keda.sh/v1alpha1/ScaledObject",
            "keda.sh/v1alpha1/TriggerAuthentication",
            "monitoring.coreos.com/v1/ServiceMonitor",
            "monitoring.coreos.com/v1/PrometheusRule",
            "apps/v1/DaemonSet",
            "scheduling.k8s.io/v1/PriorityClass",
        ]) {
            assert.ok(kinds.has(k), `the program emits a ${k}`);
        }
        assert.ok(checked >= 30, `validated ${checked} objects`);
    });

    it("deploys one ScaledObject per loader with one RabbitMQ trigger per queue, bounded by the pool", async () => {
        const sos = run.recorder.ofType("kubernetes:keda.sh/v1alpha1:ScaledObject");
        assert.deepEqual(sos.map((s) => s.inputs.metadata.name).sort(), [
            "loader-add-forge-now",
            "loader-git",
            "loader-mercurial",
            "loader-save-code-now",
            "loader-svn",
        ]);
        const git = sos.find((s) => s.inputs.metadata.name === "loader-git")!.inputs;
        // Save code now runs apart from the bulk loaders: its own queues, a warm worker, high priority.
        const scn = sos.find((s) => s.inputs.metadata.name === "loader-save-code-now")!.inputs;
        assert.ok(
            scn.spec.triggers.every((t: { metadata: { queueName: string } }) =>
                t.metadata.queueName.startsWith("save_code_now:"),
            ),
        );
        assert.equal(scn.spec.minReplicaCount, 1);
        assert.equal(scn.spec.idleReplicaCount, undefined, "one worker stays warm");
        assert.equal(
            run.recorder.named("loader-save-code-now-deployment").inputs.spec.template.spec.priorityClassName,
            "high-workload",
        );
        assert.ok(
            git.spec.triggers.every(
                (t: { metadata: { queueName: string } }) =>
                    !/^(save_code_now|add_forge_now):/.test(t.metadata.queueName),
            ),
            "the bulk git loader consumes no save-code-now or add-forge-now queue",
        );
        assert.equal(git.spec.triggers.length, 3);
        assert.ok(
            git.spec.triggers.every(
                (t: { metadata: Record<string, string> }) =>
                    t.metadata.mode === "QueueLength" && t.metadata.protocol === "http",
            ),
        );
        const capacity = (
            await resolve(
                pulumi.output(
                    run.result.loaderCapacity as Record<
                        string,
                        { maxReplicas: number; replicasThatFit: number }
                    >,
                ),
            )
        ).value;
        for (const [loader, plan] of Object.entries(capacity)) {
            assert.ok(
                plan.maxReplicas <= plan.replicasThatFit,
                `${loader}: ${plan.maxReplicas} <= ${plan.replicasThatFit}`,
            );
        }
        assert.equal(
            capacity.git.replicasThatFit,
            10,
            "two 4-core/8Gi loader hosts hold 10 git loaders of 500m/512Mi",
        );
    });

    it("waits for KEDA before ScaledObjects and for each image before its Deployment", () => {
        const r = run.recorder;
        for (const l of ["git", "svn", "mercurial", "save-code-now", "add-forge-now"]) {
            assert.ok(r.dependenciesOf(`loader-${l}-scaledobject`).includes("keda-keda"));
            assert.ok(r.dependenciesOf(`loader-${l}-deployment`).includes(`image-${l}-image`));
            assert.match(
                r.named(`loader-${l}-deployment`).inputs.spec.template.spec.containers[0].image,
                /^docker\.io\/softwareheritage\/loader_.+@sha256:[0-9a-f]{64}$/,
            );
        }
    });

    it("never holds a secret config value in a plain input, and exports secrets as secrets", async () => {
        for (const r of run.recorder.resources) {
            for (const s of plainStrings(r.raw)) {
                for (const secret of ALL_SECRETS) {
                    assert.ok(
                        !s.includes(secret.trim()),
                        `${r.name} (${r.type}) holds a secret in plain text`,
                    );
                }
            }
        }
        assert.equal((await resolve(run.result.kubeconfig as pulumi.Output<string>)).secret, true);
        assert.equal((await resolve(run.result.rancherAdminToken as pulumi.Output<string>)).secret, true);
        const refs = (
            await resolve(pulumi.output(run.result.imageRefs as Record<string, pulumi.Output<string>>))
        ).value;
        assert.deepEqual(Object.keys(refs).sort(), [
            "add-forge-now",
            "git",
            "mercurial",
            "save-code-now",
            "svn",
        ]);
    });

    it("gives every loader the Sentry DSN from its broker Secret and the stack's environment", () => {
        const loaders = run.recorder
            .ofType("kubernetes:apps/v1:Deployment")
            .filter((d) => d.name.startsWith("loader-"));
        assert.equal(loaders.length, 5);
        for (const d of loaders) {
            const name = d.inputs.metadata.name;
            const env = d.inputs.spec.template.spec.containers[0].env as { name: string }[];
            assert.deepEqual(
                env.find((e) => e.name === "SWH_SENTRY_DSN"),
                {
                    name: "SWH_SENTRY_DSN",
                    valueFrom: { secretKeyRef: { name: `${name}-broker`, key: "sentry-dsn" } },
                },
                name,
            );
            const secret = run.recorder.named(`${name}-broker`);
            assert.equal(secret.inputs.stringData["sentry-dsn"], SENTRY_DSN);
            assert.ok(
                isSecretAt(secret.raw, ["stringData", "sentry-dsn"]) ||
                    isSecretAt(secret.raw, ["stringData"]),
            );
            assert.equal(run.recorder.named(`${name}-env`).inputs.data.SWH_SENTRY_ENVIRONMENT, "staging");
        }
    });
});

describe("the stack program registering into an existing Rancher (SWH's), under mocks", function () {
    this.timeout(60000);
    let run: Awaited<ReturnType<typeof runProgram>>;
    before(async () => {
        const { "elastic-workers:rancher": _installed, ...config } = stackConfig("Pulumi.staging.yaml");
        config["elastic-workers:existingRancher"] = JSON.stringify({ apiUrl: "https://rancher.example.org" });
        run = await runProgram(config, { ...FAKE_SECRETS, rancherApiToken: RANCHER_API_TOKEN });
    });

    it("installs no Rancher and creates the pool's cluster through a provider for the given API and token", () => {
        assert.deepEqual(run.recorder.ofType("swh:elastic:RancherServer"), []);
        const providers = run.recorder.ofType("pulumi:providers:rancher2");
        assert.deepEqual(
            providers.map((p) => p.name),
            ["existing-rancher"],
        );
        const [api] = providers;
        assert.equal(api.inputs.apiUrl, "https://rancher.example.org");
        assert.equal(api.inputs.tokenKey, RANCHER_API_TOKEN);
        assert.ok(isSecretAt(api.raw, ["tokenKey"]), "the token stays a secret");
        assert.notEqual(api.inputs.insecure, "true", "the certificate is checked (system CAs)");
        const cluster = run.recorder.ofType("rancher2:index/clusterV2:ClusterV2");
        assert.equal(cluster.length, 1);
        assert.ok(cluster[0].provider.startsWith(`${api.urn}::`), cluster[0].provider);
        for (const sync of run.recorder.ofType("rancher2:index/clusterSync:ClusterSync"))
            assert.ok(sync.provider.startsWith(`${api.urn}::`));
    });

    it("exports the existing Rancher's URL", async () => {
        assert.deepEqual(await resolve(pulumi.output(run.result.rancherUrl)), {
            value: "https://rancher.example.org",
            secret: false,
        });
    });
});

describe("the stack program with images as SWH publishes them (tags), under mocks", function () {
    this.timeout(60000);
    const TAG = "container-registry.softwareheritage.org/swh/infra/swh-apps/loader_git:20251120.1";
    let run: Awaited<ReturnType<typeof runProgram>>;
    before(async () => {
        const config = stackConfig("Pulumi.staging.yaml");
        const loaders = JSON.parse(config["elastic-workers:loaders"]) as Record<string, unknown>[];
        const { packages: _built, ...git } = loaders[0];
        config["elastic-workers:loaders"] = JSON.stringify([{ ...git, image: TAG }, ...loaders.slice(1)]);
        run = await runProgram(config);
    });

    it("resolves the tag to its digest through the registry and deploys the digest, building nothing for it", () => {
        assert.deepEqual(
            run.recorder.calls.filter((c) => c.token === REGISTRY_IMAGE_TOKEN).map((c) => c.inputs.name),
            [TAG],
        );
        const image =
            run.recorder.named("loader-git-deployment").inputs.spec.template.spec.containers[0].image;
        assert.equal(
            image,
            `container-registry.softwareheritage.org/swh/infra/swh-apps/loader_git@${registryImage(TAG).sha256Digest}`,
        );
        assert.deepEqual(
            run.recorder.resources.filter((r) => r.name === "image-git-image"),
            [],
            "no build for a prebuilt image",
        );
    });
});
