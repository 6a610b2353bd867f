/** Runs the real stack program (index.ts) under mocks with a stack file's config and fake secrets. */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import {
    ADMIN_PASSWORD,
    AMQP_URL,
    BOOTSTRAP_PASSWORD,
    ES_PASSWORD,
    FAKE_SSH_KEY,
    MANAGEMENT_URL,
    REGISTRY_PASSWORD,
    SENTRY_DSN,
} from "../fixtures";
import { loadConfig, pulumiConfigSource } from "../../config";
import { buildStack } from "../../stack";
import { runUnderMocks } from "./pulumi";

export const ROOT = path.resolve(__dirname, "..", "..");

export const FAKE_SECRETS: Record<string, string> = {
    sshPrivateKey: FAKE_SSH_KEY,
    rancherBootstrapPassword: BOOTSTRAP_PASSWORD,
    rancherAdminPassword: ADMIN_PASSWORD,
    registryPassword: REGISTRY_PASSWORD,
    brokerAmqpUrl: AMQP_URL,
    brokerManagementUrl: MANAGEMENT_URL,
    elasticsearchPassword: ES_PASSWORD,
    sentryDsn: SENTRY_DSN,
};

/** A stack file's config as the engine hands it to the program: `project:key` → JSON text for objects. */
export function stackConfig(file: string): Record<string, string> {
    const doc = YAML.parse(fs.readFileSync(path.join(ROOT, file), "utf8")) as {
        config: Record<string, unknown>;
    };
    return Object.fromEntries(
        Object.entries(doc.config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
    );
}

/**
 * Runs the stack program (stack.ts's buildStack, what index.ts runs) on the engine's config as the mocks
 * hold it, and returns its outputs and records. The entrypoint test runs index.ts itself, through the SDK.
 */
export async function runProgram(
    config: Record<string, string>,
    secrets: Record<string, string> = FAKE_SECRETS,
    outputs?: NonNullable<Parameters<typeof runUnderMocks>[1]>["outputs"],
) {
    const all = {
        ...config,
        ...Object.fromEntries(Object.entries(secrets).map(([k, v]) => [`elastic-workers:${k}`, v])),
    };
    return runUnderMocks(() => buildStack(loadConfig(pulumiConfigSource())) as Record<string, unknown>, {
        config: all,
        secretKeys: Object.keys(secrets).map((k) => `elastic-workers:${k}`),
        outputs,
    });
}
