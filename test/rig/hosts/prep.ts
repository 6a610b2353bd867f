/**
 * A runner that does with the program's remote commands what the command provider does. The command plugin
 * cannot be built here (the Go proxy refuses pulumi-command), so this stands in for it: each step's `create`
 * string comes from the stack program's own resource inputs (test/harness/remote-steps.ts), never re-typed,
 * and runs over a real SSH session. As in the provider: a step runs when the
 * state holds no successful run of that exact command (a changed command replaces the resource), steps run in
 * their dependency order, the first failure stops the host's chain, and only completed steps are recorded.
 */
import { SshResult, TestHost, ssh } from "./hosts";

/** One `command:remote:Command` of the program, for one host. */
export interface RemoteStep {
    /** The resource name, as Pulumi prints it in errors: `pool-<host>-prep-<step>` or `pool-<host>-register`. */
    resource: string;
    host: string;
    step: string;
    create: string;
    delete?: string;
    connection: { host: string; port: number; user: string; hostKey?: string };
}

/** What one step did: its output and how long it took. */
export interface StepRun {
    step: string;
    ran: boolean;
    seconds: number;
    result: SshResult;
}

/** A step that failed, named as Pulumi names it: the resource (host and step), the exit status, stderr. */
export class StepError extends Error {}

/**
 * Runs a host's steps as `pulumi up` would: those whose command the state does not hold as succeeded (all of
 * them with `replaceAll`, as after `--replace`), in order, until one fails. `dropWhen` cuts the SSH connection
 * of `step` when its output matches.
 */
export async function up(
    host: TestHost,
    steps: RemoteStep[],
    state: Map<string, string>,
    opts: { replaceAll?: boolean; drop?: { step: string; when: RegExp }; only?: string[] } = {},
): Promise<StepRun[]> {
    const runs: StepRun[] = [];
    for (const s of steps.filter((x) => !opts.only || opts.only.includes(x.step))) {
        if (s.connection.port !== host.port || s.connection.user !== host.user)
            throw new Error(`${s.resource}: its connection is not ${host.name}'s`);
        if (!opts.replaceAll && state.get(s.resource) === s.create) {
            runs.push({
                step: s.step,
                ran: false,
                seconds: 0,
                result: { status: 0, stdout: "", stderr: "", dropped: false },
            });
            continue;
        }
        const started = Date.now();
        const result = await ssh(host, s.create, {
            dropWhen: opts.drop?.step === s.step ? opts.drop.when : undefined,
        });
        runs.push({ step: s.step, ran: true, seconds: (Date.now() - started) / 1000, result });
        if (result.dropped)
            throw new StepError(
                `command:remote:Command (${s.resource}) on host ${host.name}, step ${s.step}: connection lost`,
            );
        if (result.status !== 0)
            throw new StepError(
                `command:remote:Command (${s.resource}) on host ${host.name}, step ${s.step}: ` +
                    `Process exited with status ${result.status}: ${result.stderr.trim()}`,
            );
        state.set(s.resource, s.create);
    }
    return runs;
}
