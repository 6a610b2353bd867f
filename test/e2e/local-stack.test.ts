/**
 * The offline `local` stack as an operator runs it: the Pulumi CLI in the project directory, with the real
 * language host path, kubernetes and docker-build providers, Docker and a registry. A fresh stack's preview
 * plans the whole program; `npm run demo` (pulumi up) twice; a second preview plans nothing; refresh, outputs,
 * protection and destroy behave as docs/engine.md and docs/operations.md say.
 */
import { strict as assert } from "assert";
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { LOCAL_STACK, RENDERED, localRegistry } from "../rig/demo";
import { PlannedStep, previewPlan, pulumi, pulumiOk, selectStack, stackOutputs } from "../rig/engine/cli";
import { ROOT, withStandInPlugins } from "../rig/engine/env";
import { RegistryAccess, registryDigest, registryTags } from "../rig/e2e/env";
import { validateObject } from "../harness/schemas";
import { LOCAL_PLAN, LOCAL_RESOURCES } from "./fixtures/local-plan";

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

/** The resource types a preview plans, with their counts. */
function typeCounts(steps: PlannedStep[]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const s of steps) counts[s.type] = (counts[s.type] ?? 0) + 1;
    return counts;
}

/** A copy of Pulumi.local.yaml with some config replaced, for `--config-file`. */
function localConfigWith(values: Record<string, unknown>): string {
    const doc = YAML.parseDocument(fs.readFileSync(path.join(ROOT, "Pulumi.local.yaml"), "utf8"));
    for (const [k, v] of Object.entries(values)) doc.setIn(["config", `elastic-workers:${k}`], v);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "swh-local-")), "Pulumi.local.yaml");
    fs.writeFileSync(file, doc.toString());
    return file;
}

/** The pod spec of the git loader's Deployment as the last run rendered it. */
function renderedGitPod(): { containers: { image: string }[]; imagePullSecrets?: { name: string }[] } {
    const files = fs.readdirSync(RENDERED, { recursive: true }) as string[];
    const file = files.find((f) => f.endsWith("deployment-swh-loader-git-loader-git.yaml"))!;
    return YAML.parse(fs.readFileSync(path.join(RENDERED, file), "utf8")).spec.template.spec;
}

/** The image of the git loader's Deployment as the last run rendered it. */
function renderedGitImage(): string {
    return renderedGitPod().containers[0].image;
}

/** Seconds a `pulumi preview` of `stack` takes in `cwd`. */
async function timedPreview(stack: string, cwd = ROOT): Promise<number> {
    const started = Date.now();
    await pulumiOk(["preview", "--stack", stack], { cwd, label: false });
    return (Date.now() - started) / 1000;
}

/** An empty Pulumi TypeScript project (no resource), beside the real one for the timing baseline. */
function emptyProject(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "swh-empty-"));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: empty\nmain: index.ts\nruntime: nodejs\n");
    fs.writeFileSync(path.join(dir, "package.json"), '{ "name": "empty", "private": true }\n');
    fs.writeFileSync(path.join(dir, "index.ts"), "export {};\n");
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
    return dir;
}

