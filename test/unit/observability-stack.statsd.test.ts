import { strict as assert } from "assert";
import * as YAML from "yaml";
import { DURATION_BUCKETS, statsdMapping } from "../../components/observability-stack/statsd";

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
});
