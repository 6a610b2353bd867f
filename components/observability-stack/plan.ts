import { ArgumentError } from "../common/errors";
import { ObservabilityStackSettings, RANCHER_MONITORING } from "./args";

/** What an ObservabilityStack installs and where, by monitoring mode. */
export interface ObservabilityPlan {
    installPrometheus: boolean;
    /** Where the dashboard ConfigMap goes: where the cluster's Grafana reads dashboards. */
    dashboardNamespace: string;
}

/** Resolves the monitoring mode's rules; refuses what would install or ship twice beside Rancher monitoring. */
export function planObservability(
    s: Pick<ObservabilityStackSettings, "monitoring" | "installPrometheus" | "logs" | "namespace">,
    key: (field: string) => string,
): ObservabilityPlan {
    if (s.monitoring === "self-contained") {
        return { installPrometheus: s.installPrometheus ?? true, dashboardNamespace: s.namespace };
    }
    if (s.installPrometheus) {
        throw new ArgumentError(
            key("installPrometheus"),
            'false or unset with monitoring "rancher": Rancher monitoring is the cluster\'s Prometheus',
            s.installPrometheus,
        );
    }
    if (s.logs) {
        throw new ArgumentError(
            key("logs"),
            'unset with monitoring "rancher": the cluster\'s own collector ships pod logs, shipping them again would duplicate them',
        );
    }
    return { installPrometheus: false, dashboardNamespace: RANCHER_MONITORING.dashboards };
}
