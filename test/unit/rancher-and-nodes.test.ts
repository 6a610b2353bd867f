import { strict as assert } from "assert";
import * as YAML from "yaml";
import { externalKubeconfig, k3sConfig } from "../../components/rancher-server/k3s";
import {
    checkRancherSupportsKubernetes,
    minorOf,
    RANCHER_KUBERNETES_SUPPORT,
} from "../../components/rancher-server/support-matrix";
import { clusterV2Args, distributionOf } from "../../components/worker-node-pool/cluster";
import { kubeletDropIn, nodePrepSteps } from "../../components/worker-node-pool/node-prep";
import { registrationCommand } from "../../components/worker-node-pool/registration";
import { DEFAULT_RESERVATIONS } from "../../components/worker-node-pool/capacity";
import { versions } from "../../components/common/versions";
import { remoteScript, shQuote } from "../../components/common/shell";
import { execFileSync } from "child_process";
import { FAKE_KUBECONFIG } from "../harness/pulumi";

describe("Rancher / Kubernetes support matrix", () => {
    it("accepts the pinned pair and every supported minor", () => {
        assert.doesNotThrow(() => checkRancherSupportsKubernetes(versions.rancher, versions.k3s, "k"));
        assert.doesNotThrow(() => checkRancherSupportsKubernetes(versions.rancher, versions.rke2, "k"));
        for (const [rancher, { min, max }] of Object.entries(RANCHER_KUBERNETES_SUPPORT)) {
            assert.doesNotThrow(() => checkRancherSupportsKubernetes(`${rancher}.0`, `v${min}.1+k3s1`, "k"));
            assert.doesNotThrow(() =>
                checkRancherSupportsKubernetes(`${rancher}.0`, `v${max}.1+rke2r1`, "k"),
            );
        }
    });

    it("refuses the seed's pair (Rancher 2.5.9 on k3s 1.22), naming both versions and the range", () => {
        assert.throws(
            () => checkRancherSupportsKubernetes("2.5.9", "v1.22.2+k3s1", "rancher.k3sVersion"),
            /rancher\.k3sVersion: expected Kubernetes 1\.17-1\.20, the range Rancher 2\.5\.9 supports \(Kubernetes v1\.22\.2\+k3s1 is outside it/,
        );
        assert.throws(
            () => checkRancherSupportsKubernetes("2.13.1", "v1.31.0+k3s1", "k"),
            /1\.32-1\.34, the range Rancher 2\.13\.1 supports/,
        );
        assert.throws(
            () => checkRancherSupportsKubernetes("3.0.0", "v1.33.0+k3s1", "k"),
            /a Rancher version in the support matrix \(2\.5, .*2\.13\)/,
        );
    });

    it("reads versions the way Rancher and k3s write them", () => {
        assert.deepEqual(minorOf("v1.33.4+k3s1"), [1, 33]);
        assert.deepEqual(minorOf("1.28"), [1, 28]);
        assert.equal(minorOf("latest"), undefined);
        assert.equal(distributionOf("v1.33.4+rke2r1", "k"), "rke2");
        assert.equal(distributionOf("v1.33.4+k3s1", "k"), "k3s");
        assert.throws(
            () => distributionOf("v1.33.4", "pool.kubernetesVersion"),
            /pool\.kubernetesVersion: expected an RKE2 or k3s version/,
        );
    });

    it("k3s config keeps host-gw and the TLS names; the kubeconfig is rewritten to the host's address", () => {
        const cfg = YAML.parse(
            k3sConfig({
                version: "v1.33.4+k3s1",
                flannelBackend: "host-gw",
                tlsSans: ["192.0.2.5", "rancher.test"],
                readyTimeoutSeconds: 60,
            }),
        );
        assert.deepEqual(cfg, {
            "flannel-backend": "host-gw",
            "write-kubeconfig-mode": "0600",
            "tls-san": ["192.0.2.5", "rancher.test"],
        });
        assert.match(
            externalKubeconfig(FAKE_KUBECONFIG, "192.0.2.5"),
            /server: https:\/\/192\.0\.2\.5:6443\n/,
        );
        assert.match(
            externalKubeconfig(FAKE_KUBECONFIG, "2001:db8::5"),
            /server: https:\/\/\[2001:db8::5\]:6443\n/,
        );
        assert.throws(
            () => externalKubeconfig("not: a kubeconfig", "x"),
            /expected a kubeconfig with a cluster server/,
        );
    });
});

describe("node preparation and registration", () => {
    it("runs iptables-legacy, swap-off, kernel modules, sysctls, then kubelet config", () => {
        const steps = nodePrepSteps("rke2", DEFAULT_RESERVATIONS);
        assert.deepEqual(
            steps.map((s) => s.name),
            ["iptables-legacy", "swap-off", "kernel-modules", "sysctls", "kubelet-config"],
        );
        assert.equal(steps[2].env.MODULES, "overlay br_netfilter");
        assert.match(steps[3].env.SYSCTL_CONF, /net\.ipv4\.ip_forward = 1/);
        assert.match(steps[3].env.SYSCTL_CONF, /net\.bridge\.bridge-nf-call-iptables = 1/);
        assert.equal(
            nodePrepSteps("k3s", DEFAULT_RESERVATIONS)[4].env.CONFIG_DIR,
            "/etc/rancher/k3s/config.yaml.d",
        );
        assert.deepEqual(
            Object.keys(YAML.parse(kubeletDropIn(DEFAULT_RESERVATIONS))),
            ["kubelet-arg+"],
            "appends to Rancher's kubelet args",
        );
    });

    it("quotes host values so a label cannot inject shell", () => {
        const cmd = registrationCommand("curl x | sh -s - --token t", {
            name: "w1",
            address: "10.0.0.1",
            roles: ["worker"],
            labels: { "swh/loader": "true'; rm -rf / #" },
            taints: [{ key: "dedicated", value: "loaders", effect: "NoSchedule" }],
        });
        const argv = execFileSync("sh", [
            "-c",
            `for a in ${cmd.replace(/^.*--token t /, "")}; do printf '%s\\n' "$a"; done`,
        ])
            .toString()
            .trim()
            .split("\n");
        assert.deepEqual(argv, [
            "--node-name",
            "w1",
            "--address",
            "10.0.0.1",
            "--worker",
            "--label",
            "swh/loader=true'; rm -rf / #",
            "--taint",
            "dedicated=loaders:NoSchedule",
        ]);
    });

    it("remoteScript passes variables inline, quoted, and runs the script under sh -eu (sudo for non-root)", () => {
        const out = execFileSync("sh", [
            "-c",
            remoteScript('printf "%s|%s" "$A" "$B"', { B: "it's", A: "x y" }, { sudo: false }),
        ]).toString();
        assert.equal(out, "x y|it's");
        assert.match(remoteScript("true", {}, { sudo: true }), /^sudo -n env sh -euc /);
        assert.equal(shQuote("a'b"), `'a'"'"'b'`);
        assert.throws(
            () =>
                execFileSync("sh", ["-c", remoteScript('echo "$UNSET_VAR"', {}, { sudo: false })], {
                    stdio: "pipe",
                }),
            "-u: unset variables fail",
        );
    });

    it("the custom cluster drains workers with each pod's own grace period on upgrades", () => {
        const args = clusterV2Args({
            name: "c",
            kubernetesVersion: "v1.33.4+rke2r1",
            flannelBackend: "host-gw",
            cni: "calico",
            drainTimeoutSeconds: 3600,
        });
        const rke = args.rkeConfig as {
            machineGlobalConfig: string;
            upgradeStrategy: { workerDrainOptions: Record<string, unknown> };
        };
        assert.deepEqual(YAML.parse(rke.machineGlobalConfig), { cni: "calico" });
        assert.equal(rke.upgradeStrategy.workerDrainOptions.gracePeriod, -1);
        assert.equal(rke.upgradeStrategy.workerDrainOptions.timeout, 3600);
        const k3s = clusterV2Args({
            name: "c",
            kubernetesVersion: "v1.33.4+k3s1",
            flannelBackend: "host-gw",
            cni: "calico",
            drainTimeoutSeconds: 60,
        });
        assert.deepEqual(YAML.parse((k3s.rkeConfig as { machineGlobalConfig: string }).machineGlobalConfig), {
            "flannel-backend": "host-gw",
        });
    });
});
