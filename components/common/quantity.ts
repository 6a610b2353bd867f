/**
 * Kubernetes resource quantities, reduced to the two units capacity planning needs: CPU in millicores and
 * memory in bytes. Only the suffixes Kubernetes accepts for these resources are understood.
 */

const MEMORY_SUFFIXES: Record<string, number> = {
    "": 1,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
};

const MEMORY_RE = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const CPU_RE = /^([0-9]+(?:\.[0-9]+)?)(m)?$/;

/** Parses a CPU quantity ("500m", "2", "0.5" or a number of cores) into millicores, or undefined if malformed. */
export function parseCpu(value: string | number): number | undefined {
    if (typeof value === "number")
        return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
    const m = CPU_RE.exec(value.trim());
    if (!m) return undefined;
    const n = Number(m[1]);
    return m[2] ? Math.round(n) : Math.round(n * 1000);
}

/** Parses a memory quantity ("512Mi", "8Gi", "1G", bytes) into bytes, or undefined if malformed. */
export function parseMemory(value: string | number): number | undefined {
    if (typeof value === "number")
        return Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
    const m = MEMORY_RE.exec(value.trim());
    if (!m) return undefined;
    return Math.round(Number(m[1]) * MEMORY_SUFFIXES[m[2] ?? ""]);
}

const DURATION_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };
/** A kubelet duration as the config takes it: whole seconds, minutes or hours ("90s", "1m", "2h"). */
export const DURATION_RE = /^(\d+)(s|m|h)$/;

/** Parses a duration (DURATION_RE) into seconds, or undefined if malformed. */
export function parseDuration(value: string): number | undefined {
    const m = DURATION_RE.exec(value.trim());
    return m ? Number(m[1]) * DURATION_SECONDS[m[2]] : undefined;
}

/** Formats millicores the way Kubernetes prints them ("500m", "2"). */
export function formatCpu(millis: number): string {
    return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}

/** Formats bytes with the largest binary suffix that divides them exactly ("512Mi", "7Gi"). */
export function formatMemory(bytes: number): string {
    for (const suffix of ["Ti", "Gi", "Mi", "Ki"]) {
        const unit = MEMORY_SUFFIXES[suffix];
        if (bytes >= unit && bytes % unit === 0) return `${bytes / unit}${suffix}`;
    }
    return String(bytes);
}

/** A CPU and memory amount, in millicores and bytes. */
export interface Resources {
    cpuMillis: number;
    memoryBytes: number;
}
