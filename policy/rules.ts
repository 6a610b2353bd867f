/**
 * SWH's guardrails for loader workloads, as pure checks over Kubernetes objects (unit-tested without the
 * engine); index.ts wires them into a Pulumi policy pack.
 */

import { DIGEST_PINNED } from "../components/common/schema";
import { TASK_TIMEOUT_ANNOTATION } from "../components/keda-scaled-loader/manifests";

export { TASK_TIMEOUT_ANNOTATION };

/** The objects these rules read, loosely typed: they come from any stack. */
export interface Workload {
    metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    spec?: { template?: { spec?: PodSpec } };
}
interface PodSpec {
    terminationGracePeriodSeconds?: number;
    containers?: {
        name: string;
        image?: string;
        env?: { name: string; value?: string }[];
        resources?: { requests?: Record<string, string> };
    }[];
}

/** Loader workloads carry the component label KedaScaledLoader sets. */
export function isLoader(w: Workload): boolean {
    return w.metadata?.labels?.["app.kubernetes.io/component"] === "loader";
}

const CREDENTIAL_URL = /[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:[^\s/@]+@/i;
const SECRET_KEY = /(password|passwd|secret|token|api[_-]?key|private[_-]?key)/i;

/** A value that looks like a credential: a URL with user:password, or a PEM private key. */
export function looksLikeCredential(key: string, value: string): boolean {
    return (
        CREDENTIAL_URL.test(value) ||
        /PRIVATE KEY-----/.test(value) ||
        (SECRET_KEY.test(key) && value.trim() !== "")
    );
}

export function missingMemoryRequests(w: Workload): string[] {
    return (w.spec?.template?.spec?.containers ?? [])
        .filter((c) => !c.resources?.requests?.memory)
        .map(
            (c) =>
                `container ${c.name} of loader ${w.metadata?.name} has no memory request: the scheduler would overcommit the node`,
        );
}

export function graceShorterThanTask(w: Workload): string[] {
    // No spec: it is unknown in this preview (the image is built in the same update; the API server refuses a
    // workload without one). The engine runs the policies again at `up`, on the known spec.
    if (w.spec === undefined) return [];
    const timeout = Number(w.metadata?.annotations?.[TASK_TIMEOUT_ANNOTATION]);
    const grace = w.spec?.template?.spec?.terminationGracePeriodSeconds ?? 30;
    if (!Number.isFinite(timeout)) {
        return [
            `loader ${w.metadata?.name} has no ${TASK_TIMEOUT_ANNOTATION} annotation: its grace period cannot be checked`,
        ];
    }
    return grace < timeout
        ? [
              `loader ${w.metadata?.name}: terminationGracePeriodSeconds ${grace} < task timeout ${timeout}s; a scale-down would kill running tasks`,
          ]
        : [];
}

export function unpinnedImages(w: Workload): string[] {
    return (w.spec?.template?.spec?.containers ?? [])
        .filter((c) => !DIGEST_PINNED.test(c.image ?? ""))
        .map(
            (c) =>
                `container ${c.name} of loader ${w.metadata?.name} runs ${c.image}, not a digest-pinned image`,
        );
}

export function plainEnvSecrets(w: Workload): string[] {
    return (w.spec?.template?.spec?.containers ?? []).flatMap((c) =>
        (c.env ?? [])
            .filter((e) => e.value !== undefined && looksLikeCredential(e.name, e.value))
            .map(
                (e) => `env ${e.name} of container ${c.name} holds a credential in plain text; use a Secret`,
            ),
    );
}

export function plainConfigMapSecrets(cm: {
    metadata?: { name?: string };
    data?: Record<string, string>;
}): string[] {
    return Object.entries(cm.data ?? {})
        .filter(([k, v]) => looksLikeCredential(k, v))
        .map(([k]) => `ConfigMap ${cm.metadata?.name} key ${k} holds a credential; use a Secret`);
}
