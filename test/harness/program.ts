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
} from "../fixtures";
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

/** Runs index.ts afresh (its module and the config layer reloaded) and returns its exports and records. */
export async function runProgram(
    config: Record<string, string>,
    secrets: Record<string, string> = FAKE_SECRETS,
) {
    for (const id of Object.keys(require.cache)) {
        if (id === path.join(ROOT, "index.ts")) delete require.cache[id];
    }
    const all = {
        ...config,
        ...Object.fromEntries(Object.entries(secrets).map(([k, v]) => [`elastic-workers:${k}`, v])),
    };
    return runUnderMocks(() => require(path.join(ROOT, "index.ts")) as Record<string, unknown>, {
        config: all,
        secretKeys: Object.keys(secrets).map((k) => `elastic-workers:${k}`),
    });
}
