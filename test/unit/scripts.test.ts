import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stepCommand } from "../../components/common/remote";
import { k3sSteps } from "../../components/rancher-server/k3s";
import { DEFAULT_RESERVATIONS } from "../../components/worker-node-pool/capacity";
import { nodePrepSteps } from "../../components/worker-node-pool/node-prep";
import { ROOT } from "../harness/program";

function shellcheck(args: string[], input?: string): { status: number; out: string } {
    const r = spawnSync("shellcheck", args, { input, encoding: "utf8" });
    if (r.error)
        throw new Error(
            `shellcheck is needed for this test: apt-get install shellcheck (${r.error.message})`,
        );
    return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

const SCRIPTS = [
    ...fs
        .readdirSync(path.join(ROOT, "components/worker-node-pool/scripts"))
        .map((f) => `components/worker-node-pool/scripts/${f}`),
    ...fs
        .readdirSync(path.join(ROOT, "components/rancher-server/scripts"))
        .map((f) => `components/rancher-server/scripts/${f}`),
    "images/loader/entrypoint.sh",
];

describe("shell scripts", () => {
    it("every shipped script passes shellcheck as POSIX sh", () => {
        assert.ok(SCRIPTS.length >= 10, SCRIPTS.join(" "));
        const r = shellcheck(["-s", "sh", ...SCRIPTS.map((s) => path.join(ROOT, s))]);
        assert.equal(r.status, 0, r.out);
    });

    it("shellcheck does report a broken script (the check can fail)", () => {
        const r = shellcheck(["-s", "sh", "-"], "#!/bin/sh\nrm -rf $DIR/*\n");
        assert.notEqual(r.status, 0);
        assert.match(r.out, /SC2086/);
    });

    it("the commands sent over SSH (variables inline, sudo, script) pass shellcheck too", () => {
        const host = { name: "h", address: "10.0.0.1", port: 22, user: "debian" };
        for (const step of [
            ...nodePrepSteps("rke2", DEFAULT_RESERVATIONS),
            ...k3sSteps({
                version: "v1.33.4+k3s1",
                flannelBackend: "host-gw",
                tlsSans: ["x"],
                readyTimeoutSeconds: 5,
            }),
        ]) {
            const r = shellcheck(["-s", "sh", "-"], `#!/bin/sh\n${stepCommand(host, step)}\n`);
            assert.equal(r.status, 0, `${step.name}: ${r.out}`);
        }
    });
});

describe("loader entrypoint", () => {
    let dir: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "entrypoint-"));
        // A stand-in celery that records its arguments, one per line.
        fs.writeFileSync(path.join(dir, "celery"), `#!/bin/sh\nprintf '%s\\n' "$@" > "${dir}/argv"\n`, {
            mode: 0o755,
        });
        fs.writeFileSync(path.join(dir, "config.yml"), "celery: {}\n");
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    function run(env: Record<string, string>) {
        fs.rmSync(path.join(dir, "argv"), { force: true });
        const r = spawnSync("sh", [path.join(ROOT, "images/loader/entrypoint.sh")], {
            env: {
                PATH: `${dir}:/usr/bin:/bin`,
                SWH_CONFIG_FILENAME: path.join(dir, "config.yml"),
                SWH_WORKER_INSTANCE: "loader-git",
                ...env,
            },
            encoding: "utf8",
        });
        const argv = fs.existsSync(path.join(dir, "argv"))
            ? fs.readFileSync(path.join(dir, "argv"), "utf8").trim().split("\n")
            : undefined;
        return { status: r.status, stderr: r.stderr, argv };
    }

    it("execs one prefork Celery worker of SWH's app with -Ofair, concurrency and max-tasks-per-child", () => {
        const r = run({ CONCURRENCY: "2", MAX_TASKS_PER_CHILD: "7" });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.argv, [
            "--app=swh.scheduler.celery_backend.config.app",
            "worker",
            "--pool=prefork",
            "--concurrency=2",
            "--max-tasks-per-child=7",
            "-Ofair",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--hostname",
            "loader-git@%h",
        ]);
    });

    it("oneshot mode (ScaledJob pods) runs one task in the solo pool", () => {
        const r = run({ WORKER_MODE: "oneshot", CONCURRENCY: "4" });
        assert.equal(r.status, 0, r.stderr);
        assert.ok(r.argv!.includes("--app=swh_elastic_oneshot.app"));
        assert.ok(r.argv!.includes("--pool=solo"));
        assert.ok(r.argv!.includes("--concurrency=1"));
    });

    for (const [env, code, message] of [
        [{ CONCURRENCY: "0" }, 64, /CONCURRENCY must be a positive whole number, got '0'/],
        [{ MAX_TASKS_PER_CHILD: "five" }, 64, /MAX_TASKS_PER_CHILD must be a positive whole number/],
        [{ WORKER_MODE: "batch" }, 64, /WORKER_MODE must be worker or oneshot/],
        [
            { SWH_CONFIG_FILENAME: "/nonexistent/config.yml" },
            66,
            /worker config \/nonexistent\/config\.yml is not readable/,
        ],
        [{ SWH_WORKER_INSTANCE: "" }, 2, /SWH_WORKER_INSTANCE must name the worker/],
    ] as [Record<string, string>, number, RegExp][]) {
        it(`refuses ${JSON.stringify(env)} with exit ${code} before starting Celery`, () => {
            const r = run(env);
            assert.equal(r.status, code, r.stderr);
            assert.match(r.stderr, message);
            assert.equal(r.argv, undefined, "celery did not start");
        });
    }
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
