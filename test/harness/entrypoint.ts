/**
 * Child-process harness: runs a Pulumi project directory through the SDK's own `cmd/run` with the arguments the
 * language host gives it (`--monitor <addr> --pwd <dir> <entryPoint>`), the monitor being Pulumi's mocks, and
 * prints at exit, as JSON, which file the SDK loaded as the program and which resource types it registered.
 * Usage: node -r ts-node/register/transpile-only entrypoint.ts <dir> <entryPoint>
 * (entryPoint as the CLI sends it: Pulumi.yaml's `main` file name, or "."). Config comes from PULUMI_CONFIG.
 */
import type * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import Module = require("module");

interface Loader {
    _load(request: string, parent: { filename?: string } | undefined, isMain: boolean): unknown;
    _resolveFilename(request: string, parent: unknown): string;
}

async function main(dir: string, entryPoint: string): Promise<void> {
    const runIndex = require.resolve("@pulumi/pulumi/cmd/run", { paths: [dir] });
    const runJs = path.join(path.dirname(runIndex), "run.js");
    let loaded: string | undefined;
    // Record the program file the SDK's run.js loads: its require of an absolute path.
    const loader = Module as unknown as Loader;
    const load = loader._load;
    loader._load = function (request, parent, isMain) {
        if (!loaded && parent?.filename === runJs && path.isAbsolute(request))
            loaded = loader._resolveFilename(request, parent);
        return load.call(this, request, parent, isMain);
    };
    const types: string[] = [];
    // The mocks go into the SDK that run.js belongs to: a project with its own node_modules (the example, once
    // the e2e tier installed it) has its own copy, which would otherwise dial the monitor "mock" until it gives up.
    const sdk = require(require.resolve("@pulumi/pulumi", { paths: [dir] })) as typeof pulumi;
    await sdk.runtime.setMocks(
        {
            newResource: (args) => {
                types.push(args.type);
                return { id: `${args.name}-id`, state: args.inputs };
            },
            call: (args) => args.inputs,
        },
        process.env.PULUMI_NODEJS_PROJECT ?? "project",
        "test",
        true,
    );
    process.on("exit", () => {
        process.stdout.write(`\n${JSON.stringify({ loaded, types })}\n`);
    });
    process.argv = [process.argv[0], runIndex, "--monitor", "mock", "--pwd", dir, entryPoint];
    require(runIndex);
}

main(process.argv[2], process.argv[3]);
