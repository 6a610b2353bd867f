/**
 * The policy pack (policy/) run by the real engine: a stack whose loader Deployment breaks the guardrails is
 * rejected with the policies' messages; the project's own loader objects pass.
 */
import { strict as assert } from "assert";
import * as k8s from "@pulumi/kubernetes";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loaderDeployment, planLoader } from "../../components/keda-scaled-loader";
import { ROOT, engineEnv } from "../../scripts/engine/env";
import { bootstrappedPulumi } from "../../scripts/engine/stack";

async function previewWithPolicies(name: string, program: () => void) {
    const env = engineEnv();
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `swh-policy-${name}-`));
    const pulumiCommand = await bootstrappedPulumi();
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: name, projectName: "swh-policy-check", program: async () => program() },
        {
            workDir,
            envVars: env,
            pulumiCommand,
            pulumiHome: env.PULUMI_HOME,
            projectSettings: { name: "swh-policy-check", runtime: "nodejs" },
        },
    );
    let out = "";
    try {
        await stack.preview({
            policyPacks: [path.join(ROOT, "policy")],
            onOutput: (s) => (out += s),
            color: "never",
        });
        return { ok: true, out };
    } catch (e) {
        return { ok: false, out: `${out}\n${(e as Error).message}` };
    } finally {
        await stack.workspace.removeStack(name).catch(() => undefined);
        fs.rmSync(workDir, { recursive: true, force: true });
    }
}

const render = () =>
    new k8s.Provider("render", {
        renderYamlToDirectory: fs.mkdtempSync(path.join(os.tmpdir(), "swh-render-")),
    });
const good = () =>
    loaderDeployment(
        planLoader({ loader: "git", queues: ["q"], taskTimeoutSeconds: 3600 }, (f) => f),
        `r.test/loader_git@sha256:${"b".repeat(64)}`,
    );

describe("policy pack on the real engine", function () {
    it("rejects a loader with a tag, no memory request, a short grace period and a credential in env", async () => {
        const r = await previewWithPolicies("bad", () => {
            const d = JSON.parse(JSON.stringify(good()));
            const c = d.spec.template.spec.containers[0];
            c.image = "r.test/loader_git:latest";
            delete c.resources.requests.memory;
            c.env.push({ name: "BROKER_URL", value: "amqp://swh:hunter2@rabbitmq:5672/" });
            d.spec.template.spec.terminationGracePeriodSeconds = 60;
            new k8s.apps.v1.Deployment("bad-loader", d, { provider: render() });
        });
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
        const r = await previewWithPolicies("good", () => {
            new k8s.apps.v1.Deployment("good-loader", good(), { provider: render() });
        });
        assert.equal(r.ok, true, r.out);
        assert.doesNotMatch(r.out, /mandatory/);
    });
});
