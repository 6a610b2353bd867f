/**
 * Where the offline engine keeps its things, and its environment: both come from scripts/tools/env.sh, the
 * one place an operator and the rig get them (file backend in .state/backend, the pinned Node, the Pulumi CLI
 * and plugins from bootstrap.sh, the offline stacks' passphrase).
 */
import { execFileSync } from "child_process";
import * as path from "path";

export const ROOT = path.resolve(__dirname, "..", "..", "..");
export const STATE = path.join(ROOT, ".state");

/** The directory bootstrap.sh links pulumi and the provider plugins into. */
export function toolsBin(): string {
    return execFileSync(path.join(ROOT, "scripts/tools/bootstrap.sh"), ["--print-bin"], {
        encoding: "utf8",
    }).trim();
}

let cached: Record<string, string> | undefined;

/** What `eval "$(scripts/tools/env.sh)"` sets (as docs/engine.md has operators do): the variables it adds or changes. */
export function engineEnv(): Record<string, string> {
    if (cached) return cached;
    const out = execFileSync(
        "bash",
        // A failing env.sh must stop here, not leave the operator's own backend and passphrase in place.
        ["-c", 'out=$("$0") || exit 1; eval "$out" && env -0', path.join(ROOT, "scripts/tools/env.sh")],
        {
            encoding: "utf8",
            env: process.env,
        },
    );
    const entries = out
        .split("\0")
        .filter((l) => l.includes("="))
        .map((l): [string, string] => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)])
        .filter(([k, v]) => process.env[k] !== v && !["_", "SHLVL", "PWD", "OLDPWD"].includes(k));
    const result: Record<string, string> = Object.fromEntries(entries);
    cached = result;
    return result;
}

/** Plugins that stand in, for the e2e tier only, for providers that cannot be built here (see each one). */
export const STAND_IN_PLUGINS = path.join(ROOT, "test/rig/engine/plugins");

/** The engine's environment with the stand-in plugins first on PATH, for the CLI runs that need them. */
export function withStandInPlugins(): Record<string, string> {
    return { PATH: `${STAND_IN_PLUGINS}:${engineEnv().PATH}` };
}
