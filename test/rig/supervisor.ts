/**
 * The rig's process supervision, shared by the box, the e2e tier and the demo: the one poll helper, processes
 * started detached with a pid file and a log, stopped by that pid file (their process group), and a table of
 * services started in order and stopped in reverse. Nothing here finds a process by its name or command line:
 * only what we started, by the pid we recorded.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";

/** Prints a numbered step, so long runs show where they are. */
export function step(n: number, total: number, what: string): void {
    console.log(`\n[${n}/${total}] ${what}`);
}

const POLL_MS = 500;

/**
 * Polls `f` every 500 ms until it returns a value (not undefined or false), or fails after `seconds` (and at
 * most seconds x 2 + 1 tries, should a slow `f` eat the interval) saying what was awaited, the last error `f`
 * threw and, when given, `detail()` (a log tail).
 */
export async function until<T>(
    what: string,
    seconds: number,
    f: () => T | undefined | false | Promise<T | undefined | false>,
    detail?: () => string,
): Promise<T> {
    const deadline = Date.now() + seconds * 1000;
    const tries = Math.ceil((seconds * 1000) / POLL_MS) + 1;
    let last: unknown;
    for (let i = 0; i < tries && (i === 0 || Date.now() < deadline); i++) {
        try {
            const v = await f();
            if (v !== undefined && v !== false) return v as T;
        } catch (e) {
            last = e;
        }
        await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const error = last ? ` (last error: ${last})` : "";
    throw new Error(
        `timed out after ${seconds}s waiting for ${what}${error}${detail ? `; ${detail()}` : ""}`,
    );
}

/** The pid a pid file holds; undefined when there is none or it is not a plain process id (never 0 or 1). */
export function readPid(file: string): number | undefined {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8").trim();
    } catch {
        return undefined;
    }
    const pid = Number(text);
    // kill(0) and kill(-1) would signal our own group or every process we may signal.
    return /^\d+$/.test(text) && pid > 1 ? pid : undefined;
}

export function pidAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

/** Signals `pid`, or its whole process group (a detached child leads its own); false when nothing got it. */
function signal(pid: number, sig: NodeJS.Signals, group: boolean): boolean {
    try {
        process.kill(group ? -pid : pid, sig);
        return true;
    } catch {
        return false;
    }
}

/**
 * Stops a process started by these helpers, by the pid file it left (SIGTERM, or `signal`; to its process
 * group with `group`), and removes the file; true if one was running. Does not wait.
 */
export function stopByPidFile(
    pidFile: string,
    opts: { group?: boolean; signal?: NodeJS.Signals } = {},
): boolean {
    const pid = readPid(pidFile);
    fs.rmSync(pidFile, { force: true });
    return pid !== undefined && signal(pid, opts.signal ?? "SIGTERM", opts.group ?? false);
}

/** The last lines of a log, for a timeout's message. */
export function tailOf(file: string, lines = 15): string {
    try {
        return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
    } catch {
        return "(no log)";
    }
}

export interface Command {
    cmd: string;
    args: string[];
}

/** What starting services needs of processes (the Supervisor; a fake in the unit tests). */
export interface Processes {
    alive(name: string): boolean;
    start(name: string, command: Command, env: Record<string, string>): void;
    /** Waits for `check`, bounded by `seconds`; on timeout the error shows the end of the process's log. */
    ready(name: string, what: string, seconds: number, check: () => Promise<boolean>): Promise<void>;
    /** Stops it and what it recorded it started; true if it was running. */
    stop(name: string, seconds: number): Promise<boolean>;
}

/**
 * Processes started detached under `dir`, each its own process group: output in logs/<name>.log, pid in
 * pids/<name>.pid. A process that starts others it may leave behind records their pids in pids/<name>/, one
 * file each (see childPidDir); they are stopped with it.
 */
export class Supervisor implements Processes {
    constructor(readonly dir: string) {}

    pidFile(name: string): string {
        return path.join(this.dir, "pids", `${name}.pid`);
    }

    logFile(name: string): string {
        return path.join(this.dir, "logs", `${name}.log`);
    }

    /** Where `name` records the pids of the processes it starts (each in its own process group). */
    childPidDir(name: string): string {
        return path.join(this.dir, "pids", name);
    }

    alive(name: string): boolean {
        const pid = readPid(this.pidFile(name));
        return pid !== undefined && pidAlive(pid);
    }

