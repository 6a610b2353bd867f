/**
 * Debian test hosts: system containers built from debootstrap (test/rig/hosts/host-image.sh) that boot
 * systemd, start from what a fresh Debian install has, and take SSH on a loopback port with a key made for the
 * run. Docker's `--privileged` fails on this machine (the VM lacks CAP_SYS_RESOURCE): a host gets every other
 * capability except CAP_SYS_MODULE, so nothing it runs can load a module into this machine's kernel.
 */
import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PACKAGES } from "../../../components/worker-node-pool/node-prep";
import { ROOT } from "../engine/env";
import { E2E, ensureDocker, waitFor } from "../e2e/env";
import { Supervisor, stopByPidFile } from "../supervisor";

export const HOSTS_DIR = path.join(E2E, "hosts");
const KEY = path.join(HOSTS_DIR, "id_ed25519");
const KNOWN_HOSTS = path.join(HOSTS_DIR, "known_hosts");

/**
 * The releases operators run: Debian 12 and 11. SSH on loopback, each host on an address of its own (a
 * registered pool's node addresses are distinct) and a port below the ephemeral range.
 */
export const HOST_SPECS = [
    { name: "bookworm", release: "bookworm", address: "127.0.0.2", port: 22122 },
    { name: "bullseye", release: "bullseye", address: "127.0.0.3", port: 22123 },
] as const;

/**
 * What a node runs beside the kubelet, from Debian's packages: in place of the runtime RKE2 bundles. In apt's
 * cache of every host image, installed only on the hosts that become nodes.
 */
export const NODE_RUNTIME_PACKAGES = ["containerd", "runc"];

/**
 * Each host's memory, bounded as a VM's is: its container's memory cgroup (no swap beyond it), and the
 * `/proc/meminfo` lxcfs computes from that cgroup, so the kubelet's capacity and eviction thresholds are the
 * host's and a memory test cannot reach past it into this machine's 24 GiB.
 */
export const HOST_MEMORY = "4g";

/** The SSH user, as Debian's installer makes it: a user with sudo, root without a password login. */
export const HOST_USER = "debian";

export interface TestHost {
    name: string;
    release: string;
    /** The Docker container, named after the host. */
    container: string;
    address: string;
    port: number;
    user: string;
    /** The host's SSH host key (`ssh-ed25519 AAAA...`), as the pool's `hostKey` pins it. */
    hostKey: string;
}

/** Non-namespaced kernel parameters the preparation writes (fs.inotify.*): saved at start, restored at stop. */
const MACHINE_SYSCTLS = ["fs.inotify.max_user_instances", "fs.inotify.max_user_watches"];

export function machineSysctls(): Record<string, string> {
    return Object.fromEntries(
        MACHINE_SYSCTLS.map((k) => [k, fs.readFileSync(`/proc/sys/${k.replace(/\./g, "/")}`, "utf8").trim()]),
    );
}

export function containerOf(name: string): string {
    return `swh-e2e-host-${name}`;
}

/** Runs the docker CLI; `input` goes to its stdin (an image archive may be large). */
export function docker(args: string[], input?: Buffer | string): string {
    return execFileSync("docker", args, {
        input,
        encoding: "utf8",
        stdio: ["pipe", "pipe", "pipe"],
        maxBuffer: 64 * 2 ** 20,
    });
}

const LXCFS_DIR = path.join(HOSTS_DIR, "lxcfs");
/** The host rig's own long-running processes (lxcfs): pid files and logs under HOSTS_DIR. */
const processes = new Supervisor(HOSTS_DIR);

function lxcfsMounted(): boolean {
    return fs.readFileSync("/proc/mounts", "utf8").includes(` ${LXCFS_DIR} fuse.lxcfs `);
}

/**
 * lxcfs (Debian's package) on a directory of the run: its `proc/meminfo` shows each reader its own memory
 * cgroup's limit, as a VM's kernel shows its RAM. Kept running across startHosts calls; stopped by stopHosts.
 */
async function startLxcfs(): Promise<string> {
    const meminfo = path.join(LXCFS_DIR, "proc", "meminfo");
    if (processes.alive("lxcfs") && lxcfsMounted()) return meminfo;
    stopLxcfs();
    if (spawnSync("sh", ["-c", "command -v lxcfs"]).status !== 0)
        throw new Error("lxcfs is missing (it bounds each test host's /proc/meminfo): apt-get install lxcfs");
    fs.mkdirSync(LXCFS_DIR, { recursive: true });
    // Its own lock file, not the system's /run/lxcfs.pid: an lxcfs this machine may run stays untouched.
    const lock = path.join(HOSTS_DIR, "lxcfs.lock");
    processes.start("lxcfs", { cmd: "lxcfs", args: ["-f", "-p", lock, LXCFS_DIR] }, {});
    await processes.ready(
        "lxcfs",
        "lxcfs: proc/meminfo",
        30,
        async () => lxcfsMounted() && fs.existsSync(meminfo),
    );
    return meminfo;
}

