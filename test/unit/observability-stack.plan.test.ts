import { strict as assert } from "assert";
import { observabilityStackSchema } from "../../components/observability-stack/args";
import { planObservability } from "../../components/observability-stack/plan";

const key = (f: string) => `obs.${f}`;
const plan = (args: object) => planObservability(observabilityStackSchema.parse(args), key);

describe("observability plan: the monitoring modes", () => {
    it("self-contained installs its Prometheus unless told not to; the dashboard beside it", () => {
        assert.deepEqual(plan({}), { installPrometheus: true, dashboardNamespace: "swh-monitoring" });
        assert.equal(plan({ installPrometheus: false }).installPrometheus, false);
    });

    it("rancher uses the cluster's Prometheus and puts the dashboard in cattle-dashboards", () => {
        assert.deepEqual(plan({ monitoring: "rancher" }), {
            installPrometheus: false,
            dashboardNamespace: "cattle-dashboards",
        });
        assert.equal(plan({ monitoring: "rancher", installPrometheus: false }).installPrometheus, false);
    });

    it("rancher refuses a second Prometheus and a second log shipper, naming the key", () => {
        assert.throws(
            () => plan({ monitoring: "rancher", installPrometheus: true }),
            /obs\.installPrometheus: expected false or unset with monitoring "rancher"/,
        );
        assert.throws(
            () => plan({ monitoring: "rancher", logs: { url: "http://es.test:9200" } }),
            /obs\.logs: expected unset with monitoring "rancher": the cluster's own collector ships pod logs/,
        );
    });
});
