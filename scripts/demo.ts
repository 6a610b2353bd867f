/**
 * `npm run demo`: the stack program on its offline `local` stack, with the real Pulumi engine and providers.
 * `npm run demo -- down` destroys the stack and stops what the demo started.
 */
import * as fs from "fs";
import * as path from "path";
import { ROOT, STATE, toolsBin } from "./engine/env";
import { openStack } from "./engine/stack";
import {
    bootstrapTools,
    ensureBaseImage,
    ensureBuildkit,
    ensureDocker,
    persistentSecret,
    registryDigest,
    registryTags,
    startRegistry,
    step,
    stopByPidFile,
} from "./e2e/env";

const REGISTRY_PORT = 5055;
const BASE_IMAGE = "swh-e2e/python:3.11-bookworm";
export const RENDERED = path.join(STATE, "rendered", "local");

/** What the local stack does not do, printed with every run. */
export const NOT_DONE = [
    "Rancher server: not installed (no rancher config in the local stack)",
    "pool registration into Rancher: off (pool.register: false; no Rancher server here)",
    "node preparation over SSH: not run (pool.prepareHosts: false) - the pulumi-command provider plugin cannot " +
        "be built here: the Go module proxy refuses github.com/pulumi/pulumi-command/provider at every release",
    "KEDA and kube-prometheus-stack charts: not installed (Helm releases cannot be rendered to files)",
    "Kubernetes objects: written to files by the kubernetes provider, not applied (no cluster)",
    "broker Secret loader-<type>-broker: referenced, not rendered (rendered files would hold its values in " +
        "plain text); create it out of band, e.g. with sealed secrets",
];

/** The secrets the local stack needs, generated once per checkout. */
export function localSecrets(registryPassword: string): Record<string, string> {
    return { registryPassword };
}

/** Brings up what the local stack needs and opens it. */
export async function prepareLocal(total: number) {
    step(1, total, "tools: Pulumi CLI and provider plugins (built from Go modules, cached)");
    bootstrapTools();
    step(2, total, "docker engine");
    await ensureDocker();
    step(3, total, `registry with htpasswd on 127.0.0.1:${REGISTRY_PORT}`);
    const registry = await startRegistry(REGISTRY_PORT);
    console.log(`registry: http://${registry.address} (user ${registry.username})`);
    step(4, total, `base image ${BASE_IMAGE} (debootstrap, no registry pulls) and BuildKit`);
    ensureBaseImage(BASE_IMAGE, registry);
    await ensureBuildkit(toolsBin(), [registry.address]);
    const stack = await openStack("local", { secrets: localSecrets(registry.password) });
    return { registry, stack };
}

async function up(): Promise<void> {
    const total = 6;
    const started = Date.now();
    const { registry, stack } = await prepareLocal(total);
    step(5, total, "pulumi up --yes (stack local)");
    // The render directory is the provider's output: only `down` removes it (an unchanged resource is not rewritten).
    const result = await stack.up({ onOutput: (s) => process.stdout.write(s), color: "never" });
    step(6, total, "summary");
    const outputs = result.outputs;
    const refs = outputs.imageRefs.value as Record<string, string>;
    const created = Object.entries(result.summary.resourceChanges ?? {})
        .map(([op, n]) => `${op} ${n}`)
        .join(", ");
    console.log(`resources: ${created}`);
    for (const [loader, ref] of Object.entries(refs)) {
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
    console.log(`pool capacity for loaders: ${JSON.stringify(outputs.poolAllocatable.value)}`);
    for (const [loader, plan] of Object.entries(
        outputs.loaderCapacity.value as Record<
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
    const stack = await openStack("local", {
        secrets: localSecrets(persistentSecret(`registry-${REGISTRY_PORT}-password`)),
    });
    await stack.destroy({ onOutput: (s) => process.stdout.write(s), color: "never" });
    fs.rmSync(RENDERED, { recursive: true, force: true });
    stopByPidFile(path.join(STATE, "e2e", `registry-${REGISTRY_PORT}`, "pid"));
    stopByPidFile(path.join(STATE, "e2e", "buildkit", "pid"));
    console.log("local stack destroyed, registry and buildkitd stopped");
}

if (require.main === module) {
    (process.argv[2] === "down" ? down() : up()).catch((e: Error) => {
        console.error(`demo failed: ${e.message}`);
        process.exit(1);
    });
}
