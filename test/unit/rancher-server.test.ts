import { strict as assert } from "assert";
import { RancherServer } from "../../components";
import { ADMIN_PASSWORD, BOOTSTRAP_PASSWORD, FAKE_SSH_KEY, NODE_PREP_STEPS } from "../fixtures";
import { isSecretAt, plainStrings, resolve, runUnderMocks } from "../harness/pulumi";

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
            const chain = [...NODE_PREP_STEPS, "install-k3s", "wait-ready"].map((s) => `rancher-mgmt-${s}`);
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
});