describe("the local stack with the Pulumi CLI in the project directory", function () {
    let registry: RegistryAccess;
    let freshPlan: Awaited<ReturnType<typeof previewPlan>>;
    let first: { code: number; out: string };
    let second: { code: number; out: string };
    let timings: { local: number; empty: number };

    before(async () => {
        // From scratch: a previous demo's stack is destroyed and removed, so the first preview plans it all.
        await run("npm", ["run", "--silent", "demo:down"], "demo:down");
        await pulumi(["stack", "rm", "--yes", "--force", "--preserve-config", LOCAL_STACK], { label: false });
        await selectStack(LOCAL_STACK);
        registry = await localRegistry();
        freshPlan = await previewPlan(LOCAL_STACK);
        const empty = emptyProject();
        await selectStack("empty", { cwd: empty });
        timings = { local: await timedPreview(LOCAL_STACK), empty: await timedPreview("empty", empty) };
        await pulumi(["stack", "rm", "--yes", "--force", "empty"], { cwd: empty, label: false });
        fs.rmSync(empty, { recursive: true, force: true });
        console.log(
            `      pulumi preview: local stack ${timings.local}s, empty stack ${timings.empty}s (same run)`,
        );
        first = await run("npm", ["run", "--silent", "demo"], "demo");
        second = await run("npm", ["run", "--silent", "demo"], "demo again");
    });
    // Leave nothing running: the registry and buildkitd stop with the stack.
    after(async () => {
        await run("npm", ["run", "--silent", "demo:down"], "demo:down");
    });

    it("plans the whole program on a fresh stack: every resource, by kind, and nothing else", () => {
        assert.deepEqual(freshPlan.changeSummary, { create: LOCAL_RESOURCES });
        assert.deepEqual(typeCounts(freshPlan.steps), LOCAL_PLAN);
        assert.ok(timings.local > 0 && timings.empty > 0);
    });

    it("runs the demo to its summary, creating what the preview planned", () => {
        assert.equal(first.code, 0, first.out.slice(-3000));
        assert.match(first.out, /\[6\/6\] summary/);
        assert.match(first.out, new RegExp(`resources: create ${LOCAL_RESOURCES}$`, "m"));
    });

    it("pushes the loader image: the registry serves, under every tag the stack pushed, the digest it outputs", async () => {
        const ref = /image git: (\S+)/.exec(first.out)![1];
        const [repoRef, digest] = ref.split("@");
        assert.match(digest, /^sha256:[0-9a-f]{64}$/);
        const repo = repoRef.replace("127.0.0.1:5055/", "");
        // The stack's own tags (its state), not every tag the registry holds: a machine's registry keeps the tags
        // of earlier builds, whose content differed.
        const state = JSON.parse(
            await pulumiOk(["stack", "export", "--stack", LOCAL_STACK], { label: false }),
        );
        const image = (state.deployment.resources as { type: string; outputs: { tags: string[] } }[]).find(
            (r) => r.type === "docker-build:index:Image",
        )!;
        const tags = image.outputs.tags.map((t) => t.slice(t.lastIndexOf(":") + 1));
        assert.ok(tags.length >= 1);
        const listed = registryTags(registry, repo);
        for (const tag of tags) {
            assert.ok(listed.includes(tag), `${tag} in ${listed.join(", ")}`);
            assert.equal(registryDigest(registry, repo, tag), digest, tag);
        }
    });

    it("the built image's git loader visits an origin twice, as a task delivered again would: both full, one snapshot, the second uneventful", () => {
        // At-least-once delivery runs a task again when its worker dies: SWH's real loader, in the real image,
        // on a repository made here, into an in-memory swh.storage (the container has no network).
        const ref = /image git: (\S+)/.exec(first.out)![1];
        const repo = fs.mkdtempSync(path.join(os.tmpdir(), "swh-origin-"));
        try {
            const git = (...args: string[]) =>
                execFileSync("git", ["-C", repo, ...args], {
                    encoding: "utf8",
                    env: {
                        ...process.env,
                        GIT_AUTHOR_DATE: "2026-11-26T12:00:00Z",
                        GIT_COMMITTER_DATE: "2026-11-26T12:00:00Z",
                    },
                }).trim();
            git("init", "-q", "-b", "main");
            for (const [file, text] of [
                ["README", "a repository to visit\n"],
                ["src/main.c", "int main(void) { return 0; }\n"],
            ]) {
                fs.mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
                fs.writeFileSync(path.join(repo, file), text);
                git("add", file);
                git(
                    "-c",
                    "user.name=SWH test",
                    "-c",
                    "user.email=test@example.org",
                    "commit",
                    "-q",
                    "-m",
                    `add ${file}`,
                );
            }
            git("tag", "v1.0");
            const head = git("rev-parse", "HEAD");
            fs.chmodSync(repo, 0o755);
            execFileSync("docker", ["pull", "-q", ref], { stdio: ["ignore", "ignore", "inherit"] });
            const out = execFileSync(
                "docker",
                [
                    "run",
                    "--rm",
                    "--network",
                    "none",
                    "-v",
                    `${repo}:/srv/origin:ro`,
                    "-v",
                    `${path.join(__dirname, "fixtures", "loader")}:/srv/fixture:ro`,
                    "--entrypoint",
                    "python3",
                    ref,
                    "/srv/fixture/visit_twice.py",
                    "file:///srv/origin",
                ],
                { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
            );
            const seen = JSON.parse(out.trim().split("\n").pop()!) as {
                results: { status: string }[];
                visits: { status: string; snapshot: string }[];
                branches: Record<string, { type: string; target: string }>;
            };
            console.log(
                `      visits: ${JSON.stringify(seen.visits)}; loads: ${JSON.stringify(seen.results)}`,
            );
            assert.deepEqual(
                seen.results.map((r) => r.status),
                ["eventful", "uneventful"],
            );
            assert.deepEqual(
                seen.visits.map((v) => v.status),
                ["full", "full"],
            );
            assert.equal(seen.visits[0].snapshot, seen.visits[1].snapshot, "the same snapshot");
            // SWH's revision ids of git commits are the commits' own ids.
            assert.deepEqual(seen.branches["refs/heads/main"], { type: "revision", target: head });
            assert.ok(seen.branches["refs/tags/v1.0"], `branches: ${Object.keys(seen.branches).join(", ")}`);
        } finally {
            fs.rmSync(repo, { recursive: true, force: true });
        }
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
        assert.match(renderedGitImage(), /^127\.0\.0\.1:5055\/swh\/loader_git@sha256:[0-9a-f]{64}$/);
        // The registry asks for a login: the pods pull with the pull Secret made out of band, as the broker's.
        assert.deepEqual(renderedGitPod().imagePullSecrets, [{ name: "loader-git-registry" }]);
    });

    it("changes nothing on a second run, and a preview after it plans no change and no delete", async () => {
        assert.equal(second.code, 0, second.out.slice(-3000));
        const line = /resources: (.*)/.exec(second.out)![1];
        assert.match(line, /^same \d+$/, line);
        const again = await previewPlan(LOCAL_STACK);
        assert.deepEqual(again.changeSummary, { same: LOCAL_RESOURCES });
        await pulumiOk(["preview", "--expect-no-changes", "--stack", LOCAL_STACK], { label: false });
    });

    it("answers `pulumi stack output`, and a refresh of the pushed image finds it unchanged", async () => {
        const outputs = await stackOutputs(LOCAL_STACK);
        assert.equal(outputs.environment, "local");
        assert.match((outputs.imageRefs as Record<string, string>).git, /@sha256:[0-9a-f]{64}$/);
        // Rendered manifests have no cluster to be read back from (the box stack's `up --refresh` covers a
        // cluster); the image is read back from the registry.
        const image = freshPlan.steps.find((st) => st.type === "docker-build:index:Image")!.urn;
        await pulumiOk(
            ["refresh", "--yes", "--expect-no-changes", "--stack", LOCAL_STACK, "--target", image],
            {
                label: "refresh",
            },
        );
    });

    it("refuses a change that would delete a protected loader namespace, naming the key that lifts it", async () => {
        // Protection as every real stack has it (the local stack turns it off to be destroyable).
        const protectedFile = localConfigWith({ protect: true });
        await pulumiOk(["up", "--yes", "--stack", LOCAL_STACK, "--config-file", protectedFile], {
            label: "up protect",
        });
        const git = YAML.parse(fs.readFileSync(protectedFile, "utf8")).config["elastic-workers:loaders"][0];
        const renamed = localConfigWith({ protect: true, loaders: [{ ...git, loader: "svn" }] });
        const r = await pulumi(["preview", "--stack", LOCAL_STACK, "--config-file", renamed], {
            label: "preview",
        });
        assert.notEqual(r.code, 0, r.out);
        assert.match(r.out, /loader-git-namespace[\s\S]*protect/);
        assert.match(r.out, /elastic-workers:protect is true/);
        assert.match(r.out, /pulumi config set protect false/);
        // The stack file's own setting (protect: false) lifts it again, so `demo:down` can destroy.
        await pulumiOk(["up", "--yes", "--stack", LOCAL_STACK], { label: "up unprotect" });
    });

    it("with images.buildOnPreview, a pin pip cannot install fails the preview, and the stack stays as it was", async () => {
        const file = path.join(ROOT, "Pulumi.local.yaml");
        const git = YAML.parse(fs.readFileSync(file, "utf8")).config["elastic-workers:loaders"][0];
        const images = YAML.parse(fs.readFileSync(file, "utf8")).config["elastic-workers:images"];
        const broken = localConfigWith({
            images: { ...images, buildOnPreview: true },
            loaders: [{ ...git, packages: ["swh.loader.git==999.0.0", "swh.scheduler==3.6.0"] }],
        });
        const r = await pulumi(["preview", "--stack", LOCAL_STACK, "--config-file", broken], {
            label: "preview broken pin",
        });
        assert.notEqual(r.code, 0, r.out);
        assert.match(r.out, /image-git-image/);
        assert.match(r.out, /swh\.loader\.git==999\.0\.0/);
        // Nothing was pushed or applied: the stack still previews clean with its own config.
        await pulumiOk(["preview", "--expect-no-changes", "--stack", LOCAL_STACK], { label: false });
    });

    it("deploys a prebuilt image given by tag, pinned to the digest the registry serves for that tag", async () => {
        // The program resolves the tag with @pulumi/docker's getRegistryImage; its provider plugin cannot be
        // built here, so a stand-in serves that one function from the registry's API (registry-provider.ts).
        const repo = "swh/loader_git";
        const tag = registryTags(registry, repo)[0];
        const digest = registryDigest(registry, repo, tag);
        assert.match(digest ?? "", /^sha256:[0-9a-f]{64}$/);
        const git = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.local.yaml"), "utf8")).config[
            "elastic-workers:loaders"
        ][0];
        const { packages: _built, ...settings } = git;
        const byTag = localConfigWith({
            loaders: [{ ...settings, image: `${registry.address}/${repo}:${tag}` }],
        });
        // Credentials as `docker login` leaves them: the docker provider's own fallback.
        const dockerConfig = fs.mkdtempSync(path.join(os.tmpdir(), "swh-docker-config-"));
        const auth = Buffer.from(`${registry.username}:${registry.password}`).toString("base64");
        fs.writeFileSync(
            path.join(dockerConfig, "config.json"),
            JSON.stringify({ auths: { [registry.address]: { auth } } }),
            { mode: 0o600 },
        );
        const env = { ...withStandInPlugins(), DOCKER_CONFIG: dockerConfig };
        try {
            await pulumiOk(["up", "--yes", "--stack", LOCAL_STACK, "--config-file", byTag], {
                label: "up by tag",
                env,
            });
            assert.equal(renderedGitImage(), `${registry.address}/${repo}@${digest}`);
        } finally {
            fs.rmSync(dockerConfig, { recursive: true, force: true });
            // Back to the built image, as the stack file has it.
            await pulumiOk(["up", "--yes", "--stack", LOCAL_STACK], { label: "up built" });
        }
    });

    it("names what the local stack does not do", () => {
        assert.match(
            first.out,
            /node preparation over SSH: not run .* the pulumi-command provider plugin cannot be built here/,
        );
        assert.match(first.out, /pool registration into Rancher: off/);
    });

    it("keeps every secret out of the state and the rendered files in clear text", async () => {
        const secrets = [registry.password];
        // `pulumi stack export` as an operator runs it: secrets stay encrypted.
        const state = await pulumiOk(["stack", "export", "--stack", LOCAL_STACK], { label: false });
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
