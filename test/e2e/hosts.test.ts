/**
 * The node preparation on real Debian hosts over real SSH: bookworm and bullseye system containers booted from
 * debootstrap with systemd (test/rig/hosts), each prepared with the exact commands the stack program gives the
 * command provider (test/rig/hosts/prep.ts). Asserts the host's state after every step, that a second run
 * changes nothing and says so, that a dropped connection converges on a re-run, and that a failing step names
 * its host and step.
 */
import { strict as assert } from "assert";
import * as crypto from "crypto";
import { spawnSync } from "child_process";
import * as YAML from "yaml";
import { parseCpu, parseDuration, parseMemory } from "../../components/common/quantity";
import { planPool } from "../../components/worker-node-pool";
import { SYSCTLS } from "../../components/worker-node-pool/node-prep";
import { NODE_PREP_STEPS } from "../fixtures";
import {
    HOST_MEMORY,
    HOST_SPECS,
    TestHost,
    machineSysctls,
    onHost,
    startHosts,
    stopHosts,
} from "../rig/hosts/hosts";
import { poolArgs, programSteps, rancherOutputs, stepEnv } from "../harness/remote-steps";
import { RemoteStep, StepError, StepRun, up } from "../rig/hosts/prep";
import { Box, boxDown, boxUp } from "../rig/box/box";
import { versions } from "../rig/box/services";
import {
    NODE_REGISTRY_PORT,
    POD_IMAGE_REF,
    RealNode,
    joinBox,
    pushPodImage,
    stopTunnel,
} from "../rig/hosts/node";
import { Registry, startRegistry } from "../rig/e2e/env";
import { FAKE_SECRETS, runProgram } from "../harness/program";
import { KubeObject } from "../rig/box/kube";
import { ROOT } from "../rig/engine/env";
import { Recorded, Recorder } from "../harness/pulumi";
import { until } from "../rig/supervisor";
import {
    KernelOomKill,
    MiB,
    NodeGuard,
    createPod,
    deletePod,
    ensurePriorityClasses,
    hold,
    kernelOomKills,
    SYSTEM_MEMORY_UNIT,
    loaderPod,
    memoryPod,
    nodeGuard,
    nodeMemory,
    podEvents,
    startSystemMemory,
    stopSystemMemory,
} from "../rig/hosts/memory";
import { reservationsSchema } from "../../components/worker-node-pool/args";

// Rancher's node command as Rancher prints it, for a server that does not answer (the host's own loopback).
const UNREACHABLE_NODE_COMMAND =
    "curl -fL https://127.0.0.1:9/system-agent-install.sh | sudo sh -s - --server https://127.0.0.1:9 " +
    "--label 'cattle.io/os=linux' --token e2etoken --ca-checksum 0123";

/** Prints a table row per step: what it said and how long it took. */
function report(host: TestHost, runs: StepRun[]): void {
    for (const r of runs)
        console.log(
            `      ${host.release} ${r.step.padEnd(16)} ${r.ran ? `${r.seconds.toFixed(2)}s` : "not run"}  ` +
                r.result.stdout.trim().split("\n").join(" / "),
        );
}

/** Asserts every line a step printed says it had nothing to do. */
function assertUnchanged(runs: StepRun[]): void {
    for (const r of runs) {
        const lines = r.result.stdout.trim().split("\n");
        assert.ok(r.ran, `${r.step} ran`);
        for (const line of lines) assert.match(line, /unchanged/, `${r.step}: "${line}"`);
    }
}

/** The host's state the preparation is responsible for, as one comparable text. */
function hostState(host: TestHost): string {
    return onHost(
        host,
        [
            "dpkg-query -W -f '${Package} ${Status}\\n' iptables curl 2>&1",
            "update-alternatives --query iptables | grep ^Value",
            "update-alternatives --query ip6tables | grep ^Value",
            "cat /etc/fstab /proc/swaps /etc/modules-load.d/swh-elastic-workers.conf",
            "cat /etc/sysctl.d/90-swh-elastic-workers.conf /etc/rancher/rke2/config.yaml.d/90-swh-kubelet.yaml",
            `sysctl ${Object.keys(SYSCTLS).join(" ")}`,
        ].join("; "),
    );
}

