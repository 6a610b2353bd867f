/**
 * `npm run demo`: the stack program on its offline `local` stack, run by the Pulumi CLI in the project directory
 * as an operator types it (`pulumi up --stack local`), with the real providers, Docker and a registry.
 * `npm run demo -- down` destroys the stack and stops what the demo started.
 */
import * as fs from "fs";
import * as path from "path";
import { configGet, lastUpdateChanges, pulumi, pulumiOk, selectStack, stackOutputs } from "./engine/cli";
import { ROOT, STATE, toolsBin } from "./engine/env";
import {
    bootstrapTools,
    ensureBaseImage,
    ensureBuildkit,
    ensureDocker,
    Registry,
    RegistryAccess,
    registryDigest,
    registryTags,
    startRegistry,
    step,
    stopByPidFile,
} from "./e2e/env";

export const LOCAL_STACK = "local";
export const BASE_IMAGE = "swh-e2e/python:3.11-bookworm";
export const RENDERED = path.join(STATE, "rendered", LOCAL_STACK);

/** What the local stack does not do, printed with every run. */
export const NOT_DONE = [
    "Rancher server: not installed (no rancher config in the local stack)",
    "pool registration into Rancher: off (pool.register: false; no Rancher server here)",
    "node preparation over SSH: not run (pool.prepareHosts: false) - the pulumi-command provider plugin cannot " +
        "be built here: the Go module proxy refuses github.com/pulumi/pulumi-command/provider at every release",
    "KEDA and kube-prometheus-stack charts: not installed (Helm releases cannot be rendered to files)",
    "Kubernetes objects: written to files by the kubernetes provider, not applied (no cluster)",
    "broker Secret loader-<type>-broker and image pull Secret loader-<type>-registry: referenced, not rendered " +
        "(rendered files would hold their values in plain text); create them out of band, e.g. with sealed secrets",
];

/** The registry the local stack pushes to: its address, user and password are the stack's own config. */
export async function localRegistry(): Promise<RegistryAccess> {
    await selectStack(LOCAL_STACK);
    const images = JSON.parse(await configGet(LOCAL_STACK, "images")) as {
        registry: string;
        username: string;
    };
    return {
        address: images.registry,
        username: images.username,
        password: await configGet(LOCAL_STACK, "registryPassword"),
    };
}

/** Brings up what the local stack needs (tools, Docker, registry, base image, BuildKit); selects the stack. */
export async function prepareLocal(total: number): Promise<Registry> {
    step(1, total, "tools: Node, the Pulumi CLI, language host and the plugins the local stack uses");
    bootstrapTools("demo");
    step(2, total, "docker engine");
    await ensureDocker();
    const wanted = await localRegistry();
    step(3, total, `registry with htpasswd on ${wanted.address} (credentials from the local stack's config)`);
    const port = Number(wanted.address.split(":")[1]);
    const registry = await startRegistry(port, wanted.username, wanted.password);
    step(4, total, `base image ${BASE_IMAGE} (debootstrap, no registry pulls) and BuildKit`);
    ensureBaseImage(BASE_IMAGE, registry);
    await ensureBuildkit(toolsBin(), [registry.address]);
    return registry;
}

async function up(): Promise<void> {
    const total = 6;
    const started = Date.now();
    const registry = await prepareLocal(total);
    step(5, total, "pulumi up --yes --stack local (in the project directory)");
    // The render directory is the provider's output: only `down` removes it (an unchanged resource is not rewritten).
    await pulumiOk(["up", "--yes", "--stack", LOCAL_STACK], { label: "pulumi up" });
    step(6, total, "summary");
    const outputs = await stackOutputs(LOCAL_STACK);
    const changes = await lastUpdateChanges(LOCAL_STACK);
    console.log(
        `resources: ${Object.entries(changes)
            .map(([op, n]) => `${op} ${n}`)
            .join(", ")}`,
    );
    for (const [loader, ref] of Object.entries(outputs.imageRefs as Record<string, string>)) {
        const [repoRef, digest] = ref.split("@");
        const repo = repoRef.replace(`${registry.address}/`, "");
        console.log(`image ${loader}: ${ref}`);
        for (const tag of registryTags(registry, repo)) {
            const served = registryDigest(registry, repo, tag);
            console.log(
                `  registry serves ${repo}:${tag} as ${served} (${served === digest ? "matches" : "DIFFERS from"} the output)`,
            );
        }
    }
    const files = fs.readdirSync(RENDERED, { recursive: true }).filter((f) => String(f).endsWith(".yaml"));
    console.log(`manifests written: ${files.length} files under ${path.relative(ROOT, RENDERED)}`);
    console.log(`pool capacity for loaders: ${JSON.stringify(outputs.poolAllocatable)}`);
    for (const [loader, plan] of Object.entries(
        outputs.loaderCapacity as Record<
            string,
            { replicasThatFit: number; maxReplicas: number; clampedBecause: string | null }
        >,
    )) {
        console.log(
            `loader ${loader}: ${plan.replicasThatFit} replicas fit, maxReplicas ${plan.maxReplicas}${plan.clampedBecause ? ` (clamped: ${plan.clampedBecause})` : ""}`,
        );
    }
    console.log("not done by the local stack:");
    for (const line of NOT_DONE) console.log(`  - ${line}`);
    console.log(`demo finished in ${Math.round((Date.now() - started) / 1000)}s`);
}

async function down(): Promise<void> {
    await selectStack(LOCAL_STACK);
    const r = await pulumi(["destroy", "--yes", "--stack", LOCAL_STACK], { label: "pulumi destroy" });
    if (r.code !== 0) throw new Error(`pulumi destroy failed (exit ${r.code})`);
    fs.rmSync(RENDERED, { recursive: true, force: true });
    stopLocalServices();
    console.log("local stack destroyed, registry and buildkitd stopped");
}

/** Stops what prepareLocal started: the registries and buildkitd. */
export function stopLocalServices(): void {
    for (const dir of fs.existsSync(path.join(STATE, "e2e")) ? fs.readdirSync(path.join(STATE, "e2e")) : [])
        if (dir.startsWith("registry-")) stopByPidFile(path.join(STATE, "e2e", dir, "pid"));
    stopByPidFile(path.join(STATE, "e2e", "buildkit", "pid"));
}

if (require.main === module) {
    (process.argv[2] === "down" ? down() : up()).catch((e: Error) => {
        console.error(`demo failed: ${e.message}`);
        process.exit(1);
    });
}
