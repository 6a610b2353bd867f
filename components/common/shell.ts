import * as fs from "fs";
import * as path from "path";

/** Quotes a value for POSIX sh, so config values cannot break out of the scripts we send to hosts. */
export function shQuote(value: string): string {
    return `'${value.replace(/'/g, `'"'"'`)}'`;
}

/**
 * Wraps a shell script into one command string for a remote `command.remote.Command`: variables are set
 * inline (sshd drops `environment` unless it has `AcceptEnv`), and the script runs under `sh -eu`, through
 * `sudo -n` when the SSH user is not root.
 */
export function remoteScript(script: string, env: Record<string, string>, opts: { sudo: boolean }): string {
    const assignments = Object.entries(env)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}=${shQuote(v)}`);
    // Joined word by word: the script and every value reach the host byte for byte (indentation included).
    return [...(opts.sudo ? ["sudo", "-n"] : []), "env", ...assignments, "sh", "-euc", shQuote(script)].join(
        " ",
    );
}

/** Reads a script a component ships in its `scripts/` folder (`dir` is the component's __dirname). */
export function readScript(dir: string, file: string): string {
    return fs.readFileSync(path.join(dir, "scripts", file), "utf8");
}