describe("node preparation on real Debian hosts over SSH", function () {
    let hosts: TestHost[];
    let config: Record<string, string>;
    let steps: Record<string, RemoteStep[]>;
    let recorder: Recorder;
    const states = new Map<string, Map<string, string>>();

    before(async function () {
        hosts = await startHosts();
        ({ config, byHost: steps, recorder } = await programSteps(hosts, UNREACHABLE_NODE_COMMAND));
        for (const h of hosts) states.set(h.name, new Map());
    });

    // SWH_E2E_KEEP_HOSTS=1 leaves the hosts, the nodes and the box running, to look at after a failure.
    const keep = process.env.SWH_E2E_KEEP_HOSTS === "1";

    after(function () {
        if (keep) return;
        const restored = stopHosts();
        assert.deepEqual(machineSysctls(), restored, "this machine's non-namespaced sysctls are restored");
    });

    it("takes each host's steps from the program: the prep chain, then registration, over the host's own connection", () => {
        for (const h of hosts) {
            assert.deepEqual(
                steps[h.name].map((s) => s.step),
                [...NODE_PREP_STEPS, "register"],
            );
            for (const s of steps[h.name]) {
                assert.equal(s.connection.port, h.port, s.resource);
                assert.equal(s.connection.hostKey, h.hostKey, `${s.resource} pins the host key`);
                assert.match(s.create, /^sudo -n env /, `${s.resource} runs as root through sudo`);
            }
        }
    });

    for (const spec of HOST_SPECS) {
        it(`Debian ${spec.release}: a fresh host is prepared step by step, each leaving the state it reports`, async () => {
            const host = hosts.find((h) => h.name === spec.name)!;
            const own = steps[host.name].filter((s) => s.step !== "register");
            const state = states.get(host.name)!;
            // A fresh install: nftables, no iptables, swap in fstab.
            assert.match(onHost(host, "dpkg-query -W -f '${Status}' nftables"), /install ok installed/);
            assert.doesNotMatch(
                onHost(host, "dpkg-query -W -f '${Status}' iptables 2>&1 || true"),
                / installed$/,
            );
            const run = async (step: string) => (await up(host, own, state, { only: [step] }))[0];
            const runs: StepRun[] = [];

            runs.push(await run("packages"));
            assert.match(runs[0].result.stdout, /packages: installing iptables curl\npackages: installed/);
            assert.match(
                onHost(host, "dpkg-query -W -f '${Package} ${Status}\\n' iptables curl"),
                /curl install ok installed\niptables install ok installed/,
            );

            runs.push(await run("iptables-legacy"));
            assert.match(
                runs[1].result.stdout,
                /iptables: switched to legacy \(was \/usr\/sbin\/iptables-nft\)/,
            );
            for (const tool of ["iptables", "ip6tables"])
                assert.equal(
                    onHost(host, `update-alternatives --query ${tool} | sed -n 's/^Value: //p'`).trim(),
                    `/usr/sbin/${tool}-legacy`,
                );

            runs.push(await run("swap-off"));
            // No swap is live on a test host: only fstab changed, and the step says only that.
            assert.equal(runs[runs.length - 1].result.stdout, "swap: fstab entries commented out\n");
            assert.match(
                onHost(host, "cat /etc/fstab"),
                /^# disabled by swh elastic-workers: UUID=\S+ none swap sw 0 0$/m,
            );
            assert.equal(onHost(host, "tail -n +2 /proc/swaps"), "");

            runs.push(await run("kernel-modules"));
            assert.equal(
                onHost(host, "cat /etc/modules-load.d/swh-elastic-workers.conf"),
                "overlay\nbr_netfilter\n",
            );
            // This machine's kernel has both built in: nothing to load, and nothing that could be.
            assert.match(
                runs[3].result.stdout,
                /module overlay: unchanged \(present\)\nmodule br_netfilter: unchanged \(present\)/,
            );

            runs.push(await run("sysctls"));
            const sysctlFile = stepEnv(config, "sysctls").SYSCTL_CONF;
            assert.equal(onHost(host, "cat /etc/sysctl.d/90-swh-elastic-workers.conf"), `${sysctlFile}\n`);
            for (const [key, value] of Object.entries(SYSCTLS))
                assert.equal(onHost(host, `sysctl -n ${key}`).trim(), value, `live ${key} in the host`);

            runs.push(await run("kubelet-config"));
            const dropIn = onHost(host, "cat /etc/rancher/rke2/config.yaml.d/90-swh-kubelet.yaml");
            const expected = stepEnv(config, "kubelet-config").KUBELET_CONFIG;
            assert.equal(dropIn, `${expected}\n`, "the drop-in arrives byte for byte (indentation included)");
            const parsed = YAML.parse(dropIn) as Record<string, string[]>;
            assert.deepEqual(parsed, YAML.parse(expected));
            assert.ok(
                parsed["kubelet-arg+"].some((a) => a.startsWith("eviction-hard=memory.available<")),
                dropIn,
            );
            assert.ok(
                parsed["kubelet-arg+"].some((a) => a.startsWith("system-reserved=")),
                dropIn,
            );
            report(host, runs);
        });

        it(`Debian ${spec.release}: a second run of every step changes nothing and each step says so`, async () => {
            const host = hosts.find((h) => h.name === spec.name)!;
            const before = hostState(host);
            const own = steps[host.name].filter((s) => s.step !== "register");
            const runs = await up(host, own, states.get(host.name)!, { replaceAll: true });
            report(host, runs);
            assertUnchanged(runs);
            assert.equal(hostState(host), before);
            // As pulumi up with no change: nothing runs at all.
            const again = await up(host, own, states.get(host.name)!);
            assert.ok(again.every((r) => !r.ran));
        });
    }

    it("a connection dropped mid-install, then a re-run, converges (a fresh bullseye host)", async () => {
        const spec = HOST_SPECS.find((s) => s.release === "bullseye")!;
        const [host] = await startHosts([spec], { newKey: false });
        hosts = hosts.map((h) => (h.name === host.name ? host : h));
        ({ byHost: steps } = await programSteps(hosts, UNREACHABLE_NODE_COMMAND));
        const own = steps[host.name].filter((s) => s.step !== "register");
        const state = new Map<string, string>();
        await assert.rejects(
            up(host, own, state, { drop: { step: "packages", when: /packages: installing/ } }),
            (e: Error) =>
                e instanceof StepError && /pool-bullseye-prep-packages.*connection lost/.test(e.message),
        );
        assert.equal(state.size, 0, "the dropped step is not recorded");
        const rerun = await up(host, own, state);
        report(host, rerun);
        assert.ok(rerun.every((r) => r.ran && r.result.status === 0));
        assertUnchanged(await up(host, own, state, { replaceAll: true }));
        assert.match(
            onHost(host, "dpkg --audit; dpkg-query -W -f '${Status}' iptables"),
            /^install ok installed$/,
        );
    });

    it("registration fails, naming the host and the step, when Rancher's node command fails in its pipe", async () => {
        const host = hosts.find((h) => h.name === "bookworm")!;
        const register = steps[host.name].filter((s) => s.step === "register");
        await assert.rejects(up(host, register, new Map()), (e: Error) => {
            assert.ok(e instanceof StepError);
            assert.match(
                e.message,
                /\(pool-bookworm-register\) on host bookworm, step register: Process exited with status 1/,
            );
            assert.match(e.message, /registration failed: Rancher's node command exited non-zero/);
            return true;
        });
    });

    it("kubelet-config fails while the agent does not restart on a new drop-in, and retries until it does (real systemd)", async () => {
        const host = hosts.find((h) => h.name === "bookworm")!;
        const own = steps[host.name].filter((s) => s.step === "kubelet-config");
        // An installed agent whose start fails (its binary is missing), and a drop-in from an older config.
        const unit = (exec: string) =>
            `printf '%s\\n' '[Service]' Type=exec 'ExecStart=${exec}' '[Install]' ` +
            "WantedBy=multi-user.target >/etc/systemd/system/rke2-agent.service; systemctl daemon-reload";
        onHost(host, [
            unit("/usr/local/bin/rke2-missing agent"),
            "systemctl enable --quiet rke2-agent",
            "echo 'kubelet-arg+: [old]' >/etc/rancher/rke2/config.yaml.d/90-swh-kubelet.yaml",
        ].join("; ")); // prettier-ignore
        const fails =
            /on host bookworm, step kubelet-config: Process exited with status 1: .*restarting rke2-agent failed/s;
        await assert.rejects(up(host, own, new Map(), { replaceAll: true }), fails);
        await assert.rejects(
            up(host, own, new Map(), { replaceAll: true }),
            fails,
            'not "unchanged" while the agent is down',
        );
        onHost(host, unit("/bin/sleep infinity"));
        const [fixed] = await up(host, own, new Map(), { replaceAll: true });
        assert.match(
            fixed.result.stdout,
            /unchanged, but the agent has not restarted on it yet\nrestarted rke2-agent/,
        );
        assert.equal(onHost(host, "systemctl is-active rke2-agent").trim(), "active");
        assertUnchanged(await up(host, own, new Map(), { replaceAll: true }));
        onHost(host, "systemctl disable --now --quiet rke2-agent; rm /etc/systemd/system/rke2-agent.service");
    });

    describe("the prepared hosts as real nodes of the box", function () {
        let box: Box;
        const nodes: RealNode[] = [];
        const pool = () => poolArgs(config);

        before(async function () {
            // As `pulumi up` would: whatever preparation has not run yet on a host runs now.
            for (const h of hosts)
                await up(
                    h,
                    steps[h.name].filter((s) => s.step !== "register"),
                    states.get(h.name)!,
                );
            box = await boxUp([]);
        });

        after(async function () {
            if (keep) return;
            for (const n of nodes) stopTunnel(n.host);
            // The hosts go; their Node objects would stay in the box's etcd, NotReady, and draw the next
            // scenario's loader pods (the pod garbage collector then deletes what was bound to them).
            for (const h of hosts) await box?.kube.delete(`/api/v1/nodes/${h.name}`);
            box?.kube.close();
            await boxDown();
        });

        for (const spec of HOST_SPECS) {
            it(`Debian ${spec.release}: joins with a kubelet started with exactly the preparation's kubelet-arg list`, async () => {
                const host = hosts.find((h) => h.name === spec.name)!;
                const plan = planPool("pool", pool());
                const labels = pool().hosts.find((h) => h.name === host.name)?.labels;
                const node = await joinBox(box, host, {
                    flannelBackend: plan.cluster.flannelBackend,
                    labels,
                });
                nodes.push(node);
                const expected = YAML.parse(stepEnv(config, "kubelet-config").KUBELET_CONFIG)["kubelet-arg+"];
                assert.deepEqual(node.kubeletArgs, expected);
                const cmdline = onHost(
                    host,
                    "tr '\\0' '\\n' </proc/$(systemctl show -p MainPID --value kubelet)/cmdline",
                );
                for (const a of expected as string[])
                    assert.ok(cmdline.split("\n").includes(`--${a}`), `kubelet runs with --${a}`);
                const k8sNode = await box.kube.get(`/api/v1/nodes/${host.name}`);
                assert.equal(k8sNode.status.nodeInfo.kubeletVersion, versions().KUBE_VERSION);
                assert.match(
                    k8sNode.status.nodeInfo.osImage,
                    new RegExp(`Debian GNU/Linux ${spec.release === "bookworm" ? 12 : 11}`),
                );
            });
        }

        it("each node's allocatable is what WorkerNodePool's capacity model computes for that host", async () => {
            assert.equal(nodes.length, HOST_SPECS.length, "every host joined");
            // Each host declared as operators declare it: the CPU and memory the kubelet finds on it.
            const declared = pool();
            for (const h of declared.hosts) {
                const n = await box.kube.get(`/api/v1/nodes/${h.name}`);
                h.cpu = n.status.capacity.cpu;
                h.memory = n.status.capacity.memory;
            }
            const model = planPool("pool", declared).nodes;
            for (const m of model) {
                const n = await box.kube.get(`/api/v1/nodes/${m.name}`);
                const real = {
                    cpuMillis: parseCpu(n.status.allocatable.cpu),
                    memoryBytes: parseMemory(n.status.allocatable.memory),
                };
                console.log(
                    `      ${m.name}: capacity cpu ${n.status.capacity.cpu} memory ${n.status.capacity.memory}; ` +
                        `kubelet allocatable ${n.status.allocatable.cpu} / ${n.status.allocatable.memory}; ` +
                        `model ${m.allocatable.cpuMillis}m / ${m.allocatable.memoryBytes} bytes`,
                );
                assert.deepEqual(real, m.allocatable, `${m.name}: the kubelet's allocatable`);
            }
        });

        /** The overlay check as operators run it (npm run check:overlay), on the real nodes (not kwok's). */
        function overlayCheck() {
            const r = spawnSync(
                "npm",
                ["run", "-s", "check:overlay", "--", "--kubeconfig", box.kubeconfig, "--selector", "type!=kwok",
                    "--image", POD_IMAGE_REF],
                { cwd: ROOT, encoding: "utf8", timeout: 600_000 },
            ); // prettier-ignore
            console.log(r.stdout.replace(/^/gm, "      "));
            return r;
        }

        it("the overlay check passes on the real nodes with flannel host-gw: every node's pod reaches every other node's", () => {
            const r = overlayCheck();
            assert.equal(r.status, 0, r.stderr);
            assert.match(r.stdout, /pod network, 2\/2 pairs answer/);
            assert.match(r.stdout, /^bookworm +- +ok *$/m);
            assert.match(r.stdout, /^bullseye +ok +- *$/m);
        });

        it("with routing between the nodes broken on purpose, the overlay check fails and names the pairs", async () => {
            const bookworm = hosts.find((h) => h.name === "bookworm")!;
            const cidr = (await box.kube.get("/api/v1/nodes/bullseye")).spec.podCIDR as string;
            // A policy rule ahead of flannel's routes (which it would put back): bullseye's pods unreachable.
            onHost(bookworm, `ip rule add to ${cidr} blackhole pref 100`);
            try {
                const r = overlayCheck();
                assert.equal(r.status, 1, r.stdout);
                assert.match(r.stderr, /bookworm → bullseye \(pod 10\.42\.\d+\.\d+\): no answer/);
                assert.match(r.stdout, /^bookworm +- +FAIL *$/m);
            } finally {
                onHost(bookworm, `ip rule del to ${cidr} blackhole pref 100`);
            }
            assert.equal(overlayCheck().status, 0, "passes again once routing is back");
        });

        describe("a loader's image in a registry that asks for a login, pulled by a real kubelet (bookworm)", function () {
            let registry: Registry;
            let image: string;
            let deployment: KubeObject;
            let pullSecret: KubeObject;
            // The default namespace, as the memory scenarios' pods: nothing of the loader's own is left in the box
            // for the stacks that deploy the loader there.
            const namespace = "default";
            const pods = `/api/v1/namespaces/${namespace}/pods`;
            const names = ["swh-e2e-pull-without", "swh-e2e-pull-with", "swh-e2e-pull-cached"];

            before(async function () {
                registry = await startRegistry(
                    NODE_REGISTRY_PORT,
                    "swh-e2e-pull",
                    crypto.randomBytes(12).toString("hex"),
                );
                image = pushPodImage(registry, "swh-e2e/loader-pull");
                // The staging program, its images pushed to this registry with this login.
                const images = JSON.parse(config["elastic-workers:images"]);
                const { recorder: program } = await runProgram(
                    {
                        ...config,
                        "elastic-workers:images": JSON.stringify({
                            ...images,
                            registry: registry.address,
                            username: registry.username,
                        }),
                    },
                    { ...FAKE_SECRETS, registryPassword: registry.password },
                    rancherOutputs(UNREACHABLE_NODE_COMMAND),
                );
                deployment = program.named("loader-git-deployment").inputs;
                const secret = program.named("loader-git-registry").inputs;
                pullSecret = {
                    apiVersion: "v1",
                    kind: "Secret",
                    ...secret,
                    metadata: { ...secret.metadata, namespace },
                };
                await ensurePriorityClasses(box.kube, program);
                await box.kube.ensure(`/api/v1/namespaces/${namespace}/secrets`, pullSecret, {
                    update: true,
                });
            });

            after(async function () {
                if (keep) return;
                for (const n of names) await box.kube.delete(`${pods}/${n}`, 0);
                await box.kube.delete(`/api/v1/namespaces/${namespace}/secrets/${pullSecret.metadata.name}`);
                registry?.stop();
            });

            /** The program's loader pod on bookworm, running the pushed image; without its pull Secret if asked. */
            async function startLoaderPod(name: string, withSecret: boolean) {
                const pod = loaderPod(deployment, name, "bookworm", hold(8));
                pod.metadata.namespace = namespace;
                pod.spec.containers[0].image = image;
                if (!withSecret) delete pod.spec.imagePullSecrets;
                // One at a time: each requests the loader's CPU, and the 2-CPU node has room for two at most.
                for (const other of names) await deletePod(box.kube, namespace, other);
                await createPod(box.kube, pod);
            }

            /** Waits for the pod to run, or for the kubelet to refuse its image; then what it said. */
            function pullOutcome(name: string) {
                return until(`${name}: its image pulled or refused`, 180, async () => {
                    const pod = await box.kube.get(`${pods}/${name}`);
                    const s = pod.status?.containerStatuses?.[0];
                    if (s?.state?.running) return { running: true, imageID: s.imageID as string };
                    if (!["ErrImagePull", "ImagePullBackOff"].includes(s?.state?.waiting?.reason))
                        return undefined;
                    // This pod's own event, not one left by an earlier run's pod of the same name.
                    const failed = (await podEvents(box.kube, namespace, name)).find(
                        (e) =>
                            e.reason === "Failed" &&
                            e.source?.component === "kubelet" &&
                            e.involvedObject?.uid === pod.metadata.uid,
                    );
                    return failed && { running: false, message: failed.message as string };
                });
            }

            it("the program's pods list its pull Secret; without it the kubelet's pull is refused as unauthorized", async () => {
                assert.deepEqual(deployment.spec.template.spec.imagePullSecrets, [
                    { name: "loader-git-registry" },
                ]);
                assert.equal(pullSecret.type, "kubernetes.io/dockerconfigjson");
                assert.deepEqual(Object.keys(JSON.parse(pullSecret.stringData[".dockerconfigjson"]).auths), [
                    registry.address,
                ]);
                await startLoaderPod(names[0], false);
                const outcome = await pullOutcome(names[0]);
                console.log(`      without the Secret: ${outcome.message}`);
                assert.equal(outcome.running, false);
                assert.match(outcome.message!, /401 Unauthorized|authorization failed|unauthorized/i);
            });

            it("with the program's pull Secret, the kubelet pulls the image by digest and the pod runs", async () => {
                await startLoaderPod(names[1], true);
                const outcome = await pullOutcome(names[1]);
                console.log(`      with the Secret: running ${outcome.imageID}`);
                assert.equal(outcome.running, true);
                assert.equal(outcome.imageID, image, "the digest the registry serves");
            });

            it("with the image already on the node, a pod without the Secret is still refused (KEP-2535)", async () => {
                await startLoaderPod(names[2], false);
                const outcome = await pullOutcome(names[2]);
                console.log(`      cached, without the Secret: ${outcome.message}`);
                assert.equal(outcome.running, false, "a pod without the credentials cannot use the image");
                // The kubelet asked the registry again, without credentials, rather than use the node's copy.
                assert.match(outcome.message!, /401 Unauthorized|authorization failed|unauthorized/i);
            });
        });

        describe(`memory on a real node bounded to ${HOST_MEMORY} (bookworm): the kernel kills in a pod's cgroup, the kubelet evicts before the node's`, function () {
            const pods = "/api/v1/namespaces/default/pods";
            let host: TestHost;
            let guard: NodeGuard;
            let podsLimit: number;
            // The pool's reservations as the program reads them (the schema's defaults where the config is silent).
            const reservations = () => reservationsSchema.parse(pool().reservations ?? {});

            before(async function () {
                host = hosts.find((h) => h.name === "bookworm")!;
                guard = nodeGuard(host);
                const m = await nodeMemory(box.kube, host.name);
                podsLimit = m.podsAvailableBytes + m.podsWorkingSetBytes;
                console.log(
                    `      bookworm at rest: available ${(m.availableBytes / MiB).toFixed(0)} MiB (working set ` +
                        `${(m.workingSetBytes / MiB).toFixed(0)} MiB); pods' cgroup: available ` +
                        `${(m.podsAvailableBytes / MiB).toFixed(0)} MiB`,
                );
            });

            /**
             * Waits for the kubelet to evict one of `names`: its Evicted event, and the condition it leaves on the
             * pod (the pod's phase is its container's: a loader that exits 0 on SIGTERM ends Succeeded).
             */
            async function eviction(names: string[], seconds: number) {
                const found = await until(
                    `the kubelet evicts one of ${names.join(", ")}`,
                    seconds,
                    async () => {
                        for (const n of names) {
                            const event = (await podEvents(box.kube, "default", n)).find(
                                (e) => e.reason === "Evicted",
                            );
                            if (event) return { name: n, event, at: Date.now() };
                        }
                        return undefined;
                    },
                );
                // The kubelet records the event, then updates the pod's status.
                const target = await until(`${found.name}: its DisruptionTarget condition`, 30, async () =>
                    (await box.kube.get(`${pods}/${found.name}`)).status.conditions.find(
                        (c: { type: string }) => c.type === "DisruptionTarget",
                    ),
                );
                console.log(
                    `      ${found.name}: ${found.event.reason} by the ${found.event.source?.component}: ${found.event.message}`,
                );
                assert.equal(found.event.source?.component, "kubelet");
                assert.equal(target?.reason, "TerminationByKubelet", "the pod says the kubelet ended it");
                return found;
            }

            /**
             * The node stays Ready, its kubelet and containerd never restarted, and the kernel killed nothing on
             * it beyond `allowed` (the kills it logged for this host before the test, and any it is allowed).
             */
            async function assertNodeUnharmed(
                killsBefore: number,
                allowed: (k: KernelOomKill) => boolean = () => false,
            ) {
                const node = await box.kube.get(`/api/v1/nodes/${host.name}`);
                const ready = node.status.conditions.find((c: { type: string }) => c.type === "Ready");
                assert.equal(ready.status, "True", "the node stays Ready");
                assert.deepEqual(nodeGuard(host), guard, "kubelet and containerd never restarted");
                const kills = kernelOomKills(host).slice(killsBefore);
                assert.deepEqual(
                    kills.filter((k) => !allowed(k)),
                    [],
                    "no other OOM kill by the kernel",
                );
                const systemOom = await box.kube.list(
                    `/api/v1/namespaces/default/events?fieldSelector=involvedObject.kind=Node,reason=SystemOOM`,
                );
                assert.equal(systemOom.length, 0, "no SystemOOM event");
                return kills;
            }

            after(async function () {
                if (keep) return;
                stopSystemMemory(host);
                for (const p of await box.kube.list(
                    `${pods}?labelSelector=app.kubernetes.io/name%3Dswh-e2e-memory`,
                ))
                    await box.kube.delete(`${pods}/${p.metadata.name}`, 0);
            });

            it("a loader pod past its memory limit is OOM-killed in its own cgroup and restarted; the node stays Ready", async () => {
                await ensurePriorityClasses(box.kube, recorder);
                const limitOf = (d: Recorded) =>
                    parseMemory(d.inputs.spec.template.spec.containers[0].resources.limits.memory)!;
                const loaders = recorder
                    .ofType("kubernetes:apps/v1:Deployment")
                    .filter((d) => d.inputs.metadata.name.startsWith("loader-"));
                // A loader whose own limit the node can hold: a limit past the pods' cgroup (git's 20Gi on this
                // node, as on staging's 8Gi hosts) is never reached; the pods' cgroup runs out first.
                const deployment = loaders.find((d) => limitOf(d) + 256 * MiB <= podsLimit);
                assert.ok(deployment, `a loader with a limit below ${podsLimit / MiB} MiB`);
                const limit = limitOf(deployment);
                const name = "swh-e2e-loader-oom";
                const killsBefore = kernelOomKills(host).length;
                // Past the limit at once: the loader's own cgroup runs out, not the pods' or the node's.
                const pod = loaderPod(deployment.inputs, name, host.name, hold(limit / MiB + 128));
                await createPod(box.kube, pod);
                const killed = await until(`${name}: OOM-killed`, 180, async () => {
                    const p = await box.kube.get(`${pods}/${name}`);
                    const s = p.status.containerStatuses?.[0];
                    const t = s?.lastState?.terminated ?? s?.state?.terminated;
                    return t?.reason === "OOMKilled" ? { p, s, t } : undefined;
                });
                console.log(
                    `      ${name} (${deployment.inputs.metadata.name}'s pod, limit ${limit / MiB} MiB): ${killed.t.reason}, ` +
                        `exit code ${killed.t.exitCode}, restarts ${killed.s.restartCount}`,
                );
                assert.equal(killed.t.exitCode, 137);
                await box.kube.delete(`${pods}/${name}`, 0);
                // The pod's cgroup, limited to the sum of its containers' limits, or its container's.
                const own = `/kubepods/burstable/pod${killed.p.metadata.uid}`;
                const kills = await assertNodeUnharmed(
                    killsBefore,
                    (k) => k.oomMemcg === own || k.oomMemcg.startsWith(`${own}/`),
                );
                for (const k of kills)
                    console.log(`      kernel: OOM in ${k.oomMemcg}, killed ${k.task} of ${k.taskMemcg}`);
                assert.ok(
                    kills.length > 0,
                    "the kernel logged the kill, in the loader container's own cgroup",
                );
            });

            it("a system service outgrows its reservation past the soft threshold: the kubelet evicts a best-effort pod once the grace period has passed", async () => {
                const r = reservations();
                const soft = parseMemory(r.evictionSoftMemory)!;
                const hard = parseMemory(r.evictionHardMemory)!;
                const grace = parseDuration(r.evictionSoftGracePeriod)!;
                const name = "swh-e2e-soft";
                const killsBefore = kernelOomKills(host).length;
                await createPod(box.kube, memoryPod(name, host.name, hold(384)));
                await until(`${name}: holds its memory`, 120, async () =>
                    (await box.kube.get(`${pods}/${name}/log`)).text?.includes("384 MiB"),
                );
                // Pods alone cannot reach it: their cgroup stops at capacity − kube-reserved − system-reserved.
                // A system service takes what is left down to the middle between the soft and hard thresholds.
                const m = await nodeMemory(box.kube, host.name, Date.now());
                const take = Math.floor((m.availableBytes - (soft + hard) / 2) / MiB);
                assert.ok(take > 0, `room for a system service: available ${m.availableBytes / MiB} MiB`);
                await startSystemMemory(host, hold(take));
                const held = Date.now();
                // The kubelet's stats lag by its housekeeping interval (10 s).
                const under = await until(
                    "the kubelet sees the node between the thresholds",
                    60,
                    async () => {
                        const now = await nodeMemory(box.kube, host.name);
                        return now.availableBytes < soft && now.availableBytes > hard ? now : undefined;
                    },
                );
                console.log(
                    `      ${SYSTEM_MEMORY_UNIT} holds ${take} MiB: available ${(under.availableBytes / MiB).toFixed(0)} MiB`,
                );
                const evicted = await eviction([name], grace + 120);
                const after = (evicted.at - held) / 1000;
                console.log(`      ${name}: evicted ${after.toFixed(0)} s after the memory was held`);
                assert.match(
                    evicted.event.message,
                    new RegExp(`low on resource: memory\\. Threshold quantity: ${r.evictionSoftMemory},`),
                );
                assert.ok(
                    after >= grace,
                    `evicted after the ${grace} s grace period (${after.toFixed(0)} s)`,
                );
                const node = await box.kube.get(`/api/v1/nodes/${host.name}`);
                assert.equal(
                    node.status.conditions.find((c: { type: string }) => c.type === "MemoryPressure").status,
                    "True",
                );
                stopSystemMemory(host);
                await assertNodeUnharmed(killsBefore);
            });

            it("best-effort pods that grow past the hard threshold of the pods' memory are evicted by the kubelet before the kernel kills anything", async () => {
                const r = reservations();
                // Two pods growing at a pace the kubelet's 10 s housekeeping can see, each up to half of all the
                // pods' memory: were they not evicted, the kernel would OOM-kill in the pods' cgroup at the end.
                const all = podsLimit / MiB;
                const names = ["swh-e2e-grow-a", "swh-e2e-grow-b"];
                const killsBefore = kernelOomKills(host).length;
                for (const n of names)
                    await createPod(box.kube, memoryPod(n, host.name, {
                        startMiB: Math.floor(all / 2 - 512), stepMiB: 8, pauseSeconds: 1, totalMiB: Math.floor(all / 2),
                    })); // prettier-ignore
                const started = Date.now();
                const evicted = await eviction(names, 300);
                console.log(
                    `      ${evicted.name}: evicted ${((evicted.at - started) / 1000).toFixed(0)} s after the pods started growing`,
                );
                assert.match(
                    evicted.event.message,
                    new RegExp(`low on resource: memory\\. Threshold quantity: ${r.evictionHardMemory},`),
                );
                for (const n of names) {
                    const s = (await box.kube.get(`${pods}/${n}`)).status.containerStatuses?.[0];
                    assert.notEqual(s?.state?.terminated?.reason, "OOMKilled", `${n} was not OOM-killed`);
                }
                await assertNodeUnharmed(killsBefore);
            });
        });
    });
});
