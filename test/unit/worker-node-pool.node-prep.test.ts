import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { DEFAULT_RESERVATIONS } from "../../components/worker-node-pool/capacity";
import { kubeletDropIn, nodePrepSteps, shippedScript } from "../../components/worker-node-pool/node-prep";
import { NODE_PREP_STEPS } from "../fixtures";

describe("node preparation and registration", () => {
    it("installs missing packages, then runs iptables-legacy, swap-off, kernel modules, sysctls, kubelet config", () => {
        const steps = nodePrepSteps("rke2", DEFAULT_RESERVATIONS);
        assert.deepEqual(
            steps.map((s) => s.name),
            NODE_PREP_STEPS,
        );
        const env = (name: string, k3s = false) =>
            nodePrepSteps(k3s ? "k3s" : "rke2", DEFAULT_RESERVATIONS).find((s) => s.name === name)!.env;
        assert.equal(env("packages").PACKAGES, "iptables curl");
        assert.equal(env("kernel-modules").MODULES, "overlay br_netfilter");
        assert.match(env("sysctls").SYSCTL_CONF, /net\.ipv4\.ip_forward = 1/);
        assert.match(env("sysctls").SYSCTL_CONF, /net\.bridge\.bridge-nf-call-iptables = 1/);
        assert.equal(env("kubelet-config", true).CONFIG_DIR, "/etc/rancher/k3s/config.yaml.d");
        assert.deepEqual(
            Object.keys(YAML.parse(kubeletDropIn(DEFAULT_RESERVATIONS))),
            ["kubelet-arg+"],
            "appends to Rancher's kubelet args",
        );
    });
});

/**
 * A scratch directory with a service manager stub: `is-active`/`is-enabled` answer from the files
 * `<dir>/active/<unit>`, `restart` fails while `<dir>/restart-fails` exists; every call is logged.
 */
function serviceManagerStub() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "node-prep-"));
    fs.mkdirSync(path.join(dir, "active"));
    const stub = path.join(dir, "systemctl");
    fs.writeFileSync(
        stub,
        [
            "#!/bin/sh",
            `echo "$*" >> "${dir}/calls"`,
            'unit=$(eval echo "\\${$#}")',
            "case $1 in",
            `restart) ! [ -e "${dir}/restart-fails" ] ;;`,
            `*) [ -e "${dir}/active/$unit" ] ;;`,
            "esac",
            "",
        ].join("\n"),
        { mode: 0o755 },
    );
    const calls = () =>
        fs.existsSync(path.join(dir, "calls"))
            ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n")
            : [];
    const run = (script: string, env: Record<string, string>) => {
        const r = spawnSync("sh", ["-eu", "-c", script], {
            env: { PATH: "/usr/bin:/bin", SYSTEMCTL: stub, ...env },
            encoding: "utf8",
        });
        return { status: r.status, out: r.stdout, err: r.stderr };
    };
    return { dir, calls, run, done: () => fs.rmSync(dir, { recursive: true }) };
}

describe("node-prep scripts, run against a scratch root", () => {
    const step = nodePrepSteps("rke2", DEFAULT_RESERVATIONS).find((s) => s.name === "kubelet-config")!;

    it("kubelet-config writes the drop-in once, restarts the running agent, and changes nothing the second time", () => {
        const s = serviceManagerStub();
        fs.writeFileSync(path.join(s.dir, "active", "rke2-agent"), "");
        const env = { ...step.env, CONFIG_DIR: path.join(s.dir, "conf.d") };
        const first = s.run(step.script, env);
        assert.equal(first.status, 0, first.err);
        assert.match(first.out, /kubelet config: written to .*\nrestarted rke2-agent/);
        assert.deepEqual(
            s.calls().filter((c) => c.startsWith("restart")),
            ["restart rke2-agent"],
        );
        const before = s.calls().length;
        const second = s.run(step.script, env);
        assert.equal(second.out.trim(), "kubelet config: unchanged");
        assert.equal(s.calls().length, before, "no restart when nothing changed");
        assert.equal(
            fs.readFileSync(path.join(s.dir, "conf.d", "90-swh-kubelet.yaml"), "utf8").trim(),
            step.env.KUBELET_CONFIG.trim(),
        );
        s.done();
    });

    it("kubelet-config fails when the agent's restart fails, and the next run retries the restart until it succeeds", () => {
        const s = serviceManagerStub();
        fs.writeFileSync(path.join(s.dir, "active", "rke2-agent"), "");
        fs.writeFileSync(path.join(s.dir, "restart-fails"), "");
        const env = { ...step.env, CONFIG_DIR: path.join(s.dir, "conf.d") };
        const first = s.run(step.script, env);
        assert.notEqual(first.status, 0, "a failed restart fails the step");
        assert.match(first.err, /restarting rke2-agent failed/);
        // The agent stays down after the failed restart: no longer active, still installed (enabled).
        fs.rmSync(path.join(s.dir, "active", "rke2-agent"));
        fs.writeFileSync(path.join(s.dir, "active", "rke2-agent-enabled"), "");
        const stubEnabled = `${s.dir}/systemctl`;
        fs.writeFileSync(
            stubEnabled,
            fs
                .readFileSync(stubEnabled, "utf8")
                .replace('*) [ -e "', `is-enabled) [ -e "${s.dir}/active/$unit-enabled" ] ;;\n*) [ -e "`),
        );
        const again = s.run(step.script, env);
        assert.notEqual(again.status, 0, "still failing: not reported as unchanged");
        assert.match(again.out, /unchanged, but the agent has not restarted on it yet/);
        fs.rmSync(path.join(s.dir, "restart-fails"));
        const fixed = s.run(step.script, env);
        assert.equal(fixed.status, 0, fixed.err);
        assert.match(fixed.out, /restarted rke2-agent/);
        assert.equal(s.run(step.script, env).out.trim(), "kubelet config: unchanged");
        s.done();
    });

    it("register fails when Rancher's node command fails inside its pipe, or leaves no agent running", () => {
        const s = serviceManagerStub();
        const script = shippedScript("register.sh");
        // `curl ... | sh -s -` with curl failing: sh reads nothing and exits 0.
        const unreachable = s.run(script, {
            REGISTER_COMMAND: "false | sh -s - --server https://127.0.0.1:9",
        });
        assert.notEqual(unreachable.status, 0, unreachable.out);
        assert.match(unreachable.err, /registration failed: Rancher's node command exited non-zero/);
        const noAgent = s.run(script, { REGISTER_COMMAND: "true | sh -s -" });
        assert.notEqual(noAgent.status, 0, noAgent.out);
        assert.match(noAgent.err, /rancher-system-agent is not running/);
        const agent = path.join(s.dir, "active", "rancher-system-agent");
        const registered = s.run(script, { REGISTER_COMMAND: `touch ${agent} | sh -s -` });
        assert.equal(registered.status, 0, registered.err);
        assert.match(registered.out, /host registered/);
        assert.match(s.run(script, { REGISTER_COMMAND: "false" }).out, /already running/);
        s.done();
    });
});
