/**
 * The box's stack (Pulumi.box.yaml): the project's program, run by the Pulumi CLI in the project directory
 * against the box's cluster, with the box's RabbitMQ credentials as the stack file's own secrets.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { subKey } from "../../../components/common/schema";
import { LoaderPlan, planLoader } from "../../../components/keda-scaled-loader/plan";
import { PROJECT, loaderSettings } from "../../../config/load";
import { lastUpdateChanges, pulumi, pulumiOk, selectStack, stackOutputs } from "../engine/cli";
import { ROOT, STATE } from "../engine/env";
import { Box, boxUp } from "./box";
import { poolNodes } from "./nodes";
import { BOX_STACK } from "./services";

export { BOX_STACK };
export const BOX_STACK_FILE = path.join(ROOT, "Pulumi.box.yaml");

/** One loader's settings as the program resolves them (what the tests and the benchmark read). */
export type BoxLoader = Pick<
    LoaderPlan,
    "loader" | "queues" | "queueThreshold" | "pollingInterval" | "cooldownPeriod" | "fallback" | "namespace"
>;

/**
 * The stack file's loaders, each resolved by the component's own planLoader against the stack's pool, as the
 * program resolves them (config/load.ts's loaderSettings drops the stack-only keys first): every default and bound is the
 * component's, none restated here.
 */
export function boxLoaders(stackFile = BOX_STACK_FILE): BoxLoader[] {
    const doc = YAML.parse(fs.readFileSync(stackFile, "utf8")) as { config?: Record<string, unknown> };
    const key = `${PROJECT}:loaders`;
    const loaders = doc.config?.[key];
    if (!Array.isArray(loaders)) throw new Error(`${stackFile}: ${key}: expected a list of loaders`);
    const nodes = poolNodes(stackFile);
    return (loaders as Record<string, unknown>[]).map((l, i) => {
        const settings = loaderSettings(l);
        // planLoader checks every field, and names it as this gives it: "" is the entry, "[n]" an index.
        const where = subKey(`${stackFile}: ${key}[${i}]`);
        return planLoader(settings as Parameters<typeof planLoader>[0], where, nodes);
    });
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
 * A copy of the box's stack file with other loaders, for `pulumi up --config-file` (typed config such as a list
 * of objects cannot be set through `pulumi config set`). The committed stack file is not touched.
 */
function stackFileWithLoaders(loaders: unknown[]): string {
    const doc = YAML.parseDocument(fs.readFileSync(BOX_STACK_FILE, "utf8"));
    doc.setIn(["config", "elastic-workers:loaders"], loaders);
    const file = path.join(STATE, "box", "Pulumi.box.loaders.yaml");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, doc.toString());
    return file;
}

/**
 * `pulumi up --refresh --stack box` in the project directory, its output streamed; returns the update's resource
 * changes. The refresh puts back what was changed behind the engine's back (the benchmark swaps a ScaledObject out).
 * `loaders` replaces the stack file's loaders for this update.
 */
export async function deployBoxStack(loaders?: unknown[]): Promise<Record<string, number>> {
    await selectStack(BOX_STACK);
    const args = ["up", "--yes", "--refresh", "--stack", BOX_STACK];
    if (loaders) args.push("--config-file", stackFileWithLoaders(loaders));
    await pulumiOk(args, { label: "pulumi up box" });
    return lastUpdateChanges(BOX_STACK);
}

/** What the pool holds of each loader (maxReplicas after the capacity bound), from the stack's outputs. */
export async function loaderFits(): Promise<Record<string, number>> {
    const capacity = (await stackOutputs(BOX_STACK)).loaderCapacity as Record<
        string,
        { maxReplicas: number }
    >;
    return Object.fromEntries(Object.entries(capacity).map(([k, v]) => [k, v.maxReplicas]));
}

/** Removes the box stack's state: after the box's data is wiped, its resources are gone with it. */
export async function forgetBoxStack(): Promise<void> {
    const r = await pulumi(["stack", "rm", "--force", "--yes", "--preserve-config", BOX_STACK], {
        label: false,
    });
    if (r.code !== 0 && !/no stack named/.test(r.out)) throw new Error(r.out.trim());
}

/**
 * What the tests, the benchmark and `box:up` start from: the box up with nodes shaped from the stack file's
 * pool, the loaders' queues declared and empty, the stack deployed; and what the pool holds of each loader.
 */
export async function boxWithStack(opts: { resourceMetrics?: boolean; timeScale?: number } = {}): Promise<{
    box: Box;
    loaders: BoxLoader[];
    fits: Record<string, number>;
    changes: Record<string, number>;
}> {
    const box = await boxUp(poolNodes(BOX_STACK_FILE), opts);
    const loaders = boxLoaders();
    const queues = loaders.flatMap((l) => l.queues);
    declareQueues(box, queues);
    purgeQueues(box, queues);
    console.log("\n`pulumi up --stack box` in the project directory, into the box");
    const changes = await deployBoxStack();
    return { box, loaders, fits: await loaderFits(), changes };
}
