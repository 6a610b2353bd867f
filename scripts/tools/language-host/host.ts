/**
 * A Node.js language host for the Pulumi CLI, for machines where Pulumi's own (Go) `pulumi-language-nodejs`
 * cannot be had: its module is refused by the Go proxy here. The CLI starts it as the `nodejs` language plugin
 * (found on PATH), reads the port it prints, and calls it over gRPC like the Go host. Each program runs as a
 * child `node @pulumi/pulumi/cmd/run ...` with the Go host's flags and environment (command.ts), so entrypoint
 * resolution, tsconfig.json, TypeScript, config, dry-run and parallelism are the SDK's own.
 *
 * Not served, as the Go host serves them:
 * - the ResourceMonitor proxy and the sync-invoke pipes: the program dials the engine's monitor directly, and
 *   the deprecated synchronous invokes (`invokeSync`) are unavailable; nothing in this project uses them;
 * - GetRequiredPlugins (deprecated; the Go host does not serve it either), InstallDependencies (`pulumi install`:
 *   run `npm ci`), RuntimeOptionsPrompts and Template (`pulumi new`), code generation, Pack, Link, RunPlugin2:
 *   the CLI answers UNIMPLEMENTED for them as it does for any host that lacks them.
 */
import * as grpc from "@grpc/grpc-js";
import { ChildProcess, spawn } from "child_process";
import { runCommand, runOutcome, RunInput, runPluginCommand } from "./command";
import { programDependencies, requiredPackages } from "./packages";

// Generated gRPC stubs and messages shipped with the SDK (resolved from this project's node_modules).
/* eslint-disable @typescript-eslint/no-require-imports */
const services: typeof import("@pulumi/pulumi/proto/language_grpc_pb") = require("@pulumi/pulumi/proto/language_grpc_pb");
const lang: typeof import("@pulumi/pulumi/proto/language_pb") = require("@pulumi/pulumi/proto/language_pb");
const plugin: typeof import("@pulumi/pulumi/proto/plugin_pb") = require("@pulumi/pulumi/proto/plugin_pb");
const {
    Empty,
}: typeof import("google-protobuf/google/protobuf/empty_pb") = require("google-protobuf/google/protobuf/empty_pb");
const SDK_VERSION: string = require("@pulumi/pulumi/package.json").version;

type Unary<Req, Res> = grpc.handleUnaryCall<Req, Res>;

/** A unary RPC from a plain function of its request: a thrown error answers INTERNAL with its message. */
function unary<Req, Res>(handle: (req: Req) => Res): Unary<Req, Res> {
    return (call, done) => {
        try {
            done(null, handle(call.request));
        } catch (e) {
            done({ code: grpc.status.INTERNAL, details: (e as Error).message });
        }
    };
}

/** The engine address: the last positional argument; flags (-root=..., --tracing x, -v=9) are accepted. */
export function parseHostArgs(argv: string[]): { engineAddress: string; tracing?: string } {
    let engineAddress = "";
    let tracing: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "-tracing" || a === "--tracing") tracing = argv[++i];
        else if (/^--?tracing=/.test(a)) tracing = a.split("=").slice(1).join("=");
        else if (!a.startsWith("-")) engineAddress = a;
    }
    return { engineAddress, tracing };
}

function programInfo(info: InstanceType<typeof lang.ProgramInfo> | undefined) {
    if (!info) throw new Error("the engine sent no ProgramInfo (CLI too old for this host)");
    return {
        rootDirectory: info.getRootDirectory(),
        programDirectory: info.getProgramDirectory(),
        entryPoint: info.getEntryPoint(),
        options: (info.getOptions()?.toJavaScript() ?? {}) as Record<string, unknown>,
    };
}

/** Where the program's SDK keeps `cmd`, found from the program directory as `node -e require.resolve` would. */
function resolveRunPath(programDirectory: string, cmd = "run"): string {
    try {
        return require.resolve(`@pulumi/pulumi/cmd/${cmd}`, { paths: [programDirectory] });
    } catch {
        throw new Error(
            `It looks like the Pulumi SDK has not been installed in ${programDirectory}. Have you run npm ci?`,
        );
    }
}

