/**
 * The box's stack (Pulumi.box.yaml): the project's program, run by the real engine against the box's cluster
 * with the box's RabbitMQ credentials as secrets.
 */
import { Stack } from "@pulumi/pulumi/automation";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ROOT } from "../engine/env";
import { openStack } from "../engine/stack";
import { Box } from "./box";

export const BOX_STACK = "box";
export const BOX_STACK_FILE = path.join(ROOT, "Pulumi.box.yaml");

/** One loader's settings as the stack file gives them (what the tests and the benchmark need). */
export interface BoxLoader {
    loader: string;
    queues: string[];
    queueThreshold: number;
    pollingInterval: number;
    cooldownPeriod: number;
    fallback: { failureThreshold: number; replicas: number };
    namespace: string;
}

export function boxLoaders(stackFile = BOX_STACK_FILE): BoxLoader[] {
    const doc = YAML.parse(fs.readFileSync(stackFile, "utf8")) as { config: Record<string, unknown> };
    return (doc.config["elastic-workers:loaders"] as Record<string, never>[]).map((l) => ({
        loader: l.loader,
        queues: l.queues,
        queueThreshold: l.queueThreshold ?? 10,
        pollingInterval: l.pollingInterval ?? 30,
        cooldownPeriod: l.cooldownPeriod ?? 300,
        fallback: l.fallback ?? { failureThreshold: 3, replicas: 1 },
        namespace: l.namespace ?? `swh-loader-${l.loader}`,
    }));
}

/** Declares the loaders' durable queues, as SWH's scheduler has them before any worker or KEDA poll. */
export function declareQueues(box: Box, queues: string[]): void {
    celery(box, ["declare", ...queues]);
}

/** Drops the queues' ready messages. */
export function purgeQueues(box: Box, queues: string[]): void {
    celery(box, ["purge", ...queues]);
}

/** Publishes `count` tasks named `<prefix>-<i>` that each sleep `seconds`, to `queue`. */
export function publish(box: Box, queue: string, count: number, seconds: number, prefix: string): void {
    celery(box, ["publish", queue, String(count), String(seconds), prefix]);
}

function celery(box: Box, args: string[]): void {
    execFileSync(box.python, ["swh_box_loader.py", ...args], {
        cwd: path.join(__dirname, "worker"),
        env: { ...process.env, BOX_BROKER_URL: box.rabbit.amqpUrl },
        stdio: ["ignore", "inherit", "inherit"],
    });
}

/** Opens the box stack with the box's broker credentials; `config` overrides plain keys (JSON text). */
export function openBoxStack(box: Box, config: Record<string, string> = {}): Promise<Stack> {
    return openStack(BOX_STACK, {
        stackFile: path.basename(BOX_STACK_FILE),
        secrets: { brokerAmqpUrl: box.rabbit.amqpUrl, brokerManagementUrl: box.rabbit.managementUrl },
        config,
    });
}

/** `pulumi up` of the box stack, its output streamed; returns the update summary's resource changes. */
export async function deployBoxStack(
    box: Box,
    config: Record<string, string> = {},
): Promise<Record<string, number>> {
    const stack = await openBoxStack(box, config);
    const res = await stack.up({ onOutput: (o) => process.stdout.write(o) });
    return res.summary.resourceChanges ?? {};
}

/** Removes the box stack's state: after the box's data is wiped, its resources are gone with it. */
export async function forgetBoxStack(box: Box): Promise<void> {
    const stack = await openBoxStack(box);
    await stack.workspace.removeStack(BOX_STACK, { force: true });
}
