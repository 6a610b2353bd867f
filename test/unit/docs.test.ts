/** The config reference and Pulumi.yaml's config block are generated from the schemas (scripts/docs.ts). */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as YAML from "yaml";
import { PULUMI_YAML, configKeys, generated, pulumiConfigBlock } from "../../scripts/docs";
import { structuredKeys } from "../../config/schema";

describe("generated config docs (npm run docs)", () => {
    it("docs/config.md and Pulumi.yaml are what the schemas generate", async () => {
        for (const [file, text] of await generated()) {
            assert.equal(fs.readFileSync(file, "utf8"), text, `${file} is stale: run npm run docs`);
        }
    });

    it("documents every key the schema accepts, with a description for each top-level key", () => {
        const keys = configKeys();
        const documented = new Set(keys.map((k) => k.key));
        for (const key of [
            "rancher.readyTimeoutSeconds",
            "rancher.reservations.evictionHardMemory",
            "pool.prepareHosts",
            "images.pipCaBundle",
            "images.builder",
            "loaders[].scaleToZero",
            "loaders[].image",
            "observability.loaderNamespaces",
            "kubernetes.kubeconfig",
        ]) {
            assert.ok(documented.has(key), `${key} is documented`);
        }
        for (const k of keys.filter((k) => !k.key.includes("."))) assert.notEqual(k.description, "", k.key);
        assert.ok(!documented.has("observability.kedaNamespace"), "KEDA's namespace is keda.namespace only");
    });

    it("Pulumi.yaml declares the keys with a default or required, and leaves optional ones to the program", () => {
        const declared = (YAML.parse(fs.readFileSync(PULUMI_YAML, "utf8")) as { config: object }).config;
        assert.deepEqual(declared, pulumiConfigBlock());
        assert.deepEqual(Object.keys(declared).sort(), [
            "environment",
            "images",
            "keda",
            "kubernetes",
            "loaders",
            "observability",
            "pool",
            "protect",
        ]);
        assert.ok(
            "rancher" in structuredKeys && !("rancher" in declared),
            "rancher is optional, so undeclared",
        );
    });
});
