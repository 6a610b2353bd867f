import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { logShippingSpec } from "../../components/observability-stack/logging";
import { alertRules } from "../../components/observability-stack/alerts";
import { dashboardJson, dashboardPanels } from "../../components/observability-stack/dashboard";
import { collectorConfig } from "../../components/observability-stack/logging";
import { DURATION_BUCKETS, statsdMapping } from "../../components/observability-stack/statsd";
import { contentHash, imagePlan, LOADER_CONTEXT } from "../../components/loader-image/build";
import { ROOT } from "../harness/program";

describe("observability builders", () => {
    it("statsd mapping: timers are histograms from 5 ms to 2 h, *_percent over 0-1", () => {
        const m = YAML.parse(statsdMapping());
        assert.equal(m.defaults.observer_type, "histogram");
        assert.deepEqual(m.defaults.histogram_options.buckets, DURATION_BUCKETS);
        assert.equal(DURATION_BUCKETS[0], 0.005);
        assert.equal(DURATION_BUCKETS[DURATION_BUCKETS.length - 1], 7200);
        assert.deepEqual(
            [...DURATION_BUCKETS].sort((a, b) => a - b),
            DURATION_BUCKETS,
            "buckets ascend",
        );
        assert.equal(m.mappings[0].match, "(.*_percent)");
        assert.equal(m.mappings[0].match_type, "regex");
    });

    it("alerts: the five operator questions, each scoped to loader namespaces where it is about loaders", () => {
        const rules = alertRules("swh-loader-.*");
        assert.deepEqual(
            rules.map((r) => r.alert),
            [
                "KedaScaledObjectErrors",
                "LoaderPodsUnschedulable",
                "LoaderScalingAtMax",
                "NodeMemoryPressure",
                "LoaderQueueWithoutWorker",
            ],
        );
        for (const r of rules) {
            assert.match(r.for, /^\d+m$/);
            assert.ok(r.annotations.summary && r.annotations.description);
            if (r.alert.startsWith("Loader")) assert.match(r.expr, /namespace=~"swh-loader-\.\*"/);
        }
    });

    it("dashboard: one panel per question, the running-workers panel counts Running pods per loader", () => {
        const dash = dashboardJson("swh-loader-.*") as {
            panels: {
                id: number;
                title: string;
                gridPos: { x: number; y: number; w: number; h: number };
                targets: { expr: string }[];
            }[];
        };
        assert.equal(dash.panels.length, dashboardPanels("x").length);
        assert.equal(new Set(dash.panels.map((p) => p.id)).size, dash.panels.length);
        const cells = new Set(dash.panels.map((p) => `${p.gridPos.x},${p.gridPos.y}`));
        assert.equal(cells.size, dash.panels.length, "no two panels overlap");
        const running = dash.panels.find((p) => p.title === "Running workers per loader")!;
        assert.equal(
            running.targets[0].expr,
            'sum by (namespace) (kube_pod_status_phase{namespace=~"swh-loader-.*",phase="Running"})',
        );
        for (const t of [
            "Queue length",
            "Desired vs running replicas",
            "Pending loader pods",
            "Task rate",
            "Task duration (p50, p95)",
            "Node CPU use",
            "Node memory use",
        ]) {
            assert.ok(
                dash.panels.some((p) => p.title === t),
                t,
            );
        }
    });

    it("log shipper: SWH namespaces and the rest in two pipelines that split every record exactly once", () => {
        const spec = logShippingSpec({ url: "http://es:9200", username: "swh-logs" }, (f) => f);
        const cfg = YAML.parse(collectorConfig(spec, "/var/lib/otelcol"));
        const swh = cfg.processors["filter/swh"].logs.log_record[0];
        const system = cfg.processors["filter/system"].logs.log_record[0];
        assert.equal(swh, `not ${system}`, "the filters are complements");
        assert.equal(cfg.exporters["elasticsearch/swh"].logs_index, "swh-logs");
        assert.equal(cfg.exporters["elasticsearch/system"].logs_index, "system-logs");
        for (const e of Object.values(cfg.exporters) as {
            sending_queue: { storage: string };
            retry: { enabled: boolean };
        }[]) {
            assert.equal(
                e.sending_queue.storage,
                "file_storage/queue",
                "a persistent queue survives an outage",
            );
            assert.equal(e.retry.enabled, true);
        }
        assert.equal(
            cfg.extensions["basicauth/elasticsearch"].client_auth.password,
            "${env:ELASTICSEARCH_PASSWORD}",
        );
        assert.deepEqual(cfg.receivers.filelog.operators, [{ type: "container", id: "container-parser" }]);
    });

    it("log shipping settings are checked", () => {
        assert.throws(
            () => logShippingSpec({ url: "http://u:p@es:9200" }, (f) => `obs.${f}`),
            /obs\.logs\.url: expected an http\(s\) URL without credentials/,
        );
        assert.throws(
            () => logShippingSpec({ url: "es:9200" }, (f) => `obs.${f}`),
            /obs\.logs\.url: expected an http\(s\) URL/,
        );
        assert.throws(
            () => logShippingSpec({ url: "http://es:9200", swhIndex: "SWH" }, (f) => `obs.${f}`),
            /obs\.logs\.swhIndex: expected a lower-case Elasticsearch index name/,
        );
    });
});

