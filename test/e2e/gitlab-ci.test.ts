/** .gitlab-ci.yml run locally with gitlab-ci-local (shell executor), in a clone of the committed tree. */
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../../scripts/engine/env";

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

    function gcl(args: string[]) {
        const r = spawnSync(GCL, args, { cwd: clone, encoding: "utf8", timeout: 20 * 60 * 1000 });
        return { status: r.status, out: `${r.stdout}${r.stderr}` };
    }

    it("a branch pipeline has the test job and a manual up job; a merge request adds the preview", () => {
        const branch = gcl(["--list"]);
        assert.equal(branch.status, 0, branch.out);
        assert.match(branch.out, /^test\s+test\s+on_success/m);
        assert.match(branch.out, /^up\s+deploy\s+manual/m);
        assert.doesNotMatch(branch.out, /^preview/m);
        const mr = gcl(["--list", "--variable", "CI_PIPELINE_SOURCE=merge_request_event"]);
        assert.match(mr.out, /^preview\s+preview\s+on_success/m);
    });

    it("the test job passes: npm ci, strict type check, the unit tier", () => {
        const r = gcl(["--force-shell-executor", "test"]);
        assert.equal(r.status, 0, r.out.slice(-3000));
        assert.match(r.out, /test > +\d+ passing/);
        assert.doesNotMatch(r.out, /failing/);
        assert.match(r.out, /PASS +test/);
    });
});
