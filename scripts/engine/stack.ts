/**
 * Runs the stack program with the real engine and providers, offline. The Pulumi CLI drives the update; the
 * program runs in this Node process through the Automation API's language server, because the Node.js
 * language host (pulumi-language-nodejs) cannot be built from the Go module proxy here.
 */
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT, STATE, engineEnv, toolsBin } from "./env";

/** Loads index.ts afresh, so every engine run evaluates the program and its config again. */
function freshProgram(): () => Promise<Record<string, unknown>> {
    return async () => {
        for (const id of Object.keys(require.cache)) {
            if (
                id.startsWith(ROOT) &&
                !id.includes(`${path.sep}node_modules${path.sep}`) &&
                !id.startsWith(__dirname)
            ) {
                delete require.cache[id];
            }
        }
        return require(path.join(ROOT, "index.ts")) as Record<string, unknown>;
    };
}

export interface OpenOptions {
    /** Stack file to start from (Pulumi.<stack>.yaml in the repo); copied into the work directory. */
    stackFile?: string;
    /** Secrets to set in the work directory's copy (never in the repo's stack file). */
    secrets?: Record<string, string>;
    /** Plain config to set or override. */
    config?: Record<string, string>;
}

/** The Pulumi CLI that scripts/tools/bootstrap.sh built (its bin directory's parent is the CLI root). */
export function bootstrappedPulumi(): Promise<PulumiCommand> {
    return PulumiCommand.get({ root: path.dirname(toolsBin()), skipVersionCheck: true });
}

/**
 * Opens (creating if needed) a stack whose work directory is `.state/work/<stack>`: the repo's Pulumi.yaml
 * and stack file are copied there, so throw-away secrets never touch the committed files.
 */
export async function openStack(stackName: string, opts: OpenOptions = {}): Promise<Stack> {
    const env = engineEnv();
    const workDir = path.join(STATE, "work", stackName);
    fs.mkdirSync(workDir, { recursive: true });
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(workDir, "Pulumi.yaml"));
    const stackFile = opts.stackFile ?? `Pulumi.${stackName}.yaml`;
    fs.copyFileSync(path.join(ROOT, stackFile), path.join(workDir, `Pulumi.${stackName}.yaml`));
    const pulumiCommand = await bootstrappedPulumi();
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName, projectName: "elastic-workers", program: freshProgram() },
        { workDir, envVars: env, pulumiCommand, pulumiHome: env.PULUMI_HOME },
    );
    for (const [k, v] of Object.entries(opts.config ?? {}))
        await stack.setConfig(`elastic-workers:${k}`, { value: v });
    for (const [k, v] of Object.entries(opts.secrets ?? {}))
        await stack.setConfig(`elastic-workers:${k}`, { value: v, secret: true });
    return stack;
}

/**
 * `pulumi stack export` as an operator runs it: secrets stay encrypted. (The Automation API's exportStack
 * passes --show-secrets, for round trips.)
 */
export function exportStackEncrypted(stackName: string): string {
    const env = engineEnv();
    return execFileSync("pulumi", ["stack", "export", "--stack", stackName], {
        cwd: path.join(STATE, "work", stackName),
        env: { ...process.env, ...env },
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
    });
}
