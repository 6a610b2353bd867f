import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { stepCommand } from "../../components/common/remote";
import { k3sSteps } from "../../components/rancher-server/k3s";
import { DEFAULT_RESERVATIONS } from "../../components/worker-node-pool/capacity";
import { nodePrepSteps } from "../../components/worker-node-pool/node-prep";
import { ROOT } from "../harness/program";

function shellcheck(args: string[], input?: string): { status: number; out: string } {
    const r = spawnSync("shellcheck", args, { input, encoding: "utf8" });
    if (r.error)
        throw new Error(
            `shellcheck is needed for this test: apt-get install shellcheck (${r.error.message})`,
        );
    return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

const SCRIPTS = [
    ...fs
        .readdirSync(path.join(ROOT, "components/worker-node-pool/scripts"))
        .map((f) => `components/worker-node-pool/scripts/${f}`),
    ...fs
        .readdirSync(path.join(ROOT, "components/rancher-server/scripts"))
        .map((f) => `components/rancher-server/scripts/${f}`),
    "images/loader/entrypoint.sh",
];

describe("shell scripts", () => {
    it("every shipped script passes shellcheck as POSIX sh", () => {
        assert.ok(SCRIPTS.length >= 10, SCRIPTS.join(" "));
        const r = shellcheck(["-s", "sh", ...SCRIPTS.map((s) => path.join(ROOT, s))]);
        assert.equal(r.status, 0, r.out);
    });

    it("shellcheck does report a broken script (the check can fail)", () => {
        const r = shellcheck(["-s", "sh", "-"], "#!/bin/sh\nrm -rf $DIR/*\n");
        assert.notEqual(r.status, 0);
        assert.match(r.out, /SC2086/);
    });

    it("the commands sent over SSH (variables inline, sudo, script) pass shellcheck too", () => {
        const host = { name: "h", address: "10.0.0.1", port: 22, user: "debian" };
        for (const step of [
            ...nodePrepSteps("rke2", DEFAULT_RESERVATIONS),
            ...k3sSteps({
                version: "v1.33.4+k3s1",
                flannelBackend: "host-gw",
                tlsSans: ["x"],
                readyTimeoutSeconds: 5,
            }),
        ]) {
            const r = shellcheck(["-s", "sh", "-"], `#!/bin/sh\n${stepCommand(host, step)}\n`);
            assert.equal(r.status, 0, `${step.name}: ${r.out}`);
        }
    });
});
