import { strict as assert } from "assert";
import { dashboardJson, dashboardPanels } from "../../components/observability-stack/dashboard";

describe("observability builders", () => {
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
});
