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
import { Box, boxUp } from "./box";
import { poolNodes } from "./nodes";

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

/** Publishes `count` tasks named `<prefix>-<i>` (i from `first`) that each sleep `seconds`, to `queue`. */
export function publish(
    box: Box,
    queue: string,
    count: number,
    seconds: number,
    prefix: string,
    first = 0,
): void {
    celery(box, ["publish", queue, String(count), String(seconds), prefix, String(first)]);
}

function celery(box: Box, args: string[]): void {
    execFileSync(box.python, ["swh_box_loader.py", ...args], {
        cwd: path.join(__dirname, "worker"),
        env: { ...process.env, BOX_BROKER_URL: box.rabbit.amqpUrl },
        stdio: ["ignore", "inherit", "inherit"],
    });
}

/**
 * Opens the box stack with the box's broker credentials. `loaders` replaces the stack file's loaders in the
 * work directory's copy (typed config such as lists cannot be set through `pulumi config set`).
 */
export async function openBoxStack(box: Box, loaders?: unknown[]): Promise<Stack> {
    const stack = await openStack(BOX_STACK, {
        stackFile: path.basename(BOX_STACK_FILE),
        secrets: { brokerAmqpUrl: box.rabbit.amqpUrl, brokerManagementUrl: box.rabbit.managementUrl },
    });
    if (loaders) {
        const file = path.join(stack.workspace.workDir, `Pulumi.${BOX_STACK}.yaml`);
        const doc = YAML.parseDocument(fs.readFileSync(file, "utf8"));
        doc.setIn(["config", "elastic-workers:loaders"], loaders);
        fs.writeFileSync(file, doc.toString());
    }
    return stack;
}

/**
 * `pulumi up --refresh` of the box stack, its output streamed; returns the update summary's resource changes.
 * The refresh puts back what was changed behind the engine's back (the benchmark swaps a ScaledObject out).
 */
export async function deployBoxStack(box: Box, loaders?: unknown[]): Promise<Record<string, number>> {
    const stack = await openBoxStack(box, loaders);
    const res = await stack.up({ refresh: true, onOutput: (o) => process.stdout.write(o) });
    return res.summary.resourceChanges ?? {};
}

/** What the pool holds of each loader (maxReplicas after the capacity bound), from the stack's outputs. */
export async function loaderFits(box: Box): Promise<Record<string, number>> {
    const outputs = await (await openBoxStack(box)).outputs();
    const capacity = outputs.loaderCapacity.value as Record<string, { maxReplicas: number }>;
    return Object.fromEntries(Object.entries(capacity).map(([k, v]) => [k, v.maxReplicas]));
}

/** Removes the box stack's state: after the box's data is wiped, its resources are gone with it. */
export async function forgetBoxStack(box: Box): Promise<void> {
    const stack = await openBoxStack(box);
    await stack.workspace.removeStack(BOX_STACK, { force: true });
}

/**
 * What the tests, the benchmark and `box:up` start from: the box up with nodes shaped from the stack file's
 * pool, the loaders' queues declared and empty, the stack deployed; and what the pool holds of each loader.
 */
export async function boxWithStack(): Promise<{
    box: Box;
    loaders: BoxLoader[];
    fits: Record<string, number>;
    changes: Record<string, number>;
}> {
    const box = await boxUp(poolNodes(BOX_STACK_FILE));
    const loaders = boxLoaders();
    const queues = loaders.flatMap((l) => l.queues);
    declareQueues(box, queues);
    purgeQueues(box, queues);
    console.log("\n`pulumi up` of Pulumi.box.yaml into the box");
    const changes = await deployBoxStack(box);
    return { box, loaders, fits: await loaderFits(box), changes };
}
