import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loaderSettingsSchema } from "../../components/keda-scaled-loader/args";
import { ROOT } from "../harness/program";

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

    it("execs one prefork Celery worker of SWH's app (whose tasks steer scale-downs) with -Ofair, concurrency and max-tasks-per-child", () => {
        const r = run({ CONCURRENCY: "2", MAX_TASKS_PER_CHILD: "7" });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.argv, [
            "--app=swh_elastic_worker.app",
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

    it("a new container forgets an earlier container's stop: the preStop witness is removed", () => {
        const witness = path.join(dir, "stopping");
        fs.writeFileSync(witness, "");
        const r = run({ SWH_STOP_WITNESS: witness });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(fs.existsSync(witness), false);
    });

    it("max-tasks-per-child falls back to the loader's default, in the entrypoint and the image alike", () => {
        const fallback = String(loaderSettingsSchema.shape.maxTasksPerChild.parse(undefined));
        assert.equal(fallback, "10", "SWH's value");
        assert.ok(run({}).argv!.includes(`--max-tasks-per-child=${fallback}`));
        const dockerfile = fs.readFileSync(path.join(ROOT, "images/loader/Dockerfile"), "utf8");
        assert.match(dockerfile, new RegExp(`MAX_TASKS_PER_CHILD=${fallback} `));
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
