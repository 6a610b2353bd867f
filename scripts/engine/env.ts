/**
 * Where the offline engine keeps its things, and its environment: both come from scripts/tools/env.sh, the
 * one place an operator and the rig get them (file backend in .state/backend, the pinned Node, the Pulumi CLI
 * and plugins from bootstrap.sh, the offline stacks' passphrase).
 */
import { execFileSync } from "child_process";
import * as path from "path";

export const ROOT = path.resolve(__dirname, "..", "..");
export const STATE = path.join(ROOT, ".state");

/** The directory bootstrap.sh links pulumi and the provider plugins into. */
export function toolsBin(): string {
    return execFileSync(path.join(ROOT, "scripts/tools/bootstrap.sh"), ["--print-bin"], {
        encoding: "utf8",
    }).trim();
}

let cached: Record<string, string> | undefined;

/** This process's environment after `eval "$(scripts/tools/env.sh)"`, as the README has operators do. */
export function engineEnv(): Record<string, string> {
    if (!cached) {
        const out = execFileSync(
            "bash",
            ["-c", 'eval "$("$0")" && env -0', path.join(ROOT, "scripts/tools/env.sh")],
            {
                encoding: "utf8",
                env: process.env,
            },
        );
        cached = Object.fromEntries(
            out
                .split("\0")
                .filter((l) => l.includes("="))
                .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
        );
    }
    return cached;
}
