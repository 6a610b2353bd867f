import { strict as assert } from "assert";
import { WorkerNodePool } from "../../components";
import { FAKE_SSH_KEY, NODE_PREP_STEPS, POOL_HOSTS } from "../fixtures";
import { isSecretAt, resolve, runUnderMocks } from "../harness/pulumi";

describe("components under Pulumi mocks", () => {
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
                const chain = NODE_PREP_STEPS.map((s) => `pool-${h.name}-prep-${s}`);
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
            assert.equal(r.ofType("command:remote:Command").length, 2 * NODE_PREP_STEPS.length);
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
});
