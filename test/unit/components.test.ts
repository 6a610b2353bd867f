import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import {
    KedaOperator,
    KedaScaledLoader,
    LoaderImage,
    ObservabilityStack,
    RancherServer,
    WorkerNodePool,
} from "../../components";
import {
    ADMIN_PASSWORD,
    AMQP_URL,
    BOOTSTRAP_PASSWORD,
    DIGEST_REF,
    FAKE_SSH_KEY,
    MANAGEMENT_URL,
    POOL_HOSTS,
} from "../fixtures";
import { fakeDigest, isSecretAt, plainStrings, resolve, runUnderMocks } from "../harness/pulumi";

const PREP = ["iptables-legacy", "swap-off", "kernel-modules", "sysctls", "kubelet-config"];

describe("components under Pulumi mocks", () => {
    describe("RancherServer", () => {
        const build = () =>
            new RancherServer("rancher", {
                host: { name: "mgmt", address: "192.0.2.5" },
                sshPrivateKey: FAKE_SSH_KEY,
                hostname: "rancher.test",
                bootstrapPassword: BOOTSTRAP_PASSWORD,
                adminPassword: ADMIN_PASSWORD,
            });

        it("prepares the host, installs k3s, then cert-manager, then Rancher, then bootstraps the admin", async () => {
            const { recorder: r } = await runUnderMocks(build);
            const chain = [...PREP, "install-k3s", "wait-ready"].map((s) => `rancher-mgmt-${s}`);
            for (let i = 1; i < chain.length; i++)
                assert.deepEqual(r.dependenciesOf(chain[i]), [chain[i - 1]], chain[i]);
            assert.deepEqual(r.dependenciesOf("rancher-kubeconfig"), ["rancher-mgmt-wait-ready"]);
            assert.ok(
                r.dependenciesOf("rancher-rancher").includes("rancher-cert-manager"),
                "Rancher waits for cert-manager",
            );
            assert.ok(
                r.dependenciesOf("rancher-bootstrap").includes("rancher-rancher"),
                "bootstrap waits for Rancher",
            );
            assert.equal(r.named("rancher-rancher").inputs.values.hostname, "rancher.test");
            assert.equal(r.named("rancher-rancher").inputs.version, "2.13.1");
            assert.equal(r.named("rancher-cert-manager").inputs.chart, "cert-manager");
            const children = r.childrenOf("rancher");
            assert.equal(new Set(children).size, children.length, "children have distinct names");
            assert.deepEqual(
                children.sort(),
                [
                    ...chain,
                    "rancher-admin",
                    "rancher-api",
                    "rancher-bootstrap",
                    "rancher-cert-manager",
                    "rancher-kubeconfig",
                    "rancher-local",
                    "rancher-rancher",
                ].sort(),
            );
        });

        it("installs the pinned k3s with the host-gw flannel backend", async () => {
            const { recorder: r } = await runUnderMocks(build);
            const install = r.named("rancher-mgmt-install-k3s").inputs.create as string;
            assert.match(install, /K3S_VERSION='v1\.33\.4\+k3s1'/);
            assert.match(install, /flannel-backend: host-gw/);
        });

        it("keeps passwords, the SSH key, the kubeconfig and the admin token secret", async () => {
            const { recorder: r, result } = await runUnderMocks(build);
            assert.ok(isSecretAt(r.named("rancher-rancher").raw, ["values", "bootstrapPassword"]));
            assert.ok(isSecretAt(r.named("rancher-admin").raw, ["password"]));
            assert.ok(isSecretAt(r.named("rancher-mgmt-swap-off").raw, ["connection", "privateKey"]));
            assert.ok(isSecretAt(r.named("rancher-local").raw, ["kubeconfig"]));
            for (const res of r.resources) {
                for (const s of plainStrings(res.raw)) {
                    assert.ok(
                        ![BOOTSTRAP_PASSWORD, ADMIN_PASSWORD, FAKE_SSH_KEY].some((x) => s.includes(x)),
                        `${res.name} leaks a secret`,
                    );
                }
            }
            const token = await resolve(result.adminToken);
            assert.equal(token.secret, true);
            assert.equal(token.value, "token-abcde:fakeadmintoken");
            const kubeconfig = await resolve(result.kubeconfig);
            assert.equal(kubeconfig.secret, true);
            assert.match(
                kubeconfig.value,
                /server: https:\/\/192\.0\.2\.5:6443/,
                "kubeconfig points at the host, not 127.0.0.1",
            );
        });

        it("refuses a k3s outside the Rancher version's support range before creating anything", async () => {
            const { recorder } = await runUnderMocks(() =>
                assert.throws(
                    () =>
                        new RancherServer("old", {
                            host: { name: "mgmt", address: "192.0.2.5" },
                            sshPrivateKey: FAKE_SSH_KEY,
                            hostname: "rancher.test",
                            bootstrapPassword: BOOTSTRAP_PASSWORD,
                            adminPassword: ADMIN_PASSWORD,
                            version: "2.5.9",
                            k3sVersion: "v1.22.2+k3s1",
                        }),
                    /RancherServer "old": args\.k3sVersion: expected Kubernetes 1\.17-1\.20, the range Rancher 2\.5\.9 supports \(Kubernetes v1\.22\.2\+k3s1 is outside it/,
                ),
            );
            assert.deepEqual(
                recorder.resources.map((x) => x.name),
                [],
                "nothing registered, not even the component",
            );
        });
    });

    describe("WorkerNodePool", () => {
        const rancherProvider = () =>
            new (require("@pulumi/rancher2").Provider)("rancher2", { apiUrl: "https://rancher.test" });
        const build = () =>
            new WorkerNodePool(
                "pool",
                { hosts: POOL_HOSTS, sshPrivateKey: FAKE_SSH_KEY },
                { providers: [rancherProvider()] },
            );

        it("prepares every host in order, registers it after preparation, drains it before unregistering", async () => {
            const { recorder: r } = await runUnderMocks(build);
            for (const h of POOL_HOSTS) {
                const chain = PREP.map((s) => `pool-${h.name}-prep-${s}`);
                for (let i = 1; i < chain.length; i++)
                    assert.deepEqual(r.dependenciesOf(chain[i]), [chain[i - 1]]);
                assert.ok(
                    r.dependenciesOf(`pool-${h.name}-register`).includes(chain[chain.length - 1]),
                    "registration after preparation",
                );
                assert.ok(
                    r.dependenciesOf(`pool-${h.name}-drain`).includes(`pool-${h.name}-register`),
                    "drain created after (so deleted before) registration",
                );
                assert.match(
                    r.named(`pool-${h.name}-drain`).inputs.delete,
                    /kubectl --kubeconfig "\$kubeconfig" drain/,
                );
            }
            const sync = r.dependenciesOf("pool-sync");
            for (const h of POOL_HOSTS)
                assert.ok(sync.includes(`pool-${h.name}-drain`), "cluster sync waits for every host");
        });

        it("registers each host with its roles, labels and name appended to Rancher's node command", async () => {
            const { recorder: r } = await runUnderMocks(build);
            const cmd = r.named("pool-worker1-register").inputs.create as string;
            assert.match(cmd, /--server https:\/\/rancher\.test/);
            assert.match(cmd, /--node-name '"'"'worker1'"'"'/);
            assert.match(cmd, /--worker/);
            assert.doesNotMatch(cmd, /--etcd/);
            assert.match(cmd, /--label '"'"'swh\/loader=true'"'"'/);
            assert.match(r.named("pool-worker0-register").inputs.create, /--etcd --controlplane --worker/);
            assert.match(
                r.named("pool-worker2-register").inputs.create,
                /^sudo -n env /,
                "non-root user goes through sudo",
            );
        });

        it("keeps the registration token, kubeconfig and SSH key secret", async () => {
            const { recorder: r, result } = await runUnderMocks(build);
            assert.ok(
                isSecretAt(r.named("pool-worker1-register").raw, ["create"]),
                "the command holds the token",
            );
            assert.ok(isSecretAt(r.named("pool-worker1-register").raw, ["connection", "privateKey"]));
            assert.ok(isSecretAt(r.named("pool-worker1-drain").raw, ["environment", "KUBECONFIG_CONTENT"]));
            assert.ok(isSecretAt(r.named("pool-k8s").raw, ["kubeconfig"]));
            assert.equal((await resolve(result.kubeconfig)).secret, true);
            assert.equal((await resolve(result.clusterId)).value, "c-m-test");
        });

        it("writes the kubelet reservations with all four hard eviction thresholds", async () => {
            const { recorder: r } = await runUnderMocks(build);
            const cmd = r.named("pool-worker1-prep-kubelet-config").inputs.create as string;
            assert.match(cmd, /CONFIG_DIR='\/etc\/rancher\/rke2\/config\.yaml\.d'/);
            assert.match(
                cmd,
                /eviction-hard=memory\.available<500Mi,nodefs\.available<10%,imagefs\.available<15%,nodefs\.inodesFree<5%/,
            );
        });

        it("reports what the worker hosts leave for loaders after reservations", async () => {
            const { result } = await runUnderMocks(build);
            const total = await resolve(result.allocatable);
            // Per host: 4000m - 500m - 500m - 250m DaemonSets = 2750m; 8Gi - 1Gi - 1Gi - 500Mi - 256Mi = 5388Mi.
            assert.equal(total.value.cpuMillis, 3 * 2750);
            assert.equal(total.value.memoryBytes, 3 * 5388 * 2 ** 20);
        });

        it("prepares hosts only, with no Rancher resources, when register is false", async () => {
            const { recorder: r, result } = await runUnderMocks(
                () =>
                    new WorkerNodePool("bench", {
                        hosts: POOL_HOSTS.slice(1),
                        sshPrivateKey: FAKE_SSH_KEY,
                        register: false,
                    }),
            );
            assert.equal(r.resources.filter((x) => x.type.startsWith("rancher2:")).length, 0);
            assert.equal(r.ofType("command:remote:Command").length, 2 * PREP.length);
            assert.equal(result.provider, undefined);
        });

        it("registers without SSH preparation when configuration management prepares the hosts", async () => {
            const { recorder: r } = await runUnderMocks(
                () =>
                    new WorkerNodePool(
                        "pool",
                        { hosts: POOL_HOSTS, sshPrivateKey: FAKE_SSH_KEY, prepareHosts: false },
                        { providers: [rancherProvider()] },
                    ),
            );
            assert.equal(r.resources.filter((x) => x.name.includes("-prep-")).length, 0);
            assert.equal(
                r.ofType("command:remote:Command").length,
                POOL_HOSTS.length,
                "one registration per host",
            );
            assert.deepEqual(r.dependenciesOf("pool-worker1-register"), ["pool-cluster"]);
        });

        it("needs a Rancher provider to register", async () => {
            await runUnderMocks(() =>
                assert.throws(
                    () => new WorkerNodePool("pool", { hosts: POOL_HOSTS, sshPrivateKey: FAKE_SSH_KEY }),
                    /WorkerNodePool "pool": opts\.providers: expected a rancher2\.Provider when register is true/,
                ),
            );
        });
    });

    describe("LoaderImage", () => {
        it("builds images/loader with pinned packages, pushes with secret credentials, outputs a digest-pinned ref", async () => {
            const { recorder: r, result } = await runUnderMocks(
                () =>
                    new LoaderImage("image-git", {
                        loader: "git",
                        packages: ["swh.loader.git==3.4.0"],
                        registry: "registry.test",
                        username: "swhbot",
                        password: "registry-S3cret-test",
                        releaseDate: "20261125",
                    }),
            );
            const image = r.named("image-git-image");
            assert.equal(image.inputs.push, true);
            assert.equal(image.inputs.buildArgs.SWH_PACKAGES, "swh.loader.git==3.4.0");
            assert.equal(image.inputs.buildArgs.BASE_IMAGE, "python:3.11-bookworm");
            assert.match(image.inputs.context.location, /images\/loader$/);
            assert.equal(image.inputs.tags.length, 2);
            assert.match(image.inputs.tags[0], /^registry\.test\/softwareheritage\/loader_git:[0-9a-f]{12}$/);
            assert.match(
                image.inputs.tags[1],
                /^registry\.test\/softwareheritage\/loader_git:20261125\.[0-9a-f]{8}$/,
            );
            assert.ok(isSecretAt(image.raw, ["registries", 0, "password"]));
            const ref = await resolve(result.ref);
            assert.equal(
                ref.value,
                `registry.test/softwareheritage/loader_git@${fakeDigest("image-git-image")}`,
            );
        });
    });

    describe("LoaderImage behind a TLS-inspecting proxy", () => {
        it("passes the CA bundle as a secret build secret, outside the content hash", async () => {
            const ca = require("path").join(require("os").tmpdir(), "swh-test-ca.pem");
            require("fs").writeFileSync(
                ca,
                "-----BEGIN CERTIFICATE-----\nZmFrZQ==\n-----END CERTIFICATE-----\n",
            );
            const { recorder: r } = await runUnderMocks(() => {
                new LoaderImage("with-ca", {
                    loader: "git",
                    packages: ["swh.loader.git==3.4.0"],
                    pipCaBundle: ca,
                });
                new LoaderImage("without-ca", { loader: "git", packages: ["swh.loader.git==3.4.0"] });
            });
            const withCa = r.named("with-ca-image");
            assert.ok(isSecretAt(withCa.raw, ["secrets", "pip-ca"]));
            assert.match(withCa.inputs.secrets["pip-ca"], /BEGIN CERTIFICATE/);
            assert.deepEqual(
                withCa.inputs.tags,
                r.named("without-ca-image").inputs.tags,
                "same image content, same tags",
            );
            assert.equal(withCa.inputs.buildOnPreview, false);
        });

        it("refuses a bundle that is not a PEM file", async () => {
            await runUnderMocks(() =>
                assert.throws(
                    () =>
                        new LoaderImage("bad", {
                            loader: "git",
                            packages: ["swh.loader.git==3.4.0"],
                            pipCaBundle: "/etc/hostname",
                        }),
                    /LoaderImage "bad": args\.pipCaBundle: expected a PEM CA bundle \(BEGIN CERTIFICATE\); got "\/etc\/hostname"/,
                ),
            );
        });
    });

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

        it("creates namespace, env, broker secret, Deployment, TriggerAuthentication and ScaledObject in order", async () => {
            const { recorder: r } = await runUnderMocks(() => build());
            assert.deepEqual(r.childrenOf("loader-git").sort(), [
                "loader-git-broker",
                "loader-git-deployment",
                "loader-git-env",
                "loader-git-namespace",
                "loader-git-scaledobject",
                "loader-git-trigger-auth",
            ]);
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
            const { recorder: r } = await runUnderMocks(
                () =>
                    new KedaScaledLoader("loader-svn", {
                        loader: "svn",
                        queues: ["q"],
                        image: DIGEST_REF,
                        brokerSecret: "existing",
                    }),
            );
            assert.equal(
                r.resources.some((x) => x.name === "loader-svn-broker"),
                false,
            );
            const pod = r.named("loader-svn-deployment").inputs.spec.template.spec;
            assert.equal(pod.volumes[0].secret.secretName, "loader-svn-broker");
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
                    () =>
                        new KedaScaledLoader("loader-svn", {
                            loader: "svn",
                            queues: ["q"],
                            image: DIGEST_REF,
                            amqpUrl: AMQP_URL,
                        }),
                    /KedaScaledLoader "loader-svn": args\.amqpUrl: expected both amqpUrl and managementUrl when brokerSecret is "create"/,
                ),
            );
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

    describe("KedaOperator", () => {
        it("installs the pinned chart and the priority classes, or only the classes when KEDA is already there", async () => {
            const { recorder: r } = await runUnderMocks(() => {
                new KedaOperator("keda");
                new KedaOperator("existing", { installChart: false });
            });
            const release = r.named("keda-keda").inputs;
            assert.equal(release.chart, "keda");
            assert.equal(release.version, "2.21.0");
            assert.deepEqual(r.childrenOf("existing").sort(), [
                "existing-high-workload",
                "existing-low-workload",
                "existing-normal-workload",
            ]);
        });
    });

    describe("ObservabilityStack", () => {
        it("deploys the exporter, monitors, alerts, dashboard and log shipper, monitors after Prometheus' CRDs", async () => {
            const { recorder: r, result } = await runUnderMocks(
                () =>
                    new ObservabilityStack("obs", {
                        logs: { url: "http://es.test:9200", username: "swh-logs" },
                        elasticsearchPassword: "es-S3cret-test",
                    }),
            );
            for (const name of ["obs-statsd-monitor", "obs-keda-operator-monitor", "obs-alerts"]) {
                assert.ok(
                    r.dependenciesOf(name).includes("obs-prometheus"),
                    `${name} after kube-prometheus-stack`,
                );
            }
            assert.ok(
                isSecretAt(r.named("obs-log-shipper-secret").raw, ["stringData", "ELASTICSEARCH_PASSWORD"]),
            );
            assert.doesNotMatch(
                r.named("obs-log-shipper-config").inputs.data["config.yaml"],
                /es-S3cret-test/,
            );
            assert.equal(result.statsdEndpoint.port, 9125);
            assert.match((await resolve(result.logShipping)).value, /swh-logs.*system-logs/);
        });

        it("requires the Elasticsearch password when a user is set", async () => {
            await runUnderMocks(() =>
                assert.throws(
                    () =>
                        new ObservabilityStack("obs", {
                            logs: { url: "http://es.test:9200", username: "swh" },
                        }),
                    /ObservabilityStack "obs": args\.elasticsearchPassword: expected a password when logs\.username is set/,
                ),
            );
        });
    });
});
