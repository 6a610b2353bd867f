import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import {
    KedaOperator,
    KedaScaledLoader,
    KedaScaledLoaderArgs,
    LoaderImage,
    WorkerNodePool,
} from "../../components";
import { AMQP_URL, DIGEST_REF, FAKE_SSH_KEY, MANAGEMENT_URL, POOL_HOSTS } from "../fixtures";
import { fakeDigest, isSecretAt, plainStrings, runUnderMocks } from "../harness/pulumi";

describe("components under Pulumi mocks", () => {
    describe("KedaScaledLoader", () => {
        const build = (image: pulumi.Input<string> = DIGEST_REF) => {
            const keda = new KedaOperator("keda");
            const loader = new KedaScaledLoader("loader-git", {
                loader: "git",
                queues: [
                    "swh.loader.git.tasks.UpdateGitRepository",
                    "save_code_now:swh.loader.git.tasks.UpdateGitRepository",
                ],
                image,
                amqpUrl: AMQP_URL,
                managementUrl: MANAGEMENT_URL,
                kedaOperator: keda,
                maxReplicas: 50,
                capacity: new WorkerNodePool("pool", {
                    hosts: POOL_HOSTS,
                    sshPrivateKey: FAKE_SSH_KEY,
                    register: false,
                }).nodes,
            });
            return { keda, loader };
        };
        /** A loader with no pool nor operator: its own arguments only. */
        const svn = (extra: Partial<KedaScaledLoaderArgs> = {}) =>
            new KedaScaledLoader("loader-svn", { loader: "svn", queues: ["q"], image: DIGEST_REF, ...extra });

        it("creates namespace, env, logging config, broker secret, the worker's account, Deployment, TriggerAuthentication and ScaledObject in order", async () => {
            const { recorder: r } = await runUnderMocks(() => build());
            assert.deepEqual(r.childrenOf("loader-git").sort(), [
                "loader-git-broker",
                "loader-git-deployment",
                "loader-git-env",
                "loader-git-logging",
                "loader-git-namespace",
                "loader-git-role",
                "loader-git-rolebinding",
                "loader-git-scaledobject",
                "loader-git-serviceaccount",
                "loader-git-trigger-auth",
            ]);
            assert.ok(
                r.dependenciesOf("loader-git-deployment").includes("loader-git-logging"),
                "pods start with their logging config",
            );
            for (const d of ["loader-git-serviceaccount", "loader-git-role", "loader-git-rolebinding"])
                assert.ok(r.dependenciesOf("loader-git-deployment").includes(d), `pods start with ${d}`);
            const so = r.dependenciesOf("loader-git-scaledobject");
            // A dependency on the KedaOperator component is a dependency on its children: the Helm release.
            for (const d of ["keda-keda", "loader-git-deployment", "loader-git-trigger-auth"])
                assert.ok(so.includes(d), `ScaledObject after ${d}`);
            assert.ok(
                r.dependenciesOf("loader-git-trigger-auth").includes("keda-keda"),
                "KEDA objects wait for KEDA's CRDs",
            );
            assert.ok(r.dependenciesOf("loader-git-env").includes("loader-git-namespace"));
        });

        it("bounds maxReplicas by what the pool holds and says why", async () => {
            const { recorder: r, result } = await runUnderMocks(() => build());
            const so = r.named("loader-git-scaledobject").inputs;
            // Two loader hosts; each leaves 2750m / 5388Mi for loaders: 5 replicas of 500m / 512Mi each (CPU-bound).
            assert.equal(so.spec.maxReplicaCount, 10);
            assert.equal(result.loader.plan.requestedMaxReplicas, 50);
            assert.match(
                result.loader.plan.clampedBecause!,
                /maxReplicas 50 exceeds the 10 replicas .* \(worker1: 5, worker2: 5\)/,
            );
        });

        it("runs the image's digest from LoaderImage in the Deployment", async () => {
            const { recorder: r } = await runUnderMocks(() => {
                const image = new LoaderImage("image-git", {
                    loader: "git",
                    packages: ["swh.loader.git==3.4.0"],
                    registry: "registry.test",
                });
                return build(image.ref);
            });
            const dep = r.named("loader-git-deployment");
            assert.equal(
                dep.inputs.spec.template.spec.containers[0].image,
                `registry.test/softwareheritage/loader_git@${fakeDigest("image-git-image")}`,
            );
            assert.ok(
                r.dependenciesOf("loader-git-deployment").includes("image-git-image"),
                "Deployment after the image push",
            );
        });

        it("keeps the broker URLs secret in the Secret and out of every plain value", async () => {
            const { recorder: r } = await runUnderMocks(() => build());
            const secret = r.named("loader-git-broker");
            assert.ok(isSecretAt(secret.raw, ["stringData", "host"]));
            assert.ok(isSecretAt(secret.raw, ["stringData", "config.yml"]));
            assert.match(
                secret.inputs.stringData["config.yml"],
                /task_broker: amqp:\/\/swhloader:amqp-S3cret-test@/,
            );
            for (const res of r.resources) {
                for (const s of plainStrings(res.raw)) {
                    assert.ok(!s.includes("S3cret"), `${res.name} holds a broker credential in plain text`);
                }
            }
        });

        it("references an out-of-band broker Secret without holding any credential", async () => {
            const { recorder: r } = await runUnderMocks(() => svn({ brokerSecret: "existing" }));
            assert.equal(
                r.resources.some((x) => x.name === "loader-svn-broker"),
                false,
            );
            const pod = r.named("loader-svn-deployment").inputs.spec.template.spec;
            assert.equal(
                pod.volumes.find((v: { name: string }) => v.name === "config").secret.secretName,
                "loader-svn-broker",
            );
            assert.deepEqual(
                r.named("loader-svn-trigger-auth").inputs.spec.secretTargetRef[0].name,
                "loader-svn-broker",
            );
            assert.equal(
                isSecretAt(r.named("loader-svn-deployment").raw, ["spec"]),
                false,
                "nothing secret-derived in the Deployment",
            );
        });

        it("needs both broker URLs to create the Secret", async () => {
            await runUnderMocks(() =>
                assert.throws(
                    () => svn({ amqpUrl: AMQP_URL }),
                    /KedaScaledLoader "loader-svn": args\.amqpUrl: expected both amqpUrl and managementUrl when brokerSecret is "create"/,
                ),
            );
        });

        describe("image pull Secret", () => {
            const REGISTRY_PASSWORD = "reg-S3cret-test";
            const withPullSecret = (server: string, extra: Partial<KedaScaledLoaderArgs> = {}) =>
                svn({
                    amqpUrl: AMQP_URL,
                    managementUrl: MANAGEMENT_URL,
                    imagePullSecret: "create",
                    registry: { server, username: "swh-bot", password: pulumi.secret(REGISTRY_PASSWORD) },
                    ...extra,
                });

            it("holds the registry's login in a dockerconfigjson Secret the pods pull with and wait for", async () => {
                const { recorder: r } = await runUnderMocks(() => withPullSecret("registry.test:5000"));
                const secret = r.named("loader-svn-registry");
                assert.equal(secret.inputs.type, "kubernetes.io/dockerconfigjson");
                assert.equal(secret.inputs.metadata.name, "loader-svn-registry");
                assert.equal(secret.inputs.metadata.namespace, "swh-loader-svn");
                assert.ok(isSecretAt(secret.raw, ["stringData", ".dockerconfigjson"]));
                const config = JSON.parse(secret.inputs.stringData[".dockerconfigjson"]);
                assert.deepEqual(config, {
                    auths: {
                        "registry.test:5000": {
                            username: "swh-bot",
                            password: REGISTRY_PASSWORD,
                            auth: Buffer.from(`swh-bot:${REGISTRY_PASSWORD}`).toString("base64"),
                        },
                    },
                });
                const pod = r.named("loader-svn-deployment").inputs.spec.template.spec;
                assert.deepEqual(pod.imagePullSecrets, [{ name: "loader-svn-registry" }]);
                assert.ok(r.dependenciesOf("loader-svn-deployment").includes("loader-svn-registry"));
                for (const res of r.resources) {
                    for (const s of plainStrings(res.raw)) {
                        assert.ok(
                            !s.includes("reg-S3cret"),
                            `${res.name} holds the registry password in plain text`,
                        );
                        assert.ok(
                            !s.includes(Buffer.from(`swh-bot:${REGISTRY_PASSWORD}`).toString("base64")),
                            `${res.name} holds the registry login in plain text`,
                        );
                    }
                }
            });

            it("keys Docker Hub's login by the index URL that the kubelet looks up", async () => {
                for (const server of ["docker.io", "index.docker.io", "registry-1.docker.io"]) {
                    const { recorder: r } = await runUnderMocks(() => withPullSecret(server));
                    const config = JSON.parse(
                        r.named("loader-svn-registry").inputs.stringData[".dockerconfigjson"],
                    );
                    assert.deepEqual(Object.keys(config.auths), ["https://index.docker.io/v1/"], server);
                }
            });

            it("references an out-of-band pull Secret, in job mode too, without holding a credential", async () => {
                for (const mode of ["deployment", "job"] as const) {
                    const { recorder: r } = await runUnderMocks(() =>
                        svn({ mode, brokerSecret: "existing", imagePullSecret: "existing" }),
                    );
                    assert.equal(
                        r.resources.some((x) => x.name === "loader-svn-registry"),
                        false,
                    );
                    const spec =
                        mode === "job"
                            ? r.named("loader-svn-scaledjob").inputs.spec.jobTargetRef.template.spec
                            : r.named("loader-svn-deployment").inputs.spec.template.spec;
                    assert.deepEqual(spec.imagePullSecrets, [{ name: "loader-svn-registry" }], mode);
                }
            });

            it("pulls without credentials when no pull Secret is asked for", async () => {
                const { recorder: r } = await runUnderMocks(() => build());
                assert.equal(
                    r.resources.some((x) => x.name.endsWith("-registry")),
                    false,
                );
                assert.equal(
                    r.named("loader-git-deployment").inputs.spec.template.spec.imagePullSecrets,
                    undefined,
                );
            });

            it("names args.registry, with an example and never the password, when credentials are missing", async () => {
                const { recorder: r } = await runUnderMocks(() => {
                    assert.throws(
                        () =>
                            withPullSecret("registry.test", {
                                registry: { server: "registry.test", username: "swh-bot" } as never,
                            }),
                        /KedaScaledLoader "loader-svn": args\.registry: expected server, username and password when imagePullSecret is "create", e\.g\. \{ server: "docker\.io", username: "swh-bot", password: <secret> \}; got "keys server, username"/,
                    );
                    assert.throws(
                        () => withPullSecret("registry.test", { imagePullSecret: "make" as never }),
                        /args\.imagePullSecret: expected "create" or "existing"; got "make"/,
                    );
                });
                assert.deepEqual(
                    r.resources.filter((x) => x.name.startsWith("loader-svn")).map((x) => x.name),
                    [],
                );
            });
        });

        it("refuses a tag instead of a digest before creating anything", async () => {
            const { recorder: r } = await runUnderMocks(() =>
                assert.throws(
                    () => build("registry.test/swh/loader_git:latest"),
                    /KedaScaledLoader "loader-git": args\.image: expected a digest-pinned image reference \(repository@sha256:<64 hex>\); got "registry\.test\/swh\/loader_git:latest"/,
                ),
            );
            assert.deepEqual(
                r.resources.filter((x) => x.name.startsWith("loader-git")).map((x) => x.name),
                [],
            );
        });
    });
});