/** Stops lxcfs (after the containers that read it) and takes its mount away. */
function stopLxcfs(): void {
    stopByPidFile(processes.pidFile("lxcfs"), { group: true });
    if (lxcfsMounted()) spawnSync("umount", ["-l", LXCFS_DIR], { stdio: "ignore" });
}

/** The private key the hosts accept (made by startHosts). */
export function privateKey(): string {
    return fs.readFileSync(KEY, "utf8");
}

/** The test host image of a Debian release, with the packages the preparation installs in apt's cache; its name. */
export function ensureHostImage(release: string): string {
    const image = `swh-e2e/host:${release}`;
    execFileSync(
        path.join(ROOT, "test/rig/hosts/host-image.sh"),
        [release, image, [...PACKAGES, ...NODE_RUNTIME_PACKAGES].join(" ")],
        { stdio: "inherit" },
    );
    return image;
}

/**
 * Starts one container per spec, fresh (any earlier container of that name is removed first), and returns once
 * each answers SSH with the run's key (made anew unless `newKey` is false). stopHosts restores the machine's
 * sysctls saved by the first call.
 */
export async function startHosts(
    specs: readonly { name: string; release: string; address: string; port: number }[] = HOST_SPECS,
    opts: { newKey: boolean } = { newKey: true },
): Promise<TestHost[]> {
    await ensureDocker();
    fs.mkdirSync(HOSTS_DIR, { recursive: true });
    const saved = path.join(HOSTS_DIR, "machine-sysctls.json");
    if (!fs.existsSync(saved)) fs.writeFileSync(saved, JSON.stringify(machineSysctls()));
    if (opts.newKey || !fs.existsSync(KEY)) {
        for (const f of [KEY, `${KEY}.pub`, KNOWN_HOSTS]) fs.rmSync(f, { force: true });
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "swh-e2e", "-f", KEY]);
    }
    // The restarted hosts make new host keys: forget their old ones.
    const known = fs.existsSync(KNOWN_HOSTS) ? fs.readFileSync(KNOWN_HOSTS, "utf8").split("\n") : [];
    const restarted = specs.map((s) => `[${s.address}]:${s.port} `);
    fs.writeFileSync(
        KNOWN_HOSTS,
        known
            .filter((l) => l && !restarted.some((r) => l.startsWith(r)))
            .map((l) => `${l}\n`)
            .join(""),
    );
    // /dev/kmsg as a host has it (the kubelet's OOM watcher reads the kernel log). containerd's and the
    // kubelet's roots on filesystems of their own: overlay snapshots cannot sit on Docker's overlay, and the
    // node's image and node filesystems are then the node's, not this machine's shared disk, whose fill level
    // would decide image garbage collection and disk-pressure eviction (a cold CI run's caches took it below
    // the kubelet's nodefs.available<10% here, and every test pod was evicted). A fresh install's swap is in fstab; its live swap would be this machine's (/proc/swaps is not
    // namespaced), so each host sees none.
    const swaps = path.join(HOSTS_DIR, "swaps");
    fs.writeFileSync(swaps, "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
    const meminfo = await startLxcfs();
    const hosts: TestHost[] = [];
    for (const spec of specs) {
        const image = ensureHostImage(spec.release);
        const container = containerOf(spec.name);
        spawnSync("docker", ["rm", "-f", container], { stdio: "ignore" });
        docker([
            "run", "-d", "--name", container, "--hostname", spec.name,
            "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE", "--cap-drop", "SYS_MODULE",
            "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
            "--cgroupns", "private", "--tmpfs", "/run", "--tmpfs", "/run/lock",
            "--stop-signal", "SIGRTMIN+3", "-v", `${swaps}:/proc/swaps:ro`, "--device", "/dev/kmsg",
            "--memory", HOST_MEMORY, "--memory-swap", HOST_MEMORY, "-v", `${meminfo}:/proc/meminfo:ro`,
            "--tmpfs", "/var/lib/containerd:rw,exec,size=2g", "--tmpfs", "/var/lib/kubelet:rw,exec,size=1g",
            "-p", `${spec.address}:${spec.port}:22`, image,
        ]); // prettier-ignore
        hosts.push({
            name: spec.name,
            release: spec.release,
            container,
            address: spec.address,
            port: spec.port,
            user: HOST_USER,
            hostKey: "",
        });
    }
    const publicKey = fs.readFileSync(`${KEY}.pub`, "utf8");
    for (const host of hosts) {
        await waitFor(`${host.name}: systemd up`, 90, () => {
            const state = spawnSync("docker", ["exec", host.container, "systemctl", "is-system-running"], {
                encoding: "utf8",
            }).stdout.trim();
            return state === "running" || state === "degraded";
        });
        // What the installer leaves: a sudo user with the operator's key, a swap entry in fstab. /proc/sys is
        // writable on a real host (Docker mounts it read-only).
        docker(
            ["exec", "-i", host.container, "sh", "-euc", [
                "mount -o remount,rw /proc/sys",
                `useradd -m -s /bin/bash ${HOST_USER}`,
                `echo '${HOST_USER} ALL=(ALL) NOPASSWD:ALL' >/etc/sudoers.d/${HOST_USER}`,
                `install -d -m 700 -o ${HOST_USER} -g ${HOST_USER} /home/${HOST_USER}/.ssh`,
                `cat >/home/${HOST_USER}/.ssh/authorized_keys`,
                `chown ${HOST_USER}: /home/${HOST_USER}/.ssh/authorized_keys`,
                "echo 'UUID=0d3c5e6a-swap none swap sw 0 0' >>/etc/fstab",
                // Names resolve nowhere: nothing on a host may reach past this machine (no image pull, no mirror).
                "echo 'nameserver 127.0.0.1' >/etc/resolv.conf",
            ].join("\n")],
            publicKey,
        ); // prettier-ignore
        host.hostKey = docker(["exec", host.container, "cat", "/etc/ssh/ssh_host_ed25519_key.pub"])
            .trim()
            .split(" ")
            .slice(0, 2)
            .join(" ");
        fs.appendFileSync(KNOWN_HOSTS, `[${host.address}]:${host.port} ${host.hostKey}\n`);
        await waitFor(`${host.name}: SSH on ${host.address}:${host.port}`, 60, async () => {
            const r = await ssh(host, "true", { timeoutSeconds: 10 });
            return r.status === 0;
        });
        console.log(`host ${host.name} (Debian ${host.release}): SSH on ${host.address}:${host.port}`);
    }
    return hosts;
}

