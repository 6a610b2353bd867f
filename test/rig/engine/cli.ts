/**
 * The Pulumi CLI as operators run it: `pulumi <command>` in a project directory (the repository root by
 * default), with the environment of scripts/tools/env.sh. The CLI starts the language host and the providers
 * itself; nothing here runs the program in-process. Output streams as it comes, each line prefixed, and is
 * also returned.
 */
import { execFileSync, spawn } from "child_process";
import { ROOT, engineEnv } from "./env";

export interface CliOptions {
    /** Project directory; the repository root by default. */
    cwd?: string;
    /** Prefix of the streamed lines; nothing is streamed when false. */
    label?: string | false;
    /** Extra environment. */
    env?: Record<string, string>;
}

export interface CliResult {
    code: number;
    stdout: string;
    /** stdout and stderr interleaved as they came. */
    out: string;
}

/** Runs `pulumi ...args`; resolves with the exit code and the output, never rejects for a failing command. */
export function pulumi(args: string[], opts: CliOptions = {}): Promise<CliResult> {
    const label = opts.label === undefined ? `pulumi ${args[0]}` : opts.label;
    return new Promise((resolve, reject) => {
        const child = spawn("pulumi", [...args, "--non-interactive"], {
            cwd: opts.cwd ?? ROOT,
            env: { ...process.env, ...engineEnv(), ...opts.env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let out = "";
        let partial = "";
        const onData = (b: Buffer, isStdout: boolean) => {
            const s = b.toString();
            if (isStdout) stdout += s;
            out += s;
            if (label === false) return;
            const lines = (partial + s).split("\n");
            partial = lines.pop() ?? "";
            for (const line of lines) if (line.trim()) process.stdout.write(`    [${label}] ${line}\n`);
        };
        child.stdout.on("data", (b: Buffer) => onData(b, true));
        child.stderr.on("data", (b: Buffer) => onData(b, false));
        child.on("error", reject);
        child.on("close", (code) => {
            if (label !== false && partial.trim()) process.stdout.write(`    [${label}] ${partial}\n`);
            resolve({ code: code ?? -1, stdout, out });
        });
    });
}

/** Runs `pulumi ...args` and returns its stdout; throws with the output's tail when it fails. */
export async function pulumiOk(args: string[], opts: CliOptions = {}): Promise<string> {
    const r = await pulumi(args, opts);
    if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${r.code}:\n${r.out.slice(-4000)}`);
    return r.stdout;
}

/** Selects `stack` in the project, creating it on first use (`pulumi stack select --create`). */
export async function selectStack(stack: string, opts: CliOptions = {}): Promise<void> {
    await pulumiOk(["stack", "select", "--create", stack], { ...opts, label: false });
}

/** `pulumi stack output --json --show-secrets`. */
export async function stackOutputs(stack: string, opts: CliOptions = {}): Promise<Record<string, unknown>> {
    return JSON.parse(
        await pulumiOk(["stack", "output", "--json", "--show-secrets", "--stack", stack], {
            ...opts,
            label: false,
        }),
    ) as Record<string, unknown>;
}

/** `pulumi config get <key>`: the stack file's value, decrypted. */
export async function configGet(stack: string, key: string, opts: CliOptions = {}): Promise<string> {
    return (await pulumiOk(["config", "get", key, "--stack", stack], { ...opts, label: false })).trimEnd();
}

/** One step of `pulumi preview --json`. */
export interface PlannedStep {
    op: string;
    urn: string;
    type: string;
}

/** `pulumi preview --json`: the planned steps and the change summary (op -> count). */
export async function previewPlan(
    stack: string,
    opts: CliOptions & { extraArgs?: string[] } = {},
): Promise<{ steps: PlannedStep[]; changeSummary: Record<string, number> }> {
    const stdout = await pulumiOk(["preview", "--json", "--stack", stack, ...(opts.extraArgs ?? [])], {
        ...opts,
        label: false,
    });
    const doc = JSON.parse(stdout) as {
        steps?: { op: string; urn: string; newState?: { type: string }; oldState?: { type: string } }[];
        changeSummary?: Record<string, number>;
    };
    const steps = (doc.steps ?? []).map((s) => ({
        op: s.op,
        urn: s.urn,
        type: s.newState?.type ?? s.oldState?.type ?? s.urn.split("::")[2],
    }));
    return { steps, changeSummary: doc.changeSummary ?? {} };
}

/** The resource changes of the stack's last update (`pulumi stack history --json`). */
export async function lastUpdateChanges(
    stack: string,
    opts: CliOptions = {},
): Promise<Record<string, number>> {
    const history = JSON.parse(
        await pulumiOk(["stack", "history", "--json", "--stack", stack], { ...opts, label: false }),
    ) as { resourceChanges?: Record<string, number> }[];
    return history[0]?.resourceChanges ?? {};
}

/**
 * A stack's config value, synchronously (for code that cannot wait, such as the box's service table): creates
 * the stack on first use, as `pulumi stack select --create` does, then `pulumi config get`.
 */
export function configGetSync(stack: string, key: string, cwd = ROOT): string {
    const run = (args: string[]) =>
        execFileSync("pulumi", [...args, "--non-interactive"], {
            cwd,
            env: { ...process.env, ...engineEnv() },
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
        });
    run(["stack", "select", "--create", stack]);
    return run(["config", "get", key, "--stack", stack]).trimEnd();
}