function main(): void {
    // Set by the launcher for this process's own compilation only (see pulumi-language-nodejs).
    delete process.env.TS_NODE_PROJECT;
    const { engineAddress: argEngine, tracing } = parseHostArgs(process.argv.slice(2));
    let engineAddress = argEngine;
    const running = new Set<ChildProcess>();

    const run: Unary<InstanceType<typeof lang.RunRequest>, InstanceType<typeof lang.RunResponse>> = (
        call,
        done,
    ) => {
        const req = call.request;
        const res = new lang.RunResponse();
        // Answer the engine once (a child that fails to spawn emits both "error" and "close").
        let answered = false;
        const answer = (error: string, bail = false) => {
            if (answered) return;
            answered = true;
            done(null, res.setError(error).setBail(bail));
        };
        let input: RunInput;
        let runPath: string;
        try {
            if (!engineAddress)
                return answer("the language host has no engine address (expected as its argument)");
            const info = programInfo(req.getInfo());
            input = {
                ...info,
                project: req.getProject(),
                stack: req.getStack(),
                organization: req.getOrganization(),
                monitorAddress: req.getMonitorAddress(),
                engineAddress,
                dryRun: req.getDryrun(),
                parallel: req.getParallel(),
                args: req.getArgsList(),
                config: Object.fromEntries(
                    req.getConfigMap().entries() as unknown as Iterable<[string, string]>,
                ),
                configSecretKeys: req.getConfigsecretkeysList(),
                tracing,
            };
            runPath = resolveRunPath(info.programDirectory);
        } catch (e) {
            return answer((e as Error).message);
        }
        const cmd = runCommand(input, runPath);
        const child = spawn(process.execPath, cmd.args, {
            env: { ...process.env, ...cmd.env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        running.add(child);
        let outOfMemory = false;
        child.stdout.pipe(process.stdout, { end: false });
        child.stderr.on("data", (b: Buffer) => {
            if (b.includes("<--- Last few GCs --->")) outOfMemory = true;
            process.stderr.write(b);
        });
        child.on("error", (e) => {
            running.delete(child);
            answer(`Problem executing program (could not run language executor): ${e.message}`);
        });
        child.on("close", (code, signal) => {
            running.delete(child);
            const outcome = runOutcome(code, signal, outOfMemory);
            answer(outcome.error, outcome.bail);
        });
    };

    // Policy packs and Node plugins: output streamed back as RunPluginResponse messages.
    const runPlugin: grpc.handleServerStreamingCall<
        InstanceType<typeof lang.RunPluginRequest>,
        InstanceType<typeof lang.RunPluginResponse>
    > = (call) => {
        const req = call.request;
        let cmd;
        try {
            const info = programInfo(req.getInfo());
            cmd = runPluginCommand(
                info.programDirectory,
                info.options,
                req.getArgsList(),
                req.getEnvList(),
                resolveRunPath(info.programDirectory, "run-plugin"),
            );
        } catch (e) {
            call.emit("error", { code: grpc.status.INVALID_ARGUMENT, details: (e as Error).message });
            return;
        }
        const child = spawn(process.execPath, cmd.args, {
            cwd: req.getPwd() || undefined,
            env: cmd.env,
            stdio: ["ignore", "pipe", "pipe"],
        });
        running.add(child);
        child.stdout.on("data", (b: Buffer) => call.write(new lang.RunPluginResponse().setStdout(b)));
        child.stderr.on("data", (b: Buffer) => call.write(new lang.RunPluginResponse().setStderr(b)));
        // The engine ends a plugin by cancelling the call.
        call.on("cancelled", () => child.kill("SIGINT"));
        // A child that fails to spawn emits both "error" and "close": end the call once.
        let ended = false;
        const end = (details?: string) => {
            if (ended) return;
            ended = true;
            if (details === undefined) call.end();
            else call.emit("error", { code: grpc.status.UNKNOWN, details });
        };
        child.on("error", (e) => {
            running.delete(child);
            end(`Problem executing plugin program: ${e.message}`);
        });
        child.on("close", (code) => {
            running.delete(child);
            end(code === 0 ? undefined : `Program exited with non-zero exit code: ${code ?? -1}`);
        });
    };

    const impl: Partial<grpc.UntypedServiceImplementation> = {
        runPlugin,
        run,
        handshake: unary((req: InstanceType<typeof lang.LanguageHandshakeRequest>) => {
            engineAddress = req.getEngineAddress() || engineAddress;
            return new lang.LanguageHandshakeResponse();
        }),
        getPluginInfo: unary(() => new plugin.PluginInfo().setVersion(SDK_VERSION)),
        getRequiredPackages: unary((req: InstanceType<typeof lang.GetRequiredPackagesRequest>) => {
            const res = new lang.GetRequiredPackagesResponse();
            for (const p of requiredPackages(programInfo(req.getInfo()).programDirectory)) {
                const dep = new plugin.PackageDependency()
                    .setName(p.name)
                    .setKind("resource")
                    .setVersion(p.version);
                if (p.server) dep.setServer(p.server);
                res.addPackages(dep);
            }
            return res;
        }),
        about: unary(() =>
            new lang.AboutResponse().setExecutable(process.execPath).setVersion(process.version),
        ),
        getProgramDependencies: unary((req: InstanceType<typeof lang.GetProgramDependenciesRequest>) => {
            const res = new lang.GetProgramDependenciesResponse();
            for (const d of programDependencies(programInfo(req.getInfo()).programDirectory))
                res.addDependencies(new lang.DependencyInfo().setName(d.name).setVersion(d.version));
            return res;
        }),
        cancel: unary(() => {
            for (const child of running) child.kill("SIGINT");
            return new Empty();
        }),
    };

    const server = new grpc.Server();
    server.addService(services.LanguageRuntimeService, impl as grpc.UntypedServiceImplementation);
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
        if (err) {
            console.error(`pulumi-language-nodejs: cannot listen on 127.0.0.1: ${err.message}`);
            process.exit(1);
        }
        // The CLI reads exactly one line, the port, before it forwards the rest of stdout as messages.
        process.stdout.write(`${port}\n`);
    });
    // The CLI ends a plugin with SIGINT (then SIGKILL after 5 s): stop the program too.
    process.on("SIGINT", () => {
        for (const child of running) child.kill("SIGINT");
        server.forceShutdown();
        process.exit(0);
    });
}

if (require.main === module) main();
