/**
 * One time scale for the box: every control period divided by one factor, so that minutes in the box stand for
 * a stated real-time scenario of hours. The HPA's sync and its default windows, RabbitMQ's statistics and
 * metrics-server's resolution are the cluster's (the box's flags, below); KEDA's polling and cooldown, the HPA
 * behaviour, task timeouts and task durations are the stack's and the profile's (compressLoader, the benchmark's
 * profiles). Scale 1 is real time: the e2e tier's box. Pure: no I/O.
 *
 * What cannot be scaled is measured and stated instead: a worker's start (a real Celery process) and a stopping
 * worker's shutdown margin (SHUTDOWN_MARGIN_SECONDS, left in real seconds for the same reason).
 */
import { HpaBehavior, HpaRules } from "../../../components/keda-scaled-loader/args";
import { planLoader } from "../../../components/keda-scaled-loader/plan";
import { loaderSettings } from "../../../config/load";

/**
 * Real seconds one box second stands for, in the benchmark: the HPA's 15 s sync becomes 1 s, and so do the
 * 15 s policy periods of SWH's HPA behaviour, the finest a policy takes (periodSeconds is whole seconds).
 */
export const BENCH_TIME_SCALE = 15;

/** The cluster's control periods in real time: Kubernetes' and RabbitMQ's defaults, as clusters run them. */
export const CLUSTER_PERIODS = {
    /** kube-controller-manager --horizontal-pod-autoscaler-sync-period. */
    hpaSyncSeconds: 15,
    /** --horizontal-pod-autoscaler-downscale-stabilization: the window of an HPA that sets no behaviour. */
    hpaDownscaleStabilizationSeconds: 300,
    /** --horizontal-pod-autoscaler-cpu-initialization-period. */
    hpaCpuInitializationSeconds: 300,
    /** --horizontal-pod-autoscaler-initial-readiness-delay. */
    hpaInitialReadinessDelaySeconds: 30,
    /** RabbitMQ's collect_statistics_interval: how often queues report their lengths. */
    rabbitStatisticsSeconds: 5,
    /**
     * The management plugin's finest sample (its sample_retention_policies, {605, 5}): the queue lengths KEDA
     * reads from the management API change only this often, whatever the statistics interval.
     */
    rabbitSampleSeconds: 5,
    /** metrics-server --metric-resolution (its chart's value), read by a CPU-based HPA. */
    metricsResolutionSeconds: 15,
} as const;

/** metrics-server refuses a resolution under 10 s (its options' validation, v0.9.0). */
export const METRICS_SERVER_MIN_RESOLUTION_SECONDS = 10;

/** Checks a time scale: a number >= 1 (1 is real time), or an error naming `key`. */
export function checkTimeScale(scale: number, key: string): number {
    if (!Number.isFinite(scale) || scale < 1)
        throw new Error(
            `${key}: expected a number >= 1 (real seconds per box second, 1 for real time), e.g. 15`,
        );
    return scale;
}

/** A real-time period in box seconds, whole (as the APIs take them): 0 stays 0, anything else is at least 1. */
export function boxSeconds(realSeconds: number, scale: number): number {
    return realSeconds === 0 ? 0 : Math.max(1, Math.round(realSeconds / scale));
}

/** A duration flag's value in box time, in milliseconds so a fraction of a second is kept ("1000ms"). */
function durationFlag(realSeconds: number, scale: number): string {
    return `${Math.round((realSeconds * 1000) / scale)}ms`;
}

/** The box's kube-controller-manager HPA flags at `scale`. */
export function hpaFlags(scale: number): string[] {
    const p = CLUSTER_PERIODS;
    return [
        `--horizontal-pod-autoscaler-sync-period=${durationFlag(p.hpaSyncSeconds, scale)}`,
        `--horizontal-pod-autoscaler-downscale-stabilization=${durationFlag(p.hpaDownscaleStabilizationSeconds, scale)}`,
        `--horizontal-pod-autoscaler-cpu-initialization-period=${durationFlag(p.hpaCpuInitializationSeconds, scale)}`,
        `--horizontal-pod-autoscaler-initial-readiness-delay=${durationFlag(p.hpaInitialReadinessDelaySeconds, scale)}`,
        "--horizontal-pod-autoscaler-tolerance=0.1",
    ];
}

