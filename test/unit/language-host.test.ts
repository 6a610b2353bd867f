/** The Node.js language host's command for a program run: the Go host's flags, program argument and environment. */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    configEnvKey,
    nodeArgs,
    RunInput,
    runCommand,
    runOutcome,
} from "../../scripts/tools/language-host/command";
import { parseHostArgs } from "../../scripts/tools/language-host/host";
import { programDependencies, requiredPackages } from "../../scripts/tools/language-host/packages";

const input = (over: Partial<RunInput> = {}): RunInput => ({
    project: "elastic-workers",
    stack: "local",
    organization: "organization",
    monitorAddress: "127.0.0.1:40001",
    engineAddress: "127.0.0.1:40000",
    dryRun: true,
    parallel: 16,
    rootDirectory: "/p",
    programDirectory: "/p",
    entryPoint: "index.ts",
    args: [],
    config: { "elastic-workers:pool": '{"hosts":[]}', "elastic-workers:registryPassword": "s3cret" },
    configSecretKeys: ["elastic-workers:registryPassword"],
    options: { typescript: true },
    ...over,
});

describe("language host: the program's node command", () => {
    it("passes run.js the Go host's flags, then the entry point and the program's arguments", () => {
        const { args } = runCommand(
            input({ args: ["x"] }),
            "/p/node_modules/@pulumi/pulumi/cmd/run/index.js",
        );
        assert.deepEqual(args, [
            "/p/node_modules/@pulumi/pulumi/cmd/run/index.js",
            "--monitor",
            "127.0.0.1:40001",
            "--engine",
            "127.0.0.1:40000",
            "--organization",
            "organization",
            "--project",
            "elastic-workers",
            "--root-directory",
            "/p",
            "--stack",
            "local",
            "--pwd",
            "/p",
            "--dry-run",
            "--parallel",
            "16",
            "index.ts",
            "x",
        ]);
        const up = runCommand(input({ dryRun: false, entryPoint: "" }), "run.js").args;
        assert.ok(!up.includes("--dry-run"));
        assert.equal(up[up.length - 1], ".", "no main: the SDK resolves the program directory");
    });

    it("hands config over as PULUMI_CONFIG in ns:config:key form, with the secret keys named", () => {
        const { env } = runCommand(input(), "run.js");
        assert.deepEqual(JSON.parse(env.PULUMI_CONFIG), {
            "elastic-workers:config:pool": '{"hosts":[]}',
            "elastic-workers:config:registryPassword": "s3cret",
        });
        assert.deepEqual(JSON.parse(env.PULUMI_CONFIG_SECRET_KEYS), ["elastic-workers:registryPassword"]);
        assert.equal(configEnvKey("a:config:b"), "a:config:b");
        assert.throws(() => configEnvKey("nonamespace"), /no namespace/);
    });

    it("turns on TypeScript unless Pulumi.yaml says otherwise, with its tsconfig and nodeargs", () => {
        assert.equal(runCommand(input({ options: {} }), "run.js").env.PULUMI_NODEJS_TYPESCRIPT, "true");
        const js = runCommand(input({ options: { typescript: false } }), "run.js").env;
        assert.equal(js.PULUMI_NODEJS_TYPESCRIPT, undefined);
        const opts = {
            tsconfig: "tsconfig.pulumi.json",
            nodeargs: "--max-old-space-size=4096 --title 'a b'",
        };
        const c = runCommand(input({ options: opts }), "run.js");
        assert.equal(c.env.PULUMI_NODEJS_TSCONFIG_PATH, "tsconfig.pulumi.json");
        assert.deepEqual(c.args.slice(0, 4), ["--max-old-space-size=4096", "--title", "a b", "run.js"]);
        assert.throws(() => nodeArgs({ nodeargs: "a | b" }), /unsupported shell syntax/);
    });

    it("maps the program's exit to the engine's RunResponse: 32 bails, others are errors", () => {
        assert.deepEqual(runOutcome(0, null, false), { error: "", bail: false });
        assert.deepEqual(runOutcome(32, null, false), { error: "", bail: true });
        assert.match(runOutcome(1, null, false).error, /non-zero exit code: 1$/);
        assert.match(runOutcome(null, "SIGKILL", true).error, /-1 \(SIGKILL\)\. Detected out of memory/);
    });

    it("takes the engine address from its last positional argument, whatever flags come first", () => {
        assert.deepEqual(parseHostArgs(["-root=/p", "--tracing", "http://t", "127.0.0.1:5"]), {
            engineAddress: "127.0.0.1:5",
            tracing: "http://t",
        });
        assert.equal(parseHostArgs(["--logtostderr", "-v=9", "127.0.0.1:6"]).engineAddress, "127.0.0.1:6");
    });
});

describe("language host: packages and dependencies of a program", () => {
    let dir: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "swh-host-"));
        const write = (file: string, json: unknown) => {
            fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
            fs.writeFileSync(path.join(dir, file), JSON.stringify(json));
        };
        write("package.json", { dependencies: { "@pulumi/kubernetes": "4.24.1", absent: "1" } });
        write("node_modules/@pulumi/kubernetes/package.json", {
            name: "@pulumi/kubernetes",
            version: "4.24.1",
            pulumi: { resource: true, name: "kubernetes" },
        });
        write("node_modules/@pulumi/pulumi/package.json", { name: "@pulumi/pulumi", version: "3.260.0" });
        write("node_modules/x/node_modules/@pulumi/command/package.json", {
            name: "@pulumi/command",
            version: "1.2.1",
            pulumi: { resource: true, server: "https://example.test/plugins" },
        });
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("finds every provider package, nested ones too, as the Go host's GetRequiredPackages does", () => {
        assert.deepEqual(requiredPackages(dir), [
            { name: "command", version: "v1.2.1", server: "https://example.test/plugins" },
            { name: "kubernetes", version: "v4.24.1", server: undefined },
        ]);
    });

    it("lists the program's installed direct dependencies for `pulumi about`", () => {
        assert.deepEqual(programDependencies(dir), [{ name: "@pulumi/kubernetes", version: "4.24.1" }]);
    });
});
