/**
 * The log shipper the ObservabilityStack deploys, run for real: an OpenTelemetry collector built from Go modules
 * with the program's collector config, tailing pod-log files shaped like the kubelet writes them, shipping to an
 * Elasticsearch stand-in (test/e2e/observability/bulk-endpoint.ts, not Elasticsearch) on loopback.
 */
import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { logShippingSpec } from "../../components/observability-stack/logging";
import { collectorConfig } from "../../components/observability-stack/logging";
import { toolsBin } from "../rig/engine/env";
import { waitFor } from "../rig/e2e/env";
import { BulkEndpoint } from "./observability/bulk-endpoint";

/** A pod's log file as the kubelet lays it out: /var/log/pods/<ns>_<pod>_<uid>/<container>/0.log. */
function podLog(root: string, ns: string, pod: string, container: string): string {
    const dir = path.join(
        root,
        "var/log/pods",
        `${ns}_${pod}_${pod.length.toString(16).padStart(8, "0")}-0000-4000-8000-000000000001`,
        container,
    );
    fs.mkdirSync(dir, { recursive: true });
    return path.join(dir, "0.log");
}

/** Appends CRI-format lines (`<time> stdout F <message>`). */
function write(file: string, messages: string[]): void {
    fs.appendFileSync(file, messages.map((m) => `${new Date().toISOString()} stdout F ${m}\n`).join(""));
}

describe("log shipping with the real OpenTelemetry collector", function () {
    const PASSWORD = "es-e2e-password";
    let dir: string;
    let endpoint: BulkEndpoint;
    let collector: ChildProcess;
    let gitLog: string;
    let dnsLog: string;
    const marker = (i: number, where: string) => `{"message":"line ${i} of ${where}","level":"INFO"}`;
    const found = (where: string, i: number) =>
        endpoint.received.filter((r) => JSON.stringify(r.doc).includes(`line ${i} of ${where}`));

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "swh-logs-"));
        endpoint = new BulkEndpoint();
        const port = await endpoint.start();
        const spec = logShippingSpec({ url: `http://127.0.0.1:${port}`, username: "swh-logs" }, (f) => f);
        // The program's config as deployed, but for the collector's own metrics port (8888), not needed here.
        const config = YAML.parse(
            collectorConfig(spec, path.join(dir, "state"), path.join(dir, "var/log/pods/*/*/*.log")),
        );
        config.service.telemetry = { metrics: { level: "none" } };
        fs.writeFileSync(path.join(dir, "config.yaml"), YAML.stringify(config));
        gitLog = podLog(dir, "swh-loader-git", "loader-git-7d9f-abcde", "loader");
        dnsLog = podLog(dir, "kube-system", "coredns-5d78-xyz", "coredns");
        write(
            gitLog,
            [0, 1, 2].map((i) => marker(i, "git")),
        );
        write(
            dnsLog,
            [0, 1].map((i) => marker(i, "dns")),
        );
        collector = spawn(
            path.join(toolsBin(), "otelcol-swh"),
            [`--config=${path.join(dir, "config.yaml")}`],
            {
                env: { ...process.env, ELASTICSEARCH_PASSWORD: PASSWORD },
                stdio: [
                    "ignore",
                    fs.openSync(path.join(dir, "collector.log"), "a"),
                    fs.openSync(path.join(dir, "collector.log"), "a"),
                ],
            },
        );
        collector.on("error", (e) =>
            assert.fail(`otelcol-swh: ${e.message}; run scripts/tools/bootstrap.sh`),
        );
        await waitFor(
            "the first records",
            60,
            () => found("git", 2).length > 0 && found("dns", 1).length > 0,
        );
    });
    after(async () => {
        collector?.kill();
        await endpoint.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("ships SWH namespaces to swh-logs and the rest to system-logs, every record once", () => {
        for (const i of [0, 1, 2])
            assert.deepEqual(
                found("git", i).map((r) => r.index),
                ["swh-logs"],
                `git line ${i}`,
            );
        for (const i of [0, 1])
            assert.deepEqual(
                found("dns", i).map((r) => r.index),
                ["system-logs"],
                `dns line ${i}`,
            );
    });

    it("keeps the Kubernetes metadata of the pod-log path on each record", () => {
        const doc = JSON.stringify(found("git", 0)[0].doc);
        for (const value of ["swh-loader-git", "loader-git-7d9f-abcde", "loader"])
            assert.ok(doc.includes(value), `${value} in ${doc}`);
        assert.match(doc, /k8s\.namespace\.name/);
        assert.match(doc, /k8s\.pod\.name/);
        assert.match(doc, /k8s\.container\.name/);
    });

    it("authenticates with the user and the password from the environment", () => {
        const expected = `Basic ${Buffer.from(`swh-logs:${PASSWORD}`).toString("base64")}`;
        assert.ok(endpoint.received.every((r) => r.authorization === expected));
        assert.doesNotMatch(
            fs.readFileSync(path.join(dir, "config.yaml"), "utf8"),
            new RegExp(PASSWORD),
            "the password is not in the config",
        );
    });

    it("drops nothing while Elasticsearch is down for a while and comes back", async () => {
        await endpoint.stop();
        write(
            gitLog,
            [3, 4, 5, 6, 7].map((i) => marker(i, "git")),
        );
        write(
            dnsLog,
            [2, 3].map((i) => marker(i, "dns")),
        );
        // The collector retries against a closed port for a while; nothing can arrive meanwhile.
        await new Promise((r) => setTimeout(r, 8000));
        assert.equal(found("git", 7).length, 0);
        await endpoint.start();
        await waitFor(
            "the backlog after the outage",
            90,
            () => found("git", 7).length > 0 && found("dns", 3).length > 0,
        );
        for (const i of [3, 4, 5, 6, 7])
            assert.ok(
                found("git", i).length >= 1 && found("git", i).every((r) => r.index === "swh-logs"),
                `git line ${i}`,
            );
        for (const i of [2, 3])
            assert.ok(
                found("dns", i).length >= 1 && found("dns", i).every((r) => r.index === "system-logs"),
                `dns line ${i}`,
            );
    });
});