/** RabbitMQ's collect_statistics_interval at `scale`, in milliseconds (rabbitmq.conf's unit). */
export function rabbitStatisticsMs(scale: number): number {
    return Math.round((CLUSTER_PERIODS.rabbitStatisticsSeconds * 1000) / scale);
}

/** The management plugin's finest whole second: its sample_retention_policies take seconds, 1 at the least. */
export const RABBIT_MIN_SAMPLE_SECONDS = 1;

/**
 * The management plugin's sample interval at `scale`, in its whole seconds: 5 s in real time, never under 1 s,
 * so at scale 15 the box's queue lengths are up to 1 box second old (15 s real, against 5 s in a real cluster).
 */
export function rabbitSampleSeconds(scale: number): number {
    return Math.max(RABBIT_MIN_SAMPLE_SECONDS, Math.round(CLUSTER_PERIODS.rabbitSampleSeconds / scale));
}

/**
 * Why metrics-server cannot run at `scale` (its resolution would go under its floor: a CPU-based HPA would then
 * read older usage than it would in real time, which is not the baseline's fair self); undefined when it can.
 */
export function metricsResolutionRefusal(scale: number): string | undefined {
    const seconds = CLUSTER_PERIODS.metricsResolutionSeconds / scale;
    if (seconds >= METRICS_SERVER_MIN_RESOLUTION_SECONDS) return undefined;
    return (
        `time scale ${scale}: metrics-server would resolve CPU every ${seconds.toFixed(1)} s, under its ` +
        `${METRICS_SERVER_MIN_RESOLUTION_SECONDS} s floor, so a CPU-based HPA cannot run at this scale ` +
        `(at most ${CLUSTER_PERIODS.metricsResolutionSeconds / METRICS_SERVER_MIN_RESOLUTION_SECONDS}); ` +
        "run it at time scale 1"
    );
}

/** metrics-server's --metric-resolution at `scale`, or metricsResolutionRefusal's error. */
export function metricsResolution(scale: number): string {
    const refusal = metricsResolutionRefusal(scale);
    if (refusal) throw new Error(refusal);
    return durationFlag(CLUSTER_PERIODS.metricsResolutionSeconds, scale);
}

/** A loader's settings that are seconds, beside hpaBehavior (whose windows and periods are seconds too). */
export const LOADER_SECONDS_KEYS = [
    "pollingInterval",
    "cooldownPeriod",
    "taskTimeoutSeconds",
    "terminationGracePeriodSeconds",
    "consumerTimeoutSeconds",
] as const;

function compressRules(rules: HpaRules | undefined, scale: number): HpaRules | undefined {
    if (!rules) return undefined;
    return {
        ...rules,
        ...(rules.stabilizationWindowSeconds === undefined
            ? {}
            : { stabilizationWindowSeconds: boxSeconds(rules.stabilizationWindowSeconds, scale) }),
        ...(rules.policies
            ? {
                  policies: rules.policies.map((p) => ({
                      ...p,
                      periodSeconds: boxSeconds(p.periodSeconds, scale),
                  })),
              }
            : {}),
    };
}

/** An HPA behaviour in box time. */
export function compressBehavior(b: HpaBehavior, scale: number): HpaBehavior {
    return { scaleUp: compressRules(b.scaleUp, scale), scaleDown: compressRules(b.scaleDown, scale) };
}

/**
 * A stack file's loader entry, its settings in real time (the component's defaults for those it leaves out), in
 * box time. The grace period, when the entry leaves it to the component, stays derived from the scaled task
 * timeout plus the unscaled shutdown margin. `where` names the entry in planLoader's errors.
 */
export function compressLoader(
    entry: Record<string, unknown>,
    scale: number,
    where: (field: string) => string,
): Record<string, unknown> {
    const plan = planLoader(loaderSettings(entry) as Parameters<typeof planLoader>[0], where);
    const seconds = Object.fromEntries(
        LOADER_SECONDS_KEYS.filter((k) => k !== "terminationGracePeriodSeconds" || k in entry).map((k) => [
            k,
            boxSeconds(plan[k], scale),
        ]),
    );
    return { ...entry, ...seconds, hpaBehavior: compressBehavior(plan.hpaBehavior, scale) };
}