/**
 * Removes the hosts' containers and puts back the machine's non-namespaced sysctls the hosts changed, as
 * saved by the first startHosts (an aborted run's included); returns them.
 */
export function stopHosts(specs: readonly { name: string }[] = HOST_SPECS): Record<string, string> {
    for (const spec of specs) spawnSync("docker", ["rm", "-f", containerOf(spec.name)], { stdio: "ignore" });
    const left = spawnSync("docker", ["ps", "-aq", "--filter", `name=^${containerOf("")}`], {
        encoding: "utf8",
    });
    if (!left.stdout.trim()) stopLxcfs();
    const saved = path.join(HOSTS_DIR, "machine-sysctls.json");
    if (!fs.existsSync(saved)) return machineSysctls();
    const values = JSON.parse(fs.readFileSync(saved, "utf8")) as Record<string, string>;
    for (const [k, v] of Object.entries(values)) fs.writeFileSync(`/proc/sys/${k.replace(/\./g, "/")}`, v);
    fs.rmSync(saved);
    return values;
}

/** The ssh client's options for a host: the run's key, the host key pinned, no prompt. */
export function sshArgs(host: TestHost): string[] {
    return [
        "-i", KEY, "-p", String(host.port),
        "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${KNOWN_HOSTS}`,
        "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
    ]; // prettier-ignore
}

export interface SshResult {
    status: number | null;
    stdout: string;
    stderr: string;
    /** True when the connection was cut by `dropWhen`. */
    dropped: boolean;
}

/**
 * Runs one command on a host over a real SSH session, as the command provider does: one `exec` request with
 * the command string, run by the user's login shell (`$SHELL -c`), host key checked. `dropWhen` cuts the
 * connection (kills the client) as soon as the output so far matches it.
 */
export function ssh(
    host: TestHost,
    command: string,
    opts: { timeoutSeconds?: number; dropWhen?: RegExp } = {},
): Promise<SshResult> {
    const args = [...sshArgs(host), `${host.user}@${host.address}`, "--", command];
    return new Promise((resolve, reject) => {
        const child = spawn("ssh", args, { stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        let dropped = false;
        const timer = setTimeout(() => child.kill("SIGKILL"), (opts.timeoutSeconds ?? 600) * 1000);
        child.stdout.on("data", (d: Buffer) => {
            stdout += d.toString();
            if (opts.dropWhen && !dropped && opts.dropWhen.test(stdout)) {
                dropped = true;
                child.kill("SIGKILL");
            }
        });
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("close", (status) => {
            clearTimeout(timer);
            resolve({ status, stdout, stderr, dropped });
        });
    });
}

/** Writes a file on the host (as root), with its directories. */
export function writeOnHost(host: TestHost, file: string, content: string, mode = "0644"): void {
    docker(["exec", "-i", host.container, "sh", "-euc", `install -D -m ${mode} /dev/stdin ${file}`], content);
}

/** Runs a command in a host as root through `docker exec` (for assertions on the host's state, not for steps). */
export function onHost(host: TestHost, script: string): string {
    return docker(["exec", host.container, "sh", "-euc", script]);
}
