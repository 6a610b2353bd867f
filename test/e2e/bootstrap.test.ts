/**
 * scripts/tools/bootstrap.sh on an operator's machine: a Pulumi CLI and plugins already installed at the pinned
 * versions are used, not built, and the script says which; an unknown group is refused.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../rig/engine/env";

const BOOTSTRAP = path.join(ROOT, "scripts/tools/bootstrap.sh");

function pinned(name: string): string {
    return new RegExp(`^${name}=(\\S+)$`, "m").exec(
        fs.readFileSync(path.join(ROOT, "scripts/tools/versions.sh"), "utf8"),
    )![1];
}

function executable(file: string, body: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
}

describe("bootstrap.sh with tools already installed", function () {
    this.timeout(120000);
    let dir: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "swh-bootstrap-"));
        // An installed CLI at the pinned version, and the two plugins in Pulumi's plugin directory.
        executable(path.join(dir, "usr/bin/pulumi"), `echo ${pinned("PULUMI_VERSION")}`);
        const plugins = path.join(dir, "pulumi-home/plugins");
        executable(
            path.join(
                plugins,
                `resource-kubernetes-v${pinned("KUBERNETES_VERSION")}/pulumi-resource-kubernetes`,
            ),
            "exit 0",
        );
        executable(
            path.join(
                plugins,
                `resource-docker-build-${pinned("DOCKER_BUILD_VERSION")}/pulumi-resource-docker-build`,
            ),
            "exit 0",
        );
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const bootstrap = (args: string[], firstOnPath?: string) =>
        spawnSync("bash", [BOOTSTRAP, ...args], {
            encoding: "utf8",
            env: {
                ...process.env,
                PATH: `${firstOnPath ? `${firstOnPath}:` : ""}${path.join(dir, "usr/bin")}:${process.env.PATH}`,
                PULUMI_HOME: path.join(dir, "pulumi-home"),
                SWH_TOOLS_CACHE: path.join(dir, "cache"),
            },
        });

    it("links the installed CLI and plugins instead of building them, and says so", () => {
        const r = bootstrap(["engine"]);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /\[1\/3\] pulumi v[\d.]+: using the installed .*usr\/bin\/pulumi/);
        assert.match(r.stdout, /kubernetes [\d.]+: using the installed .*resource-kubernetes-v/);
        assert.match(r.stdout, /docker-build v[\d.]+: using the installed .*resource-docker-build-v/);
        assert.doesNotMatch(r.stdout, /building/);
        const bin = path.join(dir, "cache/bin");
        assert.equal(fs.readlinkSync(path.join(bin, "pulumi")), path.join(dir, "usr/bin/pulumi"));
        // The language host is the checkout's (env.sh's PATH), never a link in the shared cache into a checkout.
        assert.ok(!fs.existsSync(path.join(bin, "pulumi-language-nodejs")));
        assert.match(r.stdout, /language host: /);
    });

    it("run again with its own bin directory first on PATH (after env.sh), still links the installed CLI", () => {
        const bin = path.join(dir, "cache/bin");
        const r = bootstrap(["engine"], bin);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /pulumi v[\d.]+: using the installed .*usr\/bin\/pulumi/);
        assert.equal(fs.readlinkSync(path.join(bin, "pulumi")), path.join(dir, "usr/bin/pulumi"));
        assert.equal(spawnSync(path.join(bin, "pulumi"), ["version"], { encoding: "utf8" }).status, 0);
    });

    it("refuses an unknown group, naming the ones it knows", () => {
        const r = bootstrap(["everything"]);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /unknown group 'everything' \(expected engine, demo/);
    });
});
