// Validates Kubernetes objects against the real Kubernetes, KEDA and prometheus-operator schemas. ESM
// because the schema packages ship ESM only; CommonJS tests load it through Node's require(esm).
import * as core from "kubernetes-models";
import * as keda from "@kubernetes-models/keda";
import * as promOp from "@kubernetes-models/prometheus-operator";

const libraries = [core, keda, promOp];

function flatten(mod, out) {
    for (const value of Object.values(mod)) {
        if (typeof value === "function" && value.apiVersion && value.kind) out.push(value);
        else if (value && typeof value === "object") flatten(value, out);
    }
    return out;
}

const models = new Map();
for (const lib of libraries) {
    for (const model of flatten(lib, [])) models.set(`${model.apiVersion}/${model.kind}`, model);
}

/** The model class for apiVersion/kind, or undefined when no schema package knows it. */
export function modelFor(apiVersion, kind) {
    return models.get(`${apiVersion}/${kind}`);
}

/** Throws the schema's error when the object is invalid, or when no schema knows its kind. */
export function validateObject(obj) {
    const Model = modelFor(obj.apiVersion, obj.kind);
    if (!Model) throw new Error(`no schema for ${obj.apiVersion}/${obj.kind}`);
    new Model(obj).validate();
}

export function knownKinds() {
    return [...models.keys()];
}
