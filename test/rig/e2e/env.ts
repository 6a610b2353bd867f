/**
 * The local pieces the demo and the e2e tier need, started on loopback only and reused when already up:
 * the tools, a Docker engine, a registry with htpasswd credentials, the loader's base image.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ROOT, STATE } from "../engine/env";
import { stopByPidFile, until } from "../supervisor";

// The rig's poll and stop helpers (test/rig/supervisor.ts), under the names the e2e tests and the demo use.
export { step, stopByPidFile, until as waitFor } from "../supervisor";

export const E2E = path.join(STATE, "e2e");

/** Builds (or finds cached, or installed) the tools of `group` (scripts/tools/bootstrap.sh: demo, e2e, bench...). */
export function bootstrapTools(group: string): void {
    execFileSync(path.join(ROOT, "scripts/tools/bootstrap.sh"), [group], { stdio: "inherit" });
}

function dockerUp(): boolean {
    return spawnSync("docker", ["info"], { stdio: "ignore" }).status === 0;
}

/** Starts dockerd when no engine answers; its log goes to .state/e2e/dockerd.log. */
export async function ensureDocker(): Promise<void> {
    if (dockerUp()) {
        console.log("docker engine: running");
        return;
    }
    if (spawnSync("which", ["dockerd"]).status !== 0)
        throw new Error("dockerd is missing: apt-get install docker.io");
    fs.mkdirSync(E2E, { recursive: true });
    const log = fs.openSync(path.join(E2E, "dockerd.log"), "a");
    spawn("dockerd", [], { detached: true, stdio: ["ignore", log, log] }).unref();
    await until("dockerd", 60, dockerUp);
    console.log("docker engine: started");
}

/** Where a registry is and the credentials it takes. */
export interface RegistryAccess {
    address: string;
    username: string;
    password: string;
}

/** A registry on 127.0.0.1 with htpasswd auth, started by startRegistry. */
export interface Registry extends RegistryAccess {
    stop(): void;
}

/** Starts Debian's docker-registry on 127.0.0.1:port with these credentials and storage under .state. */
export async function startRegistry(port: number, username: string, password: string): Promise<Registry> {
    const dir = path.join(E2E, `registry-${port}`);
    fs.mkdirSync(path.join(dir, "data"), { recursive: true });
    const htpasswd = execFileSync("htpasswd", ["-Bbn", username, password], { encoding: "utf8" });
    fs.writeFileSync(path.join(dir, "htpasswd"), htpasswd, { mode: 0o600 });
    fs.writeFileSync(
        path.join(dir, "config.yml"),
        [
            "version: 0.1",
            "log: { level: warn }",
            `storage: { filesystem: { rootdirectory: ${path.join(dir, "data")} }, delete: { enabled: true } }`,
            `http: { addr: "127.0.0.1:${port}", secret: "${crypto.randomBytes(16).toString("hex")}" }`,
            `auth: { htpasswd: { realm: swh-e2e, path: ${path.join(dir, "htpasswd")} } }`,
        ].join("\n"),
    );
    const pidFile = path.join(dir, "pid");
    stopByPidFile(pidFile);
    const log = fs.openSync(path.join(dir, "registry.log"), "a");
    const child: ChildProcess = spawn("docker-registry", ["serve", path.join(dir, "config.yml")], {
        detached: true,
        stdio: ["ignore", log, log],
    });
    child.unref();
    fs.writeFileSync(pidFile, String(child.pid));
    const address = `127.0.0.1:${port}`;
    // Up means: it answers with these credentials (a stale registry on the port would answer 401).
    const answer = () =>
        spawnSync("curl", [
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-u",
            `${username}:${password}`,
            `http://${address}/v2/`,
        ]).stdout?.toString();
    try {
        await until(`the registry on ${address}`, 30, () => answer() === "200");
    } catch {
        throw new Error(
            `the registry on ${address} did not accept its credentials (HTTP ${answer()}): is another registry on port ${port}? ` +
                `see ${path.join(dir, "registry.log")}`,
        );
    }
    return {
        address,
        username,
        password,
        stop: () => {
            try {
                process.kill(child.pid!);
            } catch {
                // already gone
            }
        },
    };
}

