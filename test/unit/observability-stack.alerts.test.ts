import { strict as assert } from "assert";
import { alertRules } from "../../components/observability-stack/alerts";

describe("observability builders", () => {
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
});
