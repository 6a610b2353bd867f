import { strict as assert } from "assert";
import * as path from "path";
import * as ts from "typescript";
import { AMQP_URL, DIGEST_REF, MANAGEMENT_URL } from "../fixtures";
import { ROOT } from "../harness/program";
import { isSecretAt, runUnderMocks } from "../harness/pulumi";
import Module = require("module");

/**
 * The example imports the package by name; the unit tier runs it against the sources (the e2e tier installs
 * the packed tarball). Resolves "@swh/elastic-workers" to components/index.ts while `fn` runs.
 */
function withPackageFromSources<T>(fn: () => T): T {
    const m = Module as unknown as { _resolveFilename(request: string, ...rest: unknown[]): string };
    const resolve = m._resolveFilename;
    m._resolveFilename = function (request: string, ...rest: unknown[]) {
        if (request === "@swh/elastic-workers") return path.join(ROOT, "components", "index.ts");
        return resolve.call(this, request, ...rest);
    };
    try {
        return fn();
    } finally {
        m._resolveFilename = resolve;
    }
}

const EXAMPLE = path.join(ROOT, "examples/keda-loader-only/index.ts");

describe("examples/keda-loader-only (a consumer stack)", () => {
    it("compiles under the project's strict compiler options", function () {
        this.timeout(60000);
        const parsed = ts.getParsedCommandLineOfConfigFile(
            path.join(ROOT, "tsconfig.json"),
            {},
            {
                ...ts.sys,
                onUnRecoverableConfigFileDiagnostic: (d) =>
                    assert.fail(ts.flattenDiagnosticMessageText(d.messageText, "\n")),
            },
        )!;
        assert.equal(parsed.options.strict, true);
        const program = ts.createProgram([EXAMPLE], { ...parsed.options, noEmit: true });
        const diagnostics = ts
            .getPreEmitDiagnostics(program)
            .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
        assert.deepEqual(diagnostics, []);
    });

    it("creates one loader with KEDA scaling and secret broker URLs, without any pool", async () => {
        const { recorder: r } = await runUnderMocks(() => withPackageFromSources(() => require(EXAMPLE)), {
            config: {
                "swh-git-loader:image": DIGEST_REF,
                "swh-git-loader:maxReplicas": "4",
                "swh-git-loader:amqpUrl": AMQP_URL,
                "swh-git-loader:managementUrl": MANAGEMENT_URL,
            },
            secretKeys: ["swh-git-loader:amqpUrl", "swh-git-loader:managementUrl"],
            project: "swh-git-loader",
        });
        const so = r.named("git-scaledobject").inputs;
        assert.equal(so.spec.maxReplicaCount, 4);
        assert.equal(so.metadata.namespace, "swh-loader-git", "the component's default namespace");
        assert.equal(so.spec.triggers.length, 2);
        assert.equal(
            so.spec.triggers[0].metadata.value,
            "1",
            "the default: one replica per task, at least once",
        );
        assert.ok(isSecretAt(r.named("git-broker").raw, ["stringData", "host"]));
        assert.equal(
            r.resources.filter((x) => x.type.startsWith("rancher2:") || x.type.startsWith("command:")).length,
            0,
        );
    });
});
