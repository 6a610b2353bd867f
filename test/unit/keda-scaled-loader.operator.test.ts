import { strict as assert } from "assert";
import { KedaOperator } from "../../components";
import { priorityClasses } from "../../components/keda-scaled-loader/operator";
import { runUnderMocks } from "../harness/pulumi";
import { validateObject } from "../harness/schemas";

describe("components under Pulumi mocks", () => {
    describe("KedaOperator", () => {
        it("installs the pinned chart and the priority classes, or only the classes when KEDA is already there", async () => {
            const { recorder: r } = await runUnderMocks(() => {
                new KedaOperator("keda");
                new KedaOperator("existing", { installChart: false });
            });
            const release = r.named("keda-keda").inputs;
            assert.equal(release.chart, "keda");
            assert.equal(release.version, "2.21.0");
            assert.deepEqual(r.childrenOf("existing").sort(), [
                "existing-high-workload",
                "existing-low-workload",
                "existing-normal-workload",
            ]);
        });
    });
});

describe("loader builders", () => {
    it("priority classes: SWH's values, and the low class never preempts", () => {
        const pcs = priorityClasses();
        for (const pc of pcs)
            assert.doesNotThrow(() =>
                validateObject({ apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", ...pc }),
            );
        assert.deepEqual(
            pcs.map((p) => [(p.metadata as { name: string }).name, p.value, p.preemptionPolicy]),
            [
                ["low-workload", -5500, "Never"],
                ["normal-workload", 6500, "PreemptLowerPriority"],
                ["high-workload", 20500, "PreemptLowerPriority"],
            ],
        );
    });
});