    start(name: string, command: Command, env: Record<string, string>): void {
        fs.mkdirSync(path.dirname(this.logFile(name)), { recursive: true });
        fs.mkdirSync(path.dirname(this.pidFile(name)), { recursive: true });
        // A pid file left by an earlier run whose process died: nothing to signal, or a leftover to stop.
        stopByPidFile(this.pidFile(name), { group: true });
        const log = fs.openSync(this.logFile(name), "a");
        const child = spawn(command.cmd, command.args, {
            detached: true,
            stdio: ["ignore", log, log],
            env: { ...process.env, ...env },
        });
        fs.closeSync(log);
        // A missing binary is reported below, not as an unhandled 'error' event later.
        child.once("error", () => undefined);
        if (child.pid === undefined) throw new Error(`${name}: could not start ${command.cmd}`);
        child.unref();
        fs.writeFileSync(this.pidFile(name), String(child.pid));
    }

    async ready(name: string, what: string, seconds: number, check: () => Promise<boolean>): Promise<void> {
        const log = this.logFile(name);
        await until(what, seconds, check, () => `last lines of ${log}:\n${tailOf(log)}`);
    }

    /**
     * SIGTERM to the process group, up to `seconds` for it to exit (its port to be free), then SIGKILL; then
     * SIGKILL to the groups it recorded in childPidDir (what it could not stop itself).
     */
    async stop(name: string, seconds: number): Promise<boolean> {
        const file = this.pidFile(name);
        const pid = readPid(file);
        let was = false;
        if (pid !== undefined) {
            was = signal(pid, "SIGTERM", true);
            try {
                await until(`${name} to exit`, seconds, () => !pidAlive(pid));
            } catch {
                console.log(`${name} did not exit within ${seconds}s: SIGKILL`);
                signal(pid, "SIGKILL", true);
                await until(`${name} to exit after SIGKILL`, 5, () => !pidAlive(pid)).catch(() => undefined);
            }
        }
        fs.rmSync(file, { force: true });
        const children = this.childPidDir(name);
        if (fs.existsSync(children)) {
            for (const f of fs.readdirSync(children)) {
                stopByPidFile(path.join(children, f), { group: true, signal: "SIGKILL" });
            }
        }
        return was;
    }
}

/** A long-running process of a box or a rig, as one row of its table. `C` is what the rows read. */
export interface Service<C> {
    name: string;
    /** The step line printed when it is started or found running. */
    what(c: C): string;
    /** Whether this run has it (default: always). */
    enabled?(c: C): boolean;
    /** Before it is started or found running: what it needs in place (API objects, CRDs). */
    setup?(c: C): Promise<void> | void;
    /** Before it is started, not when found running: its config files, stale markers. */
    prepare?(c: C): void;
    command(c: C): Command;
    env?(c: C): Record<string, string>;
    /** Ready when `check` holds, within `seconds`. */
    ready: { what: string; seconds: number; check(c: C): Promise<boolean> };
    /** Seconds it gets to exit on SIGTERM before SIGKILL (default 30). */
    stopSeconds?: number;
    /** On a full stop, after the process: what it left that has no pid of ours (e.g. asks a daemon to exit). */
    down?(): void;
    /** Its data, relative to the supervisor's directory: what wiping drops. */
    data?: string[];
}

/** Starts `s` unless it runs, then waits until it is ready; true if it was started. */
export async function startService<C>(s: Service<C>, c: C, procs: Processes): Promise<boolean> {
    await s.setup?.(c);
    const start = !procs.alive(s.name);
    if (start) {
        s.prepare?.(c);
        procs.start(s.name, s.command(c), s.env?.(c) ?? {});
    }
    await procs.ready(s.name, s.ready.what, s.ready.seconds, () => s.ready.check(c));
    return start;
}

/** The enabled services, in table order: the order they start in. */
export function startOrder<C>(services: readonly Service<C>[], c: C): Service<C>[] {
    return services.filter((s) => s.enabled?.(c) ?? true);
}

/** Every service, last first: the order they stop in (a disabled one may still run from an earlier start). */
export function stopOrder<C>(services: readonly Service<C>[]): Service<C>[] {
    return [...services].reverse();
}

/** Starts the services in table order, each ready before the next; `announce` prints the steps. */
export async function startServices<C>(
    services: readonly Service<C>[],
    c: C,
    procs: Processes,
    announce: (i: number, count: number, what: string) => void = () => undefined,
): Promise<void> {
    const order = startOrder(services, c);
    for (const [i, s] of order.entries()) {
        announce(i, order.length, s.what(c));
        await startService(s, c, procs);
    }
}

/** Stops the services in reverse table order; returns the names of those that were running. */
export async function stopServices<C>(
    services: readonly Service<C>[],
    procs: Processes,
    onStopped: (name: string) => void = () => undefined,
): Promise<string[]> {
    const stopped: string[] = [];
    for (const s of stopOrder(services)) {
        if (await procs.stop(s.name, s.stopSeconds ?? 30)) {
            stopped.push(s.name);
            onStopped(s.name);
        }
        s.down?.();
    }
    return stopped;
}
