/**
 * The policy pack (policy/) run by the Pulumi CLI as a merge request runs it, `pulumi preview --policy-pack
 * policy`, on a one-resource project (fixtures/policy-project): a loader Deployment that breaks the guardrails is
 * rejected with the policies' messages; the project's own loader Deployment passes.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { pulumi, pulumiOk } from "../rig/engine/cli";
import { ROOT } from "../rig/engine/env";

const FIXTURE = path.join(__dirname, "fixtures", "policy-project");

/** Previews the fixture project as a fresh stack with the policy pack; the stack is removed afterwards. */
async function previewWithPolicies(variant: "good" | "bad") {
    // The project runs from the fixture directory (its imports and node_modules resolve from the repository);
    // the stack and its config file live in the backend and a temporary copy of Pulumi.yaml's directory.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `swh-policy-${variant}-`));
    // package.json too: the CLI runs a policy pack from the project directory, where @pulumi/policy reads it.
    for (const f of ["Pulumi.yaml", "index.ts", "package.json"])
        fs.copyFileSync(path.join(FIXTURE, f), path.join(dir, f));
    fs.writeFileSync(
        path.join(dir, "index.ts"),
        fs
            .readFileSync(path.join(dir, "index.ts"), "utf8")
            .replaceAll("../../../../components", path.join(ROOT, "components")),
    );
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
    const stack = `policy-${variant}`;
    const opts = { cwd: dir, env: { SWH_POLICY_VARIANT: variant }, label: `preview ${variant}` };
    try {
        await pulumiOk(["stack", "select", "--create", stack], { ...opts, label: false });
        const r = await pulumi(
            ["preview", "--stack", stack, "--policy-pack", path.join(ROOT, "policy")],
            opts,
        );
        return { ok: r.code === 0, out: r.out };
    } finally {
        await pulumi(["stack", "rm", "--yes", "--force", stack], { ...opts, label: false });
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("policy pack on the real engine", function () {
    it("rejects a loader with a tag, no memory request, a short grace period and a credential in env", async () => {
        const r = await previewWithPolicies("bad");
        assert.equal(r.ok, false, r.out);
        for (const message of [
            /loader-digest-pinned[\s\S]*runs r\.test\/loader_git:latest, not a digest-pinned image/,
            /loader-memory-requests[\s\S]*has no memory request/,
            /loader-grace-covers-task[\s\S]*terminationGracePeriodSeconds 60 < task timeout 3600s/,
            /no-plain-secrets[\s\S]*env BROKER_URL of container loader holds a credential in plain text/,
        ]) {
            assert.match(r.out, message);
        }
        assert.doesNotMatch(r.out, /hunter2/, "the violation does not echo the credential");
    });

    it("passes the project's own loader Deployment", async () => {
        const r = await previewWithPolicies("good");
        assert.equal(r.ok, true, r.out);
        assert.doesNotMatch(r.out, /mandatory/);
    });
});
