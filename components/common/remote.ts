import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HostSpec } from "../worker-node-pool/hosts";
import { PrepStep } from "../worker-node-pool/node-prep";
import { remoteScript } from "./shell";

/** The SSH connection of a host; the private key stays a secret. */
export function sshConnection(
    host: HostSpec,
    privateKey: pulumi.Input<string>,
): command.types.input.remote.ConnectionArgs {
    return {
        host: host.address,
        port: host.port ?? 22,
        user: host.user ?? "root",
        privateKey: pulumi.secret(privateKey),
        ...(host.hostKey ? { hostKey: host.hostKey } : {}),
        // A host that is rebooting or still booting is retried for about a minute, then the update fails.
        dialErrorLimit: 12,
        perDialTimeout: 5,
    };
}

/** The command string that runs a step's script on a host, as root. */
export function stepCommand(host: HostSpec, step: PrepStep): string {
    return remoteScript(step.script, step.env, { sudo: (host.user ?? "root") !== "root" });
}

/**
 * Runs the steps on a host one after the other, each as its own remote command named
 * `${prefix}-${step.name}`. A step re-runs when its script or variables change (the command string changes).
 */
export function runSteps(
    prefix: string,
    host: HostSpec,
    steps: PrepStep[],
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
