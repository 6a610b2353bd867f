/**
 * The offline `local` stack with the real Pulumi engine, the real kubernetes and docker-build providers, a
 * real Docker engine and registry: `npm run demo` twice, then what it left behind is inspected.
 */
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { RENDERED, localSecrets } from "../../scripts/demo";
import { ROOT } from "../../scripts/engine/env";
import { exportStackEncrypted } from "../../scripts/engine/stack";
import { persistentSecret, registryDigest, registryTags } from "../../scripts/e2e/env";
import { validateObject } from "../harness/schemas";

/** Runs a command, echoing its output with a prefix, and returns the output. */
function run(cmd: string, args: string[], label: string): Promise<{ code: number; out: string }> {
    return new Promise((resolve) => {
        const child = spawn(cmd, args, { cwd: ROOT, env: process.env });
        let out = "";
        const onData = (b: Buffer) => {
            out += b.toString();
            for (const line of b.toString().split("\n"))
                if (line.trim()) process.stdout.write(`      [${label}] ${line}\n`);
        };
        child.stdout.on("data", onData);
        child.stderr.on("data", onData);
        child.on("close", (code) => resolve({ code: code ?? -1, out }));
    });
}

const registry = () => ({
    address: "127.0.0.1:5055",
    username: "swh-e2e",
    password: persistentSecret("registry-5055-password"),
    stop: () => undefined,
});

describe("npm run demo: the local stack on the real engine", function () {
    let first: { code: number; out: string };
    let second: { code: number; out: string };

    before(async () => {
        // From scratch: a previous demo's stack is destroyed first, so the first run really creates.
        await run("npm", ["run", "--silent", "demo:down"], "demo:down");
        first = await run("npm", ["run", "--silent", "demo"], "demo");
        second = await run("npm", ["run", "--silent", "demo"], "demo again");
    });
    // Leave nothing running: the registry and buildkitd stop with the stack.
    after(async () => {
        await run("npm", ["run", "--silent", "demo:down"], "demo:down");
    });

    it("runs to its summary, creating the stack's resources", () => {
        assert.equal(first.code, 0, first.out.slice(-3000));
        assert.match(first.out, /\[6\/6\] summary/);
        const created = Number(/resources: create (\d+)/.exec(first.out)?.[1]);
        assert.ok(created >= 20, `created ${created}`);
    });

    it("pushes the loader image: the registry serves, under every tag, the digest the stack outputs", () => {
        const ref = /image git: (\S+)/.exec(first.out)![1];
        const [repoRef, digest] = ref.split("@");
        assert.match(digest, /^sha256:[0-9a-f]{64}$/);
        const repo = repoRef.replace("127.0.0.1:5055/", "");
        const tags = registryTags(registry(), repo);
        assert.ok(tags.length >= 1);
        for (const tag of tags) assert.equal(registryDigest(registry(), repo, tag), digest, tag);
    });

    it("writes manifests that are valid against the Kubernetes and KEDA schemas", () => {
        const files = fs
            .readdirSync(RENDERED, { recursive: true })
            .map(String)
            .filter((f) => f.endsWith(".yaml"));
        const kinds: string[] = [];
        for (const f of files) {
            for (const doc of YAML.parseAllDocuments(fs.readFileSync(path.join(RENDERED, f), "utf8"))) {
                const obj = doc.toJS();
                if (!obj) continue;
                assert.doesNotThrow(() => validateObject(obj), f);
                kinds.push(`${obj.kind}/${obj.metadata.name}`);
            }
        }
        for (const k of [
            "Deployment/loader-git",
            "ScaledObject/loader-git",
            "TriggerAuthentication/loader-git-rabbitmq",
            "PrometheusRule/swh-elastic-workers",
        ]) {
            assert.ok(kinds.includes(k), `${k} in ${kinds.join(", ")}`);
        }
        assert.deepEqual(
            kinds.filter((k) => k.startsWith("Secret/")),
            [],
            "no Secret is rendered: its values would be in plain text",
        );
        const deployment = YAML.parse(
            fs.readFileSync(
                path.join(
                    RENDERED,
                    files.find((f) => f.endsWith("deployment-swh-loader-git-loader-git.yaml"))!,
                ),
                "utf8",
            ),
        );
        assert.match(
            deployment.spec.template.spec.containers[0].image,
            /^127\.0\.0\.1:5055\/swh\/loader_git@sha256:[0-9a-f]{64}$/,
        );
    });

    it("changes nothing on a second run", () => {
        assert.equal(second.code, 0, second.out.slice(-3000));
        const line = /resources: (.*)/.exec(second.out)![1];
        assert.match(line, /^same \d+$/, line);
    });

    it("names what the local stack does not do", () => {
        assert.match(
            first.out,
            /node preparation over SSH: not run .* the pulumi-command provider plugin cannot be built here/,
        );
        assert.match(first.out, /pool registration into Rancher: off/);
    });

    it("keeps every secret out of the state and the rendered files in clear text", async () => {
        const secrets = Object.values(localSecrets(registry().password)).flatMap((s) => [
            s,
            ...s.split(/[:@/]/).filter((p) => p.length >= 16),
        ]);
        const state = exportStackEncrypted("local");
        const rendered = fs
            .readdirSync(RENDERED, { recursive: true })
            .map(String)
            .filter((f) => f.endsWith(".yaml"))
            .map((f) => fs.readFileSync(path.join(RENDERED, f), "utf8"))
            .join("\n");
        for (const s of secrets) {
            assert.ok(!state.includes(s), "a secret is in the state in clear text");
            assert.ok(!rendered.includes(s), "a secret is in a rendered manifest in clear text");
        }
        assert.match(state, /"ciphertext"/, "secrets are in the state, encrypted");
    });
});
