/**
 * Git origins for SWH's git loader: repositories made here with a set number of commits and a tag, served by
 * `git daemon` on loopback, as a forge would serve them.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Supervisor } from "../supervisor";

export interface Repository {
    name: string;
    /** The commit refs/heads/main and HEAD point at. */
    head: string;
}

/**
 * A bare repository `root/name` of `commits` commits on main (each changing a file), tagged v1.0 at its last
 * one. Commits are written by one `git fast-import` (1500 commits take a second), dated, so ids are stable.
 */
export function makeRepository(root: string, name: string, commits: number): Repository {
    const dir = path.join(root, name);
    fs.rmSync(dir, { recursive: true, force: true });
    execFileSync("git", ["init", "-q", "--bare", "-b", "main", dir]);
    const stream: string[] = [];
    const epoch = Date.UTC(2026, 10, 26) / 1000;
    for (let i = 1; i <= commits; i++) {
        const message = `commit ${i} of ${name}\n`;
        const content = `${name}: line ${i}\n`;
        stream.push(
            "commit refs/heads/main",
            `mark :${i}`,
            `committer SWH test <test@example.org> ${epoch + i * 60} +0000`,
            `data ${Buffer.byteLength(message)}`,
            message,
            ...(i > 1 ? [`from :${i - 1}`] : []),
            `M 100644 inline src/file${i % 10}.txt`,
            `data ${Buffer.byteLength(content)}`,
            content,
        );
    }
    execFileSync("git", ["-C", dir, "fast-import", "--quiet"], { input: stream.join("\n") + "\n" });
    execFileSync("git", ["-C", dir, "tag", "v1.0", "main"]);
    const head = execFileSync("git", ["-C", dir, "rev-parse", "HEAD"], { encoding: "utf8" }).trim();
    return { name, head };
}

/** Serves every repository under `root` on git://127.0.0.1:port/<name>; stopped with `supervisor.stop("git-daemon")`. */
export async function startGitDaemon(supervisor: Supervisor, root: string, port: number): Promise<void> {
    supervisor.start(
        "git-daemon",
        {
            cmd: "git",
            args: ["daemon", "--reuseaddr", "--export-all", `--base-path=${root}`, "--listen=127.0.0.1", `--port=${port}`, root],
        },
        {},
    ); // prettier-ignore
    await supervisor.ready("git-daemon", `git daemon on 127.0.0.1:${port}`, 30, async () => {
        try {
            execFileSync("git", ["ls-remote", `git://127.0.0.1:${port}/${fs.readdirSync(root)[0]}`], {
                stdio: "ignore",
            });
            return true;
        } catch {
            return false;
        }
    });
}
