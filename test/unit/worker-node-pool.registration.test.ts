import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import { registrationCommand } from "../../components/worker-node-pool/registration";

describe("node preparation and registration", () => {
    it("quotes host values so a label cannot inject shell", () => {
        const cmd = registrationCommand("curl x | sh -s - --token t", {
            name: "w1",
            address: "10.0.0.1",
            roles: ["worker"],
            labels: { "swh/loader": "true'; rm -rf / #" },
            taints: [{ key: "dedicated", value: "loaders", effect: "NoSchedule" }],
        });
        const argv = execFileSync("sh", [
            "-c",
            `for a in ${cmd.replace(/^.*--token t /, "")}; do printf '%s\\n' "$a"; done`,
        ])
            .toString()
            .trim()
            .split("\n");
        assert.deepEqual(argv, [
            "--node-name",
            "w1",
            "--address",
            "10.0.0.1",
            "--worker",
            "--label",
            "swh/loader=true'; rm -rf / #",
            "--taint",
            "dedicated=loaders:NoSchedule",
        ]);
    });
});
