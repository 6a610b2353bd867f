import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import {
    OVERLAY_CHECK_DEFAULTS as O,
    overlayVerdict,
    parseProbe,
    probePod,
    serverPods,
} from "../../components/worker-node-pool/overlay-check";

const PEERS = [
    { node: "a", ip: "10.42.0.5" },
    { node: "b", ip: "10.42.1.7" },
    { node: "c", ip: "10.42.2.9" },
];

describe("the overlay check (pod network between nodes)", () => {
    it("pins a server and a probe to every node, tolerating every taint", () => {
        const servers = serverPods(["a", "b"], O);
        assert.deepEqual(
            servers.map((p) => [p.metadata.name, p.spec.nodeName]),
            [
                ["server-a", "a"],
                ["server-b", "b"],
            ],
        );
        assert.deepEqual(servers[0].spec.tolerations, [{ operator: "Exists" }]);
        assert.deepEqual(servers[0].spec.containers[0].command, [
            "/bin/sh",
            "-c",
            "echo a >/tmp/index.html && exec httpd -f -p 8080 -h /tmp",
        ]);
        assert.equal(probePod("a", PEERS, O).spec.nodeName, "a");
    });

    it("the probe's script fetches every other node's server and says ok or fail per peer (run by sh)", () => {
        const script = probePod("a", PEERS, O).spec.containers[0].command[2];
        assert.doesNotMatch(script, /10\.42\.0\.5/, "not its own node");
        // timeout and wget stubbed: the peer b answers, c does not.
        const r = spawnSync(
            "sh",
            [
                "-c",
                `timeout() { shift; "$@"; }\nwget() { case "$*" in *10.42.1.7*) return 0;; esac; return 1; }\n${script}`,
            ],
            {
                encoding: "utf8",
            },
        );
        assert.equal(r.stdout, "ok b 10.42.1.7\nfail c 10.42.2.9\n");
        assert.deepEqual(
            parseProbe("a", r.stdout, PEERS).map((x) => [x.to, x.ok]),
            [
                ["b", true],
                ["c", false],
            ],
        );
    });

    it("names every failing pair, a peer missing from a probe's log included, and passes only when all answer", () => {
        const results = [
            ...parseProbe("a", "ok b 10.42.1.7\nok c 10.42.2.9\n", PEERS),
            ...parseProbe("b", "ok a 10.42.0.5\nfail c 10.42.2.9\n", PEERS),
            ...parseProbe("c", "ok a 10.42.0.5\n", PEERS),
        ];
        const { table, failures } = overlayVerdict(["a", "b", "c"], results);
        assert.deepEqual(failures, ["b → c (pod 10.42.2.9): no answer", "c → b (pod 10.42.1.7): no answer"]);
        assert.match(table, /^b +ok +- +FAIL *$/m);
        const all = ["a", "b", "c"].flatMap((n) =>
            parseProbe(n, PEERS.map((p) => `ok ${p.node} ${p.ip}`).join("\n"), PEERS),
        );
        assert.deepEqual(overlayVerdict(["a", "b", "c"], all).failures, []);
    });
});
