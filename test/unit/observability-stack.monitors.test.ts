import { strict as assert } from "assert";
import { alertRules } from "../../components/observability-stack/alerts";
import { kedaServiceMonitors } from "../../components/observability-stack/monitors";

describe("ObservabilityStack's ServiceMonitors", () => {
    it("keep KEDA's own namespace label, which the alerts select loaders by", () => {
        // The alerts read keda_* series by `namespace`: that label must be KEDA's (the ScaledObject's), not
        // the scrape target's, which Prometheus would otherwise put there.
        const keda = alertRules("swh-loader-.*").filter((r) => /keda_/.test(r.expr));
        assert.ok(
            keda.some((r) => /\bnamespace\b/.test(r.expr)),
            "an alert reads KEDA's series by namespace",
        );
        for (const sm of kedaServiceMonitors("monitoring", "keda"))
            for (const ep of sm.spec!.endpoints) assert.equal(ep.honorLabels, true, sm.metadata!.name);
    });
});