describe("loader image", () => {
    const key = (f: string) => `img.${f}`;
    const spec = {
        loader: "git",
        packages: ["swh.loader.git==3.4.0"],
        baseImage: "python:3.11-bookworm",
        registry: "docker.io",
        repository: "softwareheritage/loader_git",
        contextDir: LOADER_CONTEXT,
    };

    it("the content hash is stable and follows every file and build arg", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctx-"));
        fs.cpSync(LOADER_CONTEXT, dir, { recursive: true });
        const args = { SWH_PACKAGES: "swh.loader.git==3.4.0" };
        const h = contentHash(dir, args);
        assert.equal(contentHash(dir, args), h);
        assert.equal(contentHash(LOADER_CONTEXT, args), h, "same content, same hash, wherever it lives");
        assert.notEqual(contentHash(dir, { SWH_PACKAGES: "swh.loader.git==3.4.1" }), h);
        fs.appendFileSync(path.join(dir, "entrypoint.sh"), "\n# changed\n");
        assert.notEqual(contentHash(dir, args), h);
        fs.rmSync(dir, { recursive: true });
    });

    it("tags by content, and by release date when given", () => {
        assert.deepEqual(
            imagePlan(spec, key).tags.map((t) => t.length),
            [12],
        );
        const dated = imagePlan({ ...spec, releaseDate: "20261125" }, key);
        assert.match(dated.tags[1], /^20261125\.[0-9a-f]{8}$/);
        assert.equal(dated.repository, "docker.io/softwareheritage/loader_git");
    });

    for (const [what, patch, message] of [
        [
            "an unpinned package",
            { packages: ["swh.loader.git>=3"] },
            /img\.packages\[0\]: expected a pinned requirement \(name==version\)/,
        ],
        ["no packages", { packages: [] }, /img\.packages: expected a non-empty list/],
        ["a registry URL", { registry: "https://docker.io" }, /img\.registry: expected a registry host/],
        ["a bad date", { releaseDate: "25/11/2026" }, /img\.releaseDate: expected a date tag/],
        [
            "a context without Dockerfile",
            { contextDir: os.tmpdir() },
            /img\.context: expected a directory holding a Dockerfile/,
        ],
    ] as [string, object, RegExp][]) {
        it(`refuses ${what}`, () => assert.throws(() => imagePlan({ ...spec, ...patch }, key), message));
    }

    it("the Dockerfile runs as uid 1000 from a venv, with the entrypoint, and no secret build arg", () => {
        const df = fs.readFileSync(path.join(ROOT, "images/loader/Dockerfile"), "utf8");
        assert.match(df, /useradd --uid 1000/);
        assert.match(df, /^USER swh$/m);
        assert.match(df, /VIRTUAL_ENV=\/opt\/swh\/venv/);
        assert.match(df, /^ENTRYPOINT \["\/opt\/swh\/entrypoint\.sh"\]$/m);
        assert.doesNotMatch(df, /ARG .*(PASSWORD|TOKEN|SECRET)/i);
    });
});
