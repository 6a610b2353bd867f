/**
 * The CLI's path to the program: the project and the example consumer resolve, under the SDK's own rules
 * (`@pulumi/pulumi/cmd/run`, the code the language host runs), to their stack programs, not to a library
 * entry such as package.json's `main`. Run in a child process, because run.js installs process-wide handlers.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { configEnvKey } from "../../scripts/tools/language-host/command";
import { AMQP_URL, DIGEST_REF, MANAGEMENT_URL } from "../fixtures";
import { ROOT, stackConfig } from "../harness/program";

/** Pulumi.yaml's `main` as the CLI hands it to the language host: the program directory and a file name or ".". */
function cliProgram(projectDir: string): { dir: string; entryPoint: string } {
    const project = YAML.parse(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) as {
        main?: string;
    };
    if (!project.main) return { dir: projectDir, entryPoint: "." };
    const main = path.join(projectDir, project.main);
    return fs.statSync(main).isDirectory()
        ? { dir: main, entryPoint: "." }
        : { dir: path.dirname(main), entryPoint: path.basename(main) };
}

/** Runs `dir` through the SDK's cmd/run under mocks; `entryPoint` defaults to what the CLI sends for it. */
function runThroughSdk(
    projectDir: string,
    config: Record<string, string>,
    project: string,
    entryPoint?: string,
    secretKeys: string[] = [],
) {
    const cli = cliProgram(projectDir);
    const r = spawnSync(
        process.execPath,
        [
            "-r",
            "ts-node/register/transpile-only",
            path.join(ROOT, "test/harness/entrypoint.ts"),
            cli.dir,
            entryPoint ?? cli.entryPoint,
        ],
        {
            cwd: ROOT,
            encoding: "utf8",
            // A blocked child would block mocha's own timeout too: bound it here.
            timeout: 120_000,
            env: {
                ...process.env,
                PULUMI_CONFIG: JSON.stringify(config),
                PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(secretKeys),
                PULUMI_NODEJS_PROJECT: project,
            },
        },
    );
    if (r.error) throw new Error(`cmd/run of ${projectDir}: ${r.error.message}\n${r.stdout}${r.stderr}`);
    const last = r.stdout.trim().split("\n").pop()!;
    const seen = JSON.parse(last) as { loaded?: string; types: string[] };
    return { ...seen, code: r.status, out: r.stdout + r.stderr };
}

/** A stack file's config in PULUMI_CONFIG's form (`ns:config:key`), plus the secrets it needs. */
function envConfig(file: string, extra: Record<string, string>): Record<string, string> {
    const all = { ...stackConfig(file), ...extra };
    return Object.fromEntries(Object.entries(all).map(([k, v]) => [configEnvKey(k), v]));
}

const COMPONENTS = ["swh:elastic:LoaderImage", "swh:elastic:KedaScaledLoader", "swh:elastic:WorkerNodePool"];

describe("entrypoints under the SDK's resolution (cmd/run)", function () {
    this.timeout(60000);
    const localConfig = () =>
        envConfig("Pulumi.local.yaml", { "elastic-workers:registryPassword": "not-a-real-one" });

    it("the project runs index.ts, the stack program, which declares the components", () => {
        const r = runThroughSdk(ROOT, localConfig(), "elastic-workers", undefined, [
            "elastic-workers:registryPassword",
        ]);
        assert.equal(r.loaded, path.join(ROOT, "index.ts"), r.out);
        assert.equal(r.code, 0, r.out);
        for (const t of COMPONENTS) assert.ok(r.types.includes(t), `${t} not registered:\n${r.out}`);
    });

    it("without Pulumi.yaml's main, the SDK takes package.json's entry, not index.ts (the check can fail)", () => {
        // The first real `pulumi up`: no `main` in Pulumi.yaml, and package.json's `main` naming the library.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "swh-entry-"));
        try {
            fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: elastic-workers\nruntime: nodejs\n");
            fs.writeFileSync(path.join(dir, "package.json"), '{ "name": "x", "main": "library.ts" }\n');
            fs.writeFileSync(path.join(dir, "library.ts"), "export const library = true;\n");
            fs.copyFileSync(path.join(ROOT, "index.ts"), path.join(dir, "index.ts"));
            fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
            const r = runThroughSdk(dir, localConfig(), "elastic-workers");
            assert.equal(cliProgram(dir).entryPoint, ".");
            assert.equal(r.loaded, path.join(dir, "library.ts"), r.out);
            assert.deepEqual(
                r.types.filter((t) => COMPONENTS.includes(t)),
                [],
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("examples/keda-loader-only runs its own index.ts", () => {
        const dir = path.join(ROOT, "examples/keda-loader-only");
        // Its config, so the program runs through (a missing key's error took Node 20 s to print).
        const config = {
            "swh-git-loader:image": DIGEST_REF,
            "swh-git-loader:amqpUrl": AMQP_URL,
            "swh-git-loader:managementUrl": MANAGEMENT_URL,
        };
        const r = runThroughSdk(
            dir,
            Object.fromEntries(Object.entries(config).map(([k, v]) => [configEnvKey(k), v])),
            "swh-git-loader",
            undefined,
            ["swh-git-loader:amqpUrl", "swh-git-loader:managementUrl"],
        );
        assert.equal(r.loaded, path.join(dir, "index.ts"), r.out);
    });
});
