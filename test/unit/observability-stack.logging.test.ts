import { strict as assert } from "assert";
import * as YAML from "yaml";
import { collectorConfig, logShippingSpec } from "../../components/observability-stack/logging";

describe("observability builders", () => {
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