/** Tags of a repository in the registry. */
export function registryTags(reg: RegistryAccess, repository: string): string[] {
    const out = execFileSync(
        "curl",
        ["-sf", "-u", `${reg.username}:${reg.password}`, `http://${reg.address}/v2/${repository}/tags/list`],
        {
            encoding: "utf8",
        },
    );
    return (JSON.parse(out) as { tags: string[] | null }).tags ?? [];
}

/** The manifest digest the registry serves for repository:tag, as Docker-Content-Digest. */
export function registryDigest(reg: RegistryAccess, repository: string, tag: string): string | undefined {
    const out = execFileSync(
        "curl",
        [
            "-sfI",
            "-u",
            `${reg.username}:${reg.password}`,
            "-H",
            "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, " +
                "application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json",
            `http://${reg.address}/v2/${repository}/manifests/${tag}`,
        ],
        { encoding: "utf8" },
    );
    return /docker-content-digest:\s*(\S+)/i.exec(out)?.[1];
}

/** The buildx builder the e2e stacks build with: buildkitd on this host, registered as a remote builder. */
export const BUILDER = "swh-e2e";

/**
 * Starts buildkitd (runc worker, host network for RUN steps, plain http only for the loopback registries) and
 * registers it with buildx as the remote builder BUILDER. docker-build cannot use Docker's built-in builder,
 * and its docker-container driver would pull moby/buildkit.
 */
export async function ensureBuildkit(bin: string, registries: string[]): Promise<void> {
    const dir = path.join(E2E, "buildkit");
    const socket = path.join(dir, "buildkitd.sock");
    const buildx = (...args: string[]) => spawnSync(path.join(bin, "buildx"), args, { encoding: "utf8" });
    const ready = () => buildx("inspect", "--bootstrap", BUILDER).status === 0;
    if (fs.existsSync(socket) && ready()) {
        console.log(`buildkit: builder ${BUILDER} running`);
        return;
    }
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
        path.join(dir, "buildkitd.toml"),
        [
            `root = "${path.join(dir, "root")}"`,
            "[grpc]",
            `  address = ["unix://${socket}"]`,
            "[worker.containerd]",
            "  enabled = false",
            ...registries.flatMap((r) => [`[registry."${r}"]`, "  http = true", "  insecure = true"]),
        ].join("\n"),
    );
    const log = fs.openSync(path.join(dir, "buildkitd.log"), "a");
    stopByPidFile(path.join(dir, "pid"));
    const daemon = spawn(
        path.join(bin, "buildkitd"),
        ["--config", path.join(dir, "buildkitd.toml"), "--oci-worker-net=host"],
        {
            detached: true,
            stdio: ["ignore", log, log],
            env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` },
        },
    );
    daemon.unref();
    fs.writeFileSync(path.join(dir, "pid"), String(daemon.pid));
    await until("buildkitd's socket", 60, () => fs.existsSync(socket));
    buildx("rm", BUILDER);
    const created = buildx("create", "--name", BUILDER, "--driver", "remote", `unix://${socket}`);
    if (created.status !== 0) throw new Error(`buildx create failed: ${created.stderr}`);
    await until(`builder ${BUILDER}`, 60, ready);
    console.log(`buildkit: builder ${BUILDER} started (${socket})`);
}

/** The loader base image in the Docker engine, from debootstrap (test/rig/e2e/base-image.sh; cached). */
export function makeBaseImage(image: string): void {
    execFileSync(path.join(ROOT, "test/rig/e2e/base-image.sh"), [image], { stdio: "inherit" });
}

/**
 * The loader base image, from debootstrap (no registry pulls), pushed to the registry so BuildKit (which does
 * not see the Docker engine's images) pulls it from there. Returns its reference in the registry.
 */
export function ensureBaseImage(image: string, reg: Registry): string {
    makeBaseImage(image);
    const ref = `${reg.address}/${image}`;
    execFileSync("docker", ["login", reg.address, "-u", reg.username, "--password-stdin"], {
        input: reg.password,
        stdio: ["pipe", "ignore", "inherit"],
    });
    execFileSync("docker", ["tag", image, ref]);
    execFileSync("docker", ["push", "-q", ref], { stdio: ["ignore", "ignore", "inherit"] });
    console.log(`base image: pushed as ${ref}`);
    return ref;
}
