/**
 * How the Node.js language host turns the engine's RunRequest into the `node @pulumi/pulumi/cmd/run ...` command:
 * the same flags, program argument and environment as Pulumi's Go host (sdk/nodejs/cmd/pulumi-language-nodejs,
 * `constructArguments` and `constructEnv`). Pure, so the unit tier checks it without an engine.
 */
import { parse as shellSplit } from "shell-quote";

/** The parts of a RunRequest (and its ProgramInfo) that decide the command. */
export interface RunInput {
    project: string;
    stack: string;
    organization: string;
    monitorAddress: string;
    engineAddress: string;
    dryRun: boolean;
    parallel: number;
    rootDirectory: string;
    programDirectory: string;
    /** Pulumi.yaml's `main` file name, or "." for the program directory (run.js then reads package.json). */
    entryPoint: string;
    args: string[];
    /** Config as the engine sends it: `namespace:key` -> raw value. */
    config: Record<string, string>;
    configSecretKeys: string[];
    /** Pulumi.yaml's `runtime.options`. */
    options: Record<string, unknown>;
    tracing?: string;
}

export interface NodeCommand {
    /** Arguments after `node`. */
    args: string[];
    /** Variables added to the host's environment. */
    env: Record<string, string>;
}

/** `ns:key` -> `ns:config:key`, the form the SDK reads from PULUMI_CONFIG (Go's config.ParseKey). */
export function configEnvKey(key: string): string {
    const i = key.indexOf(":");
    if (i < 0) throw new Error(`config key ${JSON.stringify(key)} has no namespace (expected "project:key")`);
    const rest = key.slice(i + 1);
    return rest.startsWith("config:") ? key : `${key.slice(0, i)}:config:${rest}`;
}

/** The `nodeargs` runtime option, split as a shell would (Go uses shlex). */
export function nodeArgs(options: Record<string, unknown>): string[] {
    const raw = options.nodeargs;
    if (raw === undefined || raw === "") return [];
    if (typeof raw !== "string")
        throw new Error(`runtime option nodeargs must be a string, got ${typeof raw}`);
    return shellSplit(raw).map((part) => {
        if (typeof part !== "string")
            throw new Error(`runtime option nodeargs: unsupported shell syntax in ${raw}`);
        return part;
    });
}

/** The node command for one program run, given the resolved path of `@pulumi/pulumi/cmd/run`. */
export function runCommand(input: RunInput, runPath: string): NodeCommand {
    const flags: [string, string][] = [
        ["monitor", input.monitorAddress],
        ["engine", input.engineAddress],
        ["organization", input.organization],
        ["project", input.project],
        ["root-directory", input.rootDirectory],
        ["stack", input.stack],
        // The Go host passes the program directory, not the request's pwd: run.js chdirs there.
        ["pwd", input.programDirectory],
    ];
    const args = [...nodeArgs(input.options), runPath];
    for (const [name, value] of flags) if (value) args.push(`--${name}`, value);
    if (input.dryRun) args.push("--dry-run");
    args.push("--parallel", String(input.parallel));
    if (input.tracing) args.push("--tracing", input.tracing);
    args.push(input.entryPoint || ".", ...input.args);

    const config: Record<string, string> = {};
    for (const [k, v] of Object.entries(input.config)) config[configEnvKey(k)] = v;
    const env: Record<string, string> = {
        PULUMI_CONFIG: JSON.stringify(config),
        PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(input.configSecretKeys),
        ...runtimeEnv(input.options),
    };
    return { args, env };
}

/** The runtime options that become environment variables (the Go host's parseOptions). */
function runtimeEnv(options: Record<string, unknown>): Record<string, string> {
    const env: Record<string, string> = {};
    // TypeScript is on unless Pulumi.yaml says `typescript: false` (the Go host's default).
    if (options.typescript !== false) env.PULUMI_NODEJS_TYPESCRIPT = "true";
    if (typeof options.tsconfig === "string" && options.tsconfig)
        env.PULUMI_NODEJS_TSCONFIG_PATH = options.tsconfig;
    return env;
}

/**
 * The node command for RunPlugin (policy packs, plugins written in Node): `@pulumi/pulumi/cmd/run-plugin`, then
 * the nodeargs, the plugin's directory and the engine's arguments, in the Go host's order. Its environment is
 * the request's alone (plus the runtime options), as in the Go host.
 */
export function runPluginCommand(
    programDirectory: string,
    options: Record<string, unknown>,
    args: string[],
    env: string[],
    runPluginPath: string,
): NodeCommand {
    const base = Object.fromEntries(
        env.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    );
    return {
        args: [runPluginPath, ...nodeArgs(options), programDirectory, ...args],
        env: { ...base, ...runtimeEnv(options) },
    };
}

/** The engine's view of how a program run ended (RunResponse): exit 32 means the SDK already reported it. */
export function runOutcome(
    code: number | null,
    signal: string | null,
    outOfMemory: boolean,
): { error: string; bail: boolean } {
    if (code === 0) return { error: "", bail: false };
    if (code === 32) return { error: "", bail: true };
    const shown = code ?? -1;
    const hint = outOfMemory
        ? ". Detected out of memory: the Node.js process ran out of heap; raise it with the nodeargs runtime option, e.g. --max-old-space-size=4096"
        : "";
    return {
        error: `Program exited with non-zero exit code: ${shown}${signal ? ` (${signal})` : ""}${hint}`,
        bail: false,
    };
}
