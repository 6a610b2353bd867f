/** The box's one time scale: the cluster's flags and a loader's settings divided by one factor. */
import { strict as assert } from "assert";
import { subKey } from "../../components/common/schema";
import { loaderSettingsSchema } from "../../components/keda-scaled-loader/args";
import { planLoader } from "../../components/keda-scaled-loader/plan";
import {
    BENCH_TIME_SCALE,
    LOADER_SECONDS_KEYS,
    boxSeconds,
    checkTimeScale,
    compressLoader,
    hpaFlags,
    metricsResolution,
    rabbitSampleSeconds,
    rabbitStatisticsMs,
} from "../rig/box/time-scale";

const where = subKey("loaders[0]");
const plan = (entry: Record<string, unknown>) => planLoader(entry as Parameters<typeof planLoader>[0], where);

describe("box time scale", () => {
    it("divides a period into whole box seconds, never down to 0 unless it was 0", () => {
        assert.deepEqual(
            [0, 300, 15, 7, 37, 1].map((s) => boxSeconds(s, 15)),
            [0, 20, 1, 1, 2, 1],
        );
        assert.equal(boxSeconds(300, 1), 300);
    });

    it("refuses a scale under 1, naming where it came from", () => {
        assert.equal(checkTimeScale(15, "--time-scale"), 15);
        assert.throws(
            () => checkTimeScale(0.5, "--time-scale"),
            /^Error: --time-scale: expected a number >= 1/,
        );
        assert.throws(() => checkTimeScale(NaN, "--time-scale"), /e\.g\. 15/);
    });

    it("gives the controller manager Kubernetes' HPA defaults at scale 1, and a 1 s sync at the bench's", () => {
        assert.deepEqual(hpaFlags(1), [
            "--horizontal-pod-autoscaler-sync-period=15000ms",
            "--horizontal-pod-autoscaler-downscale-stabilization=300000ms",
            "--horizontal-pod-autoscaler-cpu-initialization-period=300000ms",
            "--horizontal-pod-autoscaler-initial-readiness-delay=30000ms",
            "--horizontal-pod-autoscaler-tolerance=0.1",
        ]);
        assert.deepEqual(hpaFlags(BENCH_TIME_SCALE).slice(0, 2), [
            "--horizontal-pod-autoscaler-sync-period=1000ms",
            "--horizontal-pod-autoscaler-downscale-stabilization=20000ms",
        ]);
    });

    it("ages RabbitMQ's queue lengths by its 5 s at scale 1, a fifteenth of it at 15", () => {
        assert.equal(rabbitStatisticsMs(1), 5000);
        assert.equal(rabbitStatisticsMs(15), 333);
    });

    it("samples the management plugin's queue lengths every 5 s at scale 1, never under its 1 s at 15", () => {
        assert.equal(rabbitSampleSeconds(1), 5);
        assert.equal(rabbitSampleSeconds(2.5), 2);
        assert.equal(rabbitSampleSeconds(15), 1);
    });

    it("refuses a CPU-based HPA's metrics under metrics-server's 10 s floor, with the scale it would need", () => {
        assert.equal(metricsResolution(1), "15000ms");
        assert.equal(metricsResolution(1.5), "10000ms");
        assert.throws(
            () => metricsResolution(15),
            /time scale 15: .* 1\.0 s, under its 10 s floor.*at most 1\.5\)/,
        );
    });

    it("puts a loader's real-time settings, the component's defaults included, in box seconds", () => {
        const box = compressLoader({ loader: "git", queues: ["g"], image: "r/i@sha256:x" }, 15, where);
        const p = plan(Object.fromEntries(Object.entries(box).filter(([k]) => k !== "image")));
        assert.equal(box.image, "r/i@sha256:x", "the stack-only keys stay");
        // 30 s, 5 min, 25 min, 30 min.
        assert.deepEqual(
            [p.pollingInterval, p.cooldownPeriod, p.taskTimeoutSeconds, p.consumerTimeoutSeconds],
            [2, 20, 100, 120],
        );
        // Up to 4 pods per 15 s, down 2 % per 15 s after a minute: per second, after 4 s.
        assert.deepEqual(p.hpaBehavior, {
            scaleUp: {
                stabilizationWindowSeconds: 0,
                policies: [{ type: "Pods", value: 4, periodSeconds: 1 }],
            },
            scaleDown: {
                stabilizationWindowSeconds: 4,
                policies: [{ type: "Percent", value: 2, periodSeconds: 1 }],
            },
        });
        // The grace period left to the component: the scaled timeout plus its own (real) shutdown margin.
        assert.equal("terminationGracePeriodSeconds" in box, false);
        const margin = plan({ loader: "git", queues: ["g"] });
        assert.equal(
            p.terminationGracePeriodSeconds - p.taskTimeoutSeconds,
            margin.terminationGracePeriodSeconds - margin.taskTimeoutSeconds,
        );
        // Set, it is scaled as the rest.
        const set = compressLoader(
            { loader: "git", queues: ["g"], terminationGracePeriodSeconds: 3630 },
            15,
            where,
        );
        assert.equal(set.terminationGracePeriodSeconds, 242);
    });

    it("names a bad entry's key as planLoader does", () => {
        assert.throws(
            () => compressLoader({ loader: "git", queues: ["g"], pollingInterval: -1 }, 15, where),
            /loaders\[0\]\.pollingInterval/,
        );
    });

    it("knows every loader setting in seconds (a new one must be scaled too)", () => {
        const timed = Object.keys(loaderSettingsSchema.shape).filter((k) =>
            /(Seconds|Interval|Period)$/.test(k),
        );
        assert.deepEqual(timed.sort(), [...LOADER_SECONDS_KEYS].sort());
    });
});
