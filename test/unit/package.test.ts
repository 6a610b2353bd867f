/** The components as a package other stacks install: entry points, what ships, and the SDK as a peer. */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../harness/program";

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

describe("the @swh/elastic-workers package", () => {
    it("exports the compiled components with their declarations", () => {
        assert.deepEqual(pkg.exports["."], {
            types: "./dist/components/index.d.ts",
            default: "./dist/components/index.js",
        });
        assert.equal(pkg.main, "dist/components/index.js");
        assert.deepEqual(pkg.files, ["dist/"]);
        assert.equal(pkg.scripts.prepack, "npm run build");
        // The build compiles exactly the components (not the stack program, config, tests or the rig).
        const build = JSON.parse(fs.readFileSync(path.join(ROOT, "tsconfig.build.json"), "utf8"));
        assert.deepEqual(build.include, ["components/**/*.ts"]);
    });

    it("takes every @pulumi package as a peer with a version range, so consumers keep one SDK", () => {
        const pulumiDeps = Object.keys(pkg.dependencies).filter((d) => d.startsWith("@pulumi/"));
        assert.deepEqual(pulumiDeps, [], "no @pulumi package in dependencies");
        for (const [name, range] of Object.entries(pkg.peerDependencies as Record<string, string>)) {
            assert.match(name, /^@pulumi\//);
            assert.match(range, /^(\^|>=)/, `${name}: a range, not an exact pin`);
            assert.ok(pkg.devDependencies[name], `${name} pinned for this repository's own tests`);
        }
    });

    it("is not the stack program's entry: Pulumi.yaml names index.ts", () => {
        assert.match(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"), /^main: index\.ts$/m);
        assert.ok(!pkg.main.startsWith("index."));
    });

    it("requires the Node the dependencies need (>= 22), and the pinned runtime satisfies it", () => {
        assert.equal(pkg.engines.node, ">=22");
        const versions = fs.readFileSync(path.join(ROOT, "scripts/tools/versions.sh"), "utf8");
        const pinned = /^NODE_VERSION=(\d+)\./m.exec(versions)![1];
        assert.ok(Number(pinned) >= 22);
    });
});
