import { ArgumentError } from "../common/errors";

/**
 * Kubernetes minor versions each Rancher minor release supports as its own (local) cluster and for the
 * clusters it provisions. Source: SUSE Rancher support matrix pages (rancher.com/support-matrix), checked
 * against the Rancher chart's `kubeVersion` constraint and release notes (2.12: "Kubernetes v1.30 is no longer
 * supported"). The 2.5 row is the pair the seed task hit: Rancher 2.5.9 on k3s 1.22 did not start.
 * Keep this the only copy of the table.
 */
export const RANCHER_KUBERNETES_SUPPORT: Record<string, { min: string; max: string }> = {
    "2.5": { min: "1.17", max: "1.20" },
    "2.6": { min: "1.18", max: "1.24" },
    "2.7": { min: "1.23", max: "1.27" },
    "2.8": { min: "1.25", max: "1.28" },
    "2.9": { min: "1.27", max: "1.30" },
    "2.10": { min: "1.28", max: "1.31" },
    "2.11": { min: "1.30", max: "1.32" },
    "2.12": { min: "1.31", max: "1.33" },
    "2.13": { min: "1.32", max: "1.34" },
};

/** "v1.33.4+k3s1" / "1.33" / "v1.33.4+rke2r1" → [1, 33]; undefined when it is not a version. */
export function minorOf(version: string): [number, number] | undefined {
    const m = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+][0-9A-Za-z.+-]*)?$/.exec(version.trim());
    return m ? [Number(m[1]), Number(m[2])] : undefined;
}

function compareMinor(a: [number, number], b: [number, number]): number {
    return a[0] - b[0] || a[1] - b[1];
}

/**
 * Throws unless `kubernetesVersion` is inside the range the given Rancher version supports. `keys` name the
 * argument or config key of each version, so the error points at the one that is wrong.
 */
export function checkRancherSupportsKubernetes(
    rancherVersion: string,
    kubernetesVersion: string,
    keys: { rancher: string; kubernetes: string },
): void {
    const rancher = minorOf(rancherVersion);
    if (!rancher) throw new ArgumentError(keys.rancher, "a Rancher version like 2.13.1", rancherVersion);
    const row = RANCHER_KUBERNETES_SUPPORT[`${rancher[0]}.${rancher[1]}`];
    if (!row) {
        const known = Object.keys(RANCHER_KUBERNETES_SUPPORT).join(", ");
        throw new ArgumentError(
            keys.rancher,
            `a Rancher version in the support matrix (${known})`,
            rancherVersion,
        );
    }
    const key = keys.kubernetes;
    const kube = minorOf(kubernetesVersion);
    if (!kube) throw new ArgumentError(key, "a Kubernetes version like v1.33.4+k3s1", kubernetesVersion);
    const min = minorOf(row.min)!;
    const max = minorOf(row.max)!;
    if (compareMinor(kube, min) < 0 || compareMinor(kube, max) > 0) {
        throw new ArgumentError(
            key,
            `Kubernetes ${row.min}-${row.max}, the range Rancher ${rancherVersion} supports ` +
                `(Kubernetes ${kubernetesVersion} is outside it; see rancher-server/support-matrix.ts)`,
        );
    }
}
