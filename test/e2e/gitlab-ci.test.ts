/**
 * .gitlab-ci.yml run locally with gitlab-ci-local (shell executor), in a clone of the committed tree: the
 * pipeline's shape, the test job, and the preview and up jobs for real on the offline `local` stack (the
 * merge request's preview saves its plan; the manual up applies exactly that plan).
 */
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { prepareLocal, stopLocalServices } from "../rig/demo";
import { pulumiOk } from "../rig/engine/cli";
import { ROOT, engineEnv } from "../rig/engine/env";
import { LOCAL_RESOURCES } from "./fixtures/local-plan";

const GCL = path.join(ROOT, "node_modules/.bin/gitlab-ci-local");

describe(".gitlab-ci.yml under gitlab-ci-local", function () {
    let clone: string;
    before(() => {
        clone = fs.mkdtempSync(path.join(os.tmpdir(), "swh-gitlab-ci-"));
        execFileSync("git", ["clone", "-q", ROOT, clone]);
        // gitlab-ci-local reads the project path from the remote; nothing is fetched from it.
        execFileSync("git", [
            "-C",
            clone,
            "remote",
            "set-url",
            "origin",
            "https://gitlab.softwareheritage.org/swh/infra/elastic-workers.git",
        ]);
    });
    after(() => fs.rmSync(clone, { recursive: true, force: true }));

    function gcl(args: string[], env: Record<string, string> = {}) {
        const r = spawnSync(GCL, args, {
            cwd: clone,
            encoding: "utf8",
            timeout: 20 * 60 * 1000,
            // The pinned Node (gitlab-ci-local and the jobs run on it) and the offline engine, as .ci/run has them.
            env: { ...process.env, ...engineEnv(), ...env },
        });
        return { status: r.status, out: `${r.stdout}${r.stderr}` };
    }

    it("the default branch tests, previews and offers a manual up; a merge request tests and previews", () => {
        const branch = gcl(["--list"]);
        assert.equal(branch.status, 0, branch.out);
        assert.match(branch.out, /^test\s+test\s+on_success/m);
        assert.match(branch.out, /^preview\s+preview\s+on_success/m);
        assert.match(branch.out, /^up\s+deploy\s+manual\s+false\s+\[preview\]/m);
        const mr = gcl([
            "--list",
            "--variable",
            "CI_PIPELINE_SOURCE=merge_request_event",
            "--variable",
            "CI_COMMIT_BRANCH=",
        ]);
        assert.match(mr.out, /^preview\s+preview\s+on_success/m);
        assert.doesNotMatch(mr.out, /^up\s/m);
    });

    it("the merge request's preview runs for real and saves its plan; up applies exactly that plan", async () => {
        // The offline engine's environment (scripts/tools/env.sh), with the clone's own backend.
        const env: Record<string, string> = {
            ...engineEnv(),
            PULUMI_BACKEND_URL: `file://${path.join(clone, ".state", "backend")}`,
        };
        fs.mkdirSync(path.join(clone, ".state", "backend"), { recursive: true });
        const variables = ["STACK=local", ...Object.keys(env).map((k) => `${k}=${env[k]}`)].flatMap((v) => [
            "--variable",
            v,
        ]);
        await pulumiOk(["stack", "init", "local"], { cwd: clone, env, label: false });
        await prepareLocal(4); // registry with the stack's credentials, base image, BuildKit
        try {
            const mr = gcl(
                [
                    "--force-shell-executor",
                    "--variable",
                    "CI_PIPELINE_SOURCE=merge_request_event",
                    ...variables,
                    "preview",
                ],
                env,
            );
            assert.equal(mr.status, 0, mr.out.slice(-4000));
            assert.match(mr.out, new RegExp(`${LOCAL_RESOURCES} to create`));
            const plan = JSON.parse(fs.readFileSync(path.join(clone, "plan.json"), "utf8"));
            // The planned resources, plus the docker-build default provider the plan also records.
            const planned = Object.keys(plan.resourcePlans).filter(
                (urn) => !/::default(_[0-9_]+)?$/.test(urn),
            );
            assert.equal(planned.length, LOCAL_RESOURCES, Object.keys(plan.resourcePlans).join("\n"));

            const up = gcl(["--force-shell-executor", ...variables, "--needs", "up"], env);
            assert.equal(up.status, 0, up.out.slice(-4000));
            assert.match(up.out, /pulumi up --yes --policy-pack policy --non-interactive --plan plan.json/);
            assert.match(up.out, new RegExp(`${LOCAL_RESOURCES} created`));
            assert.match(up.out, /PASS +up/);
        } finally {
            await pulumiOk(["destroy", "--yes", "--stack", "local"], { cwd: clone, env, label: "destroy" });
            stopLocalServices();
        }
    });

    it("the test job passes: npm ci, strict type check, the unit tier", () => {
        const r = gcl(["--force-shell-executor", "test"]);
        assert.equal(r.status, 0, r.out.slice(-3000));
        assert.match(r.out, /test > +\d+ passing/);
        // The summary line, not the word: a test title may say "failing".
        assert.doesNotMatch(r.out, /test > +\d+ failing/);
        assert.match(r.out, /PASS +test/);
    });
});
