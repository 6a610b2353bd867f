/** Protection of what would lose a cluster or data (config/protect.ts), on by default, lifted by one key. */
import { strict as assert } from "assert";
import { PROTECT_KEY, protectedAs } from "../../config/protect";
import { runProgram, stackConfig } from "../harness/program";

describe("protect (elastic-workers:protect)", function () {
    this.timeout(60000);

    it("protects the Rancher install, the pool's cluster and the loaders' namespaces, and nothing else", async () => {
        const { recorder } = await runProgram(stackConfig("Pulumi.staging.yaml"));
        const protectedNames = recorder.resources.filter((r) => r.protect).map((r) => `${r.type} ${r.name}`);
        const loaders = recorder.resources.filter((r) => r.type === "swh:elastic:KedaScaledLoader").length;
        assert.ok(loaders >= 3);
        assert.equal(protectedNames.filter((n) => /Namespace loader-.*-namespace$/.test(n)).length, loaders);
        for (const expected of [
            /ClusterV2 pool-cluster$/,
            /Release rancher-rancher$/,
            /Command rancher-.+-install-k3s$/,
        ])
            assert.ok(
                protectedNames.some((n) => expected.test(n)),
                `${expected} in ${protectedNames.join(", ")}`,
            );
        assert.equal(protectedNames.length, loaders + 3, protectedNames.join("\n"));
    });

    it("protects nothing with protect: false", async () => {
        const config = { ...stackConfig("Pulumi.staging.yaml"), [PROTECT_KEY]: "false" };
        const { recorder } = await runProgram(config);
        assert.deepEqual(
            recorder.resources.filter((r) => r.protect).map((r) => r.name),
            [],
        );
    });

    it("refuses a value that is not a boolean, naming the key", async () => {
        const config = { ...stackConfig("Pulumi.staging.yaml"), [PROTECT_KEY]: "yes" };
        await assert.rejects(runProgram(config), /elastic-workers:protect: expected true or false/);
    });

    it("matches by type and name, so a look-alike is not protected", () => {
        assert.equal(
            protectedAs("kubernetes:core/v1:Namespace", "loader-git-namespace"),
            "a loader's namespace",
        );
        assert.equal(protectedAs("kubernetes:core/v1:Namespace", "observability-namespace"), undefined);
        assert.equal(protectedAs("kubernetes:core/v1:ConfigMap", "loader-git-namespace"), undefined);
    });
});
