import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Host } from "./hosts";
import { remoteScript } from "./shell";

/** One idempotent preparation step, run over SSH as its own remote command. */
export interface PrepStep<V extends pulumi.Input<string> = string> {
    /** Short name; the command resource is `${prefix}-${name}`. */
    name: string;
    /** The POSIX sh script, from the component's `scripts/`. */
    script: string;
    /** Variables the script reads. Changing any of them re-runs the step. */
    env: Record<string, V>;
}

/** The SSH connection of a host; the private key stays a secret. */
export function sshConnection(
    host: Host,
    privateKey: pulumi.Input<string>,
): command.types.input.remote.ConnectionArgs {
    return {
        host: host.address,
        port: host.port,
        user: host.user,
        privateKey: pulumi.secret(privateKey),
        ...(host.hostKey !== undefined ? { hostKey: host.hostKey } : {}),
        // A host that is rebooting or still booting is retried for about a minute, then the update fails.
        dialErrorLimit: 12,
        perDialTimeout: 5,
    };
}

/** The command string that runs a step's script on a host, as root (through sudo for another user). */
export function stepCommand(host: Host, step: PrepStep<pulumi.Input<string>>): pulumi.Input<string> {
    const env = Object.values(step.env);
    const plain = typeof host.user === "string" && env.every((v) => typeof v === "string");
    if (plain)
        return remoteScript(step.script, step.env as Record<string, string>, { sudo: host.user !== "root" });
    return pulumi
        .all([host.user, pulumi.all(step.env)])
        .apply(([user, values]) => remoteScript(step.script, values, { sudo: user !== "root" }));
}

/**
 * Runs the steps on a host one after the other, each as its own remote command named
 * `${prefix}-${step.name}`. A step re-runs when its script or variables change (the command string changes).
 */
export function runSteps(
    prefix: string,
    host: Host,
    steps: PrepStep<pulumi.Input<string>>[],
    privateKey: pulumi.Input<string>,
    opts: pulumi.CustomResourceOptions,
): command.remote.Command[] {
    const connection = sshConnection(host, privateKey);
    const commands: command.remote.Command[] = [];
    for (const step of steps) {
        const previous = commands[commands.length - 1];
        commands.push(
            new command.remote.Command(
                `${prefix}-${step.name}`,
                { connection, create: stepCommand(host, step) },
                { ...opts, dependsOn: previous ? [previous] : opts.dependsOn },
            ),
        );
    }
    return commands;
}
