/** Typed access to schemas.mjs (ESM-only schema packages, loaded through Node's require of ES modules). */
// The .mjs module is plain JavaScript; this is its contract.
const schemas: {
    validateObject(obj: unknown): void;
    modelFor(apiVersion: string, kind: string): unknown;
    knownKinds(): string[];
} = require("./schemas.mjs");

export const { validateObject, modelFor, knownKinds } = schemas;

/** apiVersion and kind from a kubernetes provider type token ("kubernetes:apps/v1:Deployment"). */
export function gvkOfType(type: string): { apiVersion: string; kind: string } | undefined {
    const m = /^kubernetes:([^:]+):([A-Za-z]+)$/.exec(type);
    if (!m || m[1] === "helm.sh/v3" || type === "kubernetes:apiextensions.k8s.io:CustomResource")
        return undefined;
    const group = m[1].replace(/^core\//, "");
    return { apiVersion: group, kind: m[2] };
}
