/**
 * The product and its test rig stay apart: imports point one way. The product (components/, config/,
 * index.ts, policy/, images/) imports nothing of the rig or the tests; shipped tooling (scripts/) nothing of
 * the tests; the rig (test/rig/) nothing of the tests that use it; and `common` nothing of a component.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");

function tsFiles(dir: string): string[] {
    const full = path.join(ROOT, dir);
    if (fs.statSync(full).isFile()) return [dir];
    return fs
        .readdirSync(full, { withFileTypes: true })
        .filter((e) => e.name !== "node_modules")
        .flatMap((e) =>
            e.isDirectory()
                ? tsFiles(path.join(dir, e.name))
                : e.name.endsWith(".ts")
                  ? [path.join(dir, e.name)]
                  : [],
        );
}

/** The project-relative targets of a file's relative imports and requires. */
function importsOf(file: string): string[] {
    const text = fs.readFileSync(path.join(ROOT, file), "utf8");
    const specs = [...text.matchAll(/(?:from\s+|require\(|import\()\s*["'](\.{1,2}\/[^"']+)["']/g)].map(
        (m) => m[1],
    );
    return specs.map((s) => path.relative(ROOT, path.resolve(ROOT, path.dirname(file), s)));
}

const RULES: { from: string[]; never: string[]; why: string }[] = [
    {
        from: ["components", "config", "index.ts", "stack.ts", "policy", "images"],
        never: ["test", "scripts"],
        why: "the product ships without its tooling and test rig",
    },
    { from: ["scripts"], never: ["test"], why: "shipped tooling does not depend on tests" },
    {
        from: ["test/rig"],
        never: ["test/unit", "test/e2e", "test/harness", "test/fixtures"],
        why: "the rig serves the tests, not the reverse",
    },
    {
        from: ["components/common"],
        never: [
            "components/keda-scaled-loader",
            "components/loader-image",
            "components/observability-stack",
            "components/rancher-server",
            "components/worker-node-pool",
        ],
        why: "common is below every component (no import cycle)",
    },
];

describe("layout: imports point one way", () => {
    for (const rule of RULES) {
        it(`${rule.from.join(", ")} never import ${rule.never.join(", ")}: ${rule.why}`, () => {
            const files = rule.from.filter((d) => fs.existsSync(path.join(ROOT, d))).flatMap(tsFiles);
            assert.ok(files.length > 0, "the rule sees files");
            const wrong = files.flatMap((f) =>
                importsOf(f)
                    .filter((target) => rule.never.some((n) => target === n || target.startsWith(`${n}/`)))
                    .map((target) => `${f} imports ${target}`),
            );
            assert.deepEqual(wrong, []);
        });
    }

    it("the checker sees a wrong import (a fixture written on the fly)", () => {
        const probe = path.join(ROOT, "components", "common", "layout-probe.tmp.ts");
        fs.writeFileSync(probe, 'import { x } from "../../test/rig/engine/env";\n');
        try {
            assert.deepEqual(importsOf(path.relative(ROOT, probe)), ["test/rig/engine/env"]);
        } finally {
            fs.rmSync(probe);
        }
    });
});
