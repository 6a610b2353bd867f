import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { DEFAULT_RESERVATIONS } from "../../components/worker-node-pool/capacity";
import { kubeletDropIn, nodePrepSteps } from "../../components/worker-node-pool/node-prep";

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
});

describe("node-prep scripts, run against a scratch root", () => {
    it("kubelet-config writes the drop-in once, restarts the running agent, and changes nothing the second time", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kubelet-"));
        // A service manager stub: rke2-agent is running; every call is logged.
        const stub = path.join(dir, "systemctl");
        fs.writeFileSync(
            stub,
            `#!/bin/sh\necho "$*" >> "${dir}/calls"\n[ "$1" = restart ] || [ "$3" = rke2-agent ]\n`,
            { mode: 0o755 },
        );
        const step = nodePrepSteps("rke2", DEFAULT_RESERVATIONS)[4];
        const env = {
            PATH: "/usr/bin:/bin",
            ...step.env,
            CONFIG_DIR: path.join(dir, "conf.d"),
            SYSTEMCTL: stub,
        };
        const first = execFileSync("sh", ["-eu", "-c", step.script], { env, encoding: "utf8" });
        assert.match(first, /kubelet config: written to .*\nrestarted rke2-agent/);
        const calls = () => fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");
        assert.deepEqual(
            calls().filter((c) => c.startsWith("restart")),
            ["restart rke2-agent"],
        );
        const before = calls().length;
        const second = execFileSync("sh", ["-eu", "-c", step.script], { env, encoding: "utf8" });
        assert.equal(second.trim(), "kubelet config: unchanged");
        assert.equal(calls().length, before, "no restart when nothing changed");
        assert.equal(
            fs.readFileSync(path.join(dir, "conf.d", "90-swh-kubelet.yaml"), "utf8").trim(),
            step.env.KUBELET_CONFIG.trim(),
        );
        fs.rmSync(dir, { recursive: true });
    });
});
