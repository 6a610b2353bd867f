/**
 * The ObservabilityStack's pieces checked by the software that consumes them: the real statsd_exporter with
 * the program's mapping, promtool on the program's alert rules and dashboard queries, and a real Prometheus
 * scraping the real exporter for the statsd panels.
 */
import { strict as assert } from "assert";
import { ChildProcess, spawnSync } from "child_process";
import * as dgram from "dgram";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { alertRules, prometheusRule } from "../../components/observability-stack/alerts";
import { dashboardJson, dashboardPanels } from "../../components/observability-stack/dashboard";
import { startStatsdExporter } from "../rig/e2e/statsd-exporter";
import { Prometheus, lastMinute, scraped, startPrometheus } from "../rig/e2e/prometheus";
import { waitFor } from "../rig/e2e/env";
import { alertTests, dashboardQueryTests } from "./observability/promtool-tests";

const NS = "swh-loader-.*";

function freePort(): Promise<number> {
    return new Promise((resolve) => {
        const s = net.createServer().listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
    });
}

async function httpGet(url: string): Promise<string> {
    const r = await fetch(url);
    return r.text();
}

describe("observability, checked by the software that consumes it", function () {
    let dir: string;
    const children: ChildProcess[] = [];
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "swh-obs-"));
    });
    after(() => {
        for (const c of children) c.kill();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    describe("statsd_exporter with the program's mapping", () => {
        let metricsUrl: string;
        let statsdPort: number;
        before(async () => {
            statsdPort = await freePort();
            const exporter = await startStatsdExporter(dir, statsdPort, await freePort());
            children.push(exporter.process);
            metricsUrl = exporter.metricsUrl;
            // What SWH's workers send (swh.core.statsd, DogStatsD tags): counters, a timer in ms, a *_percent histogram.
            const tags = "|#task:swh.loader.git.tasks.UpdateGitRepository,deployment:loader-git";
            const lines = [
                `swh_task_called_count:1|c${tags}`,
                `swh_task_called_count:1|c${tags}`,
                `swh_task_failure_count:1|c${tags}`,
                `swh_task_duration_seconds:1500|ms${tags}`,
                `swh_task_duration_seconds:95000|ms${tags}`,
                `swh_loader_disk_usage_percent:0.42|h|#deployment:loader-git`,
            ];
            const sock = dgram.createSocket("udp4");
            for (const l of lines)
                await new Promise<void>((r) => sock.send(l, statsdPort, "127.0.0.1", () => r()));
            sock.close();
            await waitFor("the exporter to count the lines", 20, () => {
                const out = spawnSync("curl", ["-sf", metricsUrl]).stdout.toString();
                return (
                    out.includes("swh_loader_disk_usage_percent_count") &&
                    out.includes("swh_task_duration_seconds_count")
                );
            });
        });

        it("exposes the SWH task counters with their task and deployment labels", async () => {
            const m = await httpGet(metricsUrl);
            assert.match(
                m,
                /^swh_task_called_count\{deployment="loader-git",task="swh\.loader\.git\.tasks\.UpdateGitRepository"\} 2$/m,
            );
            assert.match(
                m,
                /^swh_task_failure_count\{deployment="loader-git",task="swh\.loader\.git\.tasks\.UpdateGitRepository"\} 1$/m,
            );
        });

        it("turns the ms timer into a seconds histogram with buckets from 5 ms to 2 h", async () => {
            const m = await httpGet(metricsUrl);
            const buckets = [
                ...m.matchAll(
                    /^swh_task_duration_seconds_bucket\{deployment="loader-git",task="[^"]+",le="([^"]+)"\} (\d+)$/gm,
                ),
            ];
            assert.deepEqual(buckets.map((b) => b[1]).slice(0, 2), ["0.005", "0.01"]);
            assert.ok(buckets.some((b) => b[1] === "7200"));
            const count = (le: string) => Number(buckets.find((b) => b[1] === le)![2]);
            assert.equal(count("1"), 0);
            assert.equal(count("2"), 1, "1.5 s lands in the 2 s bucket");
            assert.equal(count("120"), 2, "95 s lands in the 120 s bucket");
            assert.match(m, /^swh_task_duration_seconds_sum\{[^}]+\} 96\.5$/m);
        });

        it("maps *_percent metrics to a 0-1 histogram", async () => {
            const m = await httpGet(metricsUrl);
            assert.match(m, /^swh_loader_disk_usage_percent_bucket\{deployment="loader-git",le="0\.5"\} 1$/m);
            assert.match(
                m,
                /^swh_loader_disk_usage_percent_bucket\{deployment="loader-git",le="0\.25"\} 0$/m,
            );
            assert.doesNotMatch(m, /swh_loader_disk_usage_percent_bucket\{[^}]*le="7200"/);
        });

        describe("scraped by a real Prometheus", () => {
            let prom: Prometheus;
            before(async function () {
                prom = await startPrometheus(dir, await freePort(), [new URL(metricsUrl).host]);
                children.push(prom.process);
                await scraped(prom, "swh_task_called_count", 5);
            });

            it("answers the dashboard's task panels with the deployment label", async () => {
                for (const p of dashboardPanels(NS).filter((x) => x.title.startsWith("Task"))) {
                    for (const t of p.targets) {
                        const result = await prom.query(lastMinute(t.expr));
                        assert.ok(result.length > 0, `${p.title}: ${t.expr} returned no data`);
                        for (const s of result) assert.equal(s.metric.deployment, "loader-git", t.expr);
                    }
                }
            });
        });
    });

    describe("alert rules under promtool", () => {
        before(() => {
            const rule = prometheusRule("swh-monitoring", NS);
            fs.writeFileSync(path.join(dir, "rules.yml"), YAML.stringify({ groups: rule.spec!.groups }));
        });

        it("promtool check rules accepts the rules the program deploys", () => {
            const r = spawnSync("promtool", ["check", "rules", path.join(dir, "rules.yml")], {
                encoding: "utf8",
            });
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.match(r.stdout, /SUCCESS: 5 rules found/);
        });

        it("each alert fires on the series that should fire it and stays silent on the others", () => {
            const rules = alertRules(NS);
            fs.writeFileSync(path.join(dir, "alerts.test.yml"), YAML.stringify(alertTests(rules)));
            const r = spawnSync("promtool", ["test", "rules", path.join(dir, "alerts.test.yml")], {
                encoding: "utf8",
            });
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.match(r.stdout, /SUCCESS/);
        });

        it("a wrong expectation fails (the check can fail)", () => {
            const rules = alertRules(NS);
            const tests = alertTests(rules);
            tests.tests[0].alert_rule_test[3].exp_alerts[0].exp_labels.node = "worker2";
            fs.writeFileSync(path.join(dir, "wrong.test.yml"), YAML.stringify(tests));
            const r = spawnSync("promtool", ["test", "rules", path.join(dir, "wrong.test.yml")], {
                encoding: "utf8",
            });
            assert.notEqual(r.status, 0);
            assert.match(r.stdout + r.stderr, /NodeMemoryPressure/);
        });
    });

    describe("Grafana dashboard", () => {
        it("is a valid dashboard document with unique, non-overlapping panels, each with queries", () => {
            const d = dashboardJson(NS) as {
                uid: string;
                schemaVersion: number;
                panels: { id: number; type: string; targets: { refId: string; expr: string }[] }[];
            };
            assert.equal(d.uid, "swh-elastic-workers");
            assert.ok(d.schemaVersion >= 36);
            for (const p of d.panels) {
                assert.equal(p.type, "timeseries");
                assert.ok(p.targets.length > 0);
                assert.deepEqual(
                    p.targets.map((t) => t.refId),
                    p.targets.map((_, i) => String.fromCharCode(65 + i)),
                );
            }
        });

        it("every panel query gives the expected answer on kube-state-metrics, KEDA, node and statsd series (promtool)", () => {
            const targets = dashboardPanels(NS).flatMap((p) =>
                p.targets.map((t) => ({ panel: p.title, expr: t.expr })),
            );
            const tests = dashboardQueryTests(targets);
            assert.equal(tests.tests[0].promql_expr_test.length, targets.length, "every query is tested");
            fs.writeFileSync(path.join(dir, "dashboard.test.yml"), YAML.stringify(tests));
            const r = spawnSync("promtool", ["test", "rules", path.join(dir, "dashboard.test.yml")], {
                encoding: "utf8",
            });
            assert.equal(r.status, 0, r.stdout + r.stderr);
        });
    });
});
