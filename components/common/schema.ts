/**
 * The rules every component's argument schema is built from, each written once, and the one way a schema's
 * failure becomes an error that names the argument or config key. Components parse their arguments with
 * {@link parseArgs}; the stack config (config/) composes the same schemas, so both say the same thing.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { ArgumentError, describe } from "./errors";
import { DURATION_RE, parseCpu, parseMemory } from "./quantity";

/**
 * A string whose every failure, a value of another type included (`memory: 8`), says what was expected and shows
 * an example: zod's own "expected string, received number" says neither.
 */
export function text(message: string) {
    return z.string({ error: message });
}

/** A string matching `pattern`; any failure says `message`. */
export function matching(pattern: RegExp, message: string) {
    return text(message).regex(pattern, message);
}

/** A string `check` accepts; any failure says `message`. */
export function satisfying(check: (v: string) => boolean, message: string) {
    return text(message).refine(check, message);
}

// --- Kubernetes names and labels -------------------------------------------------------------------------

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Optional DNS-subdomain prefix, then a name of at most 63 characters (Kubernetes' label-key rule). */
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Node, namespace and resource names. */
export const dnsLabel = matching(
    DNS_LABEL,
    "expected a DNS-1123 label (lower-case letters, digits, '-', at most 63)",
);
export const dnsName = matching(
    /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
    "expected a DNS name like rancher.internal.staging.swh.network",
);
export const labelKey = matching(LABEL_KEY, "expected a label key like swh/loader");
export const labels = z.record(
    labelKey,
    matching(LABEL_VALUE, "expected a label value (at most 63 of [A-Za-z0-9_.-])"),
);
export const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;
export const taintEffect = z.enum(TAINT_EFFECTS, {
    error: "expected NoSchedule, PreferNoSchedule or NoExecute",
});
export const toleration = z.strictObject({
    key: z.string().optional(),
    operator: z.enum(["Exists", "Equal"]).optional(),
    value: z.string().optional(),
    effect: taintEffect.optional(),
});
export type TolerationSpec = z.infer<typeof toleration>;

// --- quantities and numbers --------------------------------------------------------------------------------

/** A CPU quantity as a string ("500m", "2"); zero allowed (a reservation may be none). */
export const cpuQuantity = satisfying(
    (v) => parseCpu(v) !== undefined,
    'expected a CPU quantity like "500m"',
);
/** A CPU quantity above zero (a request, a host's size as a string). */
export const positiveCpu = cpuQuantity.refine(
    (v) => (parseCpu(v) ?? 0) > 0,
    'expected a positive CPU quantity like "500m"',
);
export const memoryQuantity = satisfying(
    (v) => parseMemory(v) !== undefined,
    'expected a memory quantity like "512Mi" or "8Gi"',
);
export const positiveMemory = memoryQuantity.refine(
    (v) => (parseMemory(v) ?? 0) > 0,
    'expected a positive memory quantity like "512Mi"',
);
/** `{ cpu, memory }` as Kubernetes requests take them. */
export const resourcePair = z.strictObject({ cpu: cpuQuantity, memory: memoryQuantity });

/** The largest integer Kubernetes' int32 fields accept. */
export const INT32_MAX = 2147483647;

/** A whole number of at least `min` that Kubernetes' int32 fields accept. */
export const wholeNumberAtLeast = (min: number) => {
    const message = `expected a whole number of at least ${min}`;
    return z
        .number({ error: message })
        .int(message)
        .min(min, message)
        .max(INT32_MAX, `expected at most ${INT32_MAX} (a Kubernetes int32)`);
};
export const seconds = wholeNumberAtLeast(1);
export const port = z
    .number({ error: "expected a TCP port (1-65535)" })
    .int("expected a TCP port (1-65535)")
    .min(1, "expected a TCP port (1-65535)")
    .max(65535, "expected a TCP port (1-65535)");
export const duration = matching(DURATION_RE, 'expected a duration like "1m"');

// --- versions and images ------------------------------------------------------------------------------------

/** A chart or app version ("2.13.1", "v1.18.2"). */
export const version = matching(
    /^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]*)?$/,
    'expected a version like "2.13.1"',
);
export const K3S_VERSION = /^v\d+\.\d+\.\d+\+k3s\d+$/;
export const RKE2_VERSION = /^v\d+\.\d+\.\d+\+rke2r\d+$/;
export const k3sVersion = matching(K3S_VERSION, 'expected a k3s release like "v1.33.4+k3s1"');
export const kubernetesVersion = satisfying(
    (v) => K3S_VERSION.test(v) || RKE2_VERSION.test(v),
    'expected an RKE2 or k3s version like "v1.33.4+rke2r1" or "v1.33.4+k3s1"',
);
export const flannelBackend = z.enum(["host-gw", "vxlan", "wireguard-native"], {
    error: "expected host-gw, vxlan or wireguard-native",
});
/** `repo@sha256:<64 hex>`: tags move, digests do not. */
export const DIGEST_PINNED = /^[^\s@]+@sha256:[0-9a-f]{64}$/;
export const digestPinnedImage = matching(
    DIGEST_PINNED,
    "expected a digest-pinned image reference (repository@sha256:<64 hex>)",
);
/** A tagged reference's repository and tag (`127.0.0.1:5000/swh/loader_git:1` → `127.0.0.1:5000/swh/loader_git`, `1`). */
export function splitTag(ref: string): { repository: string; tag: string } | undefined {
    const slash = ref.lastIndexOf("/");
    const colon = ref.lastIndexOf(":");
    if (colon <= slash || ref.includes("@")) return undefined;
    return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) };
}
/** A tag other than `latest` on a repository (SWH publishes `<date>.<n>` tags). */
function isPinnedTag(ref: string): boolean {
    const t = splitTag(ref);
    return (
        t !== undefined &&
        /^[a-z0-9]([a-z0-9._/-]*[a-z0-9])?(:\d+\/[a-z0-9._/-]+)?$/.test(t.repository) &&
        /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(t.tag) &&
        t.tag !== "latest"
    );
}
/** An image a registry already holds: pinned by digest, or by a tag that is resolved to its digest at preview. */
export const prebuiltImage = satisfying(
    (v) => DIGEST_PINNED.test(v) || isPinnedTag(v),
    "expected a digest-pinned image (repository@sha256:<64 hex>) or a tag other than latest " +
        '(e.g. "registry.example.org/swh/loader_git:20251120.1", resolved to its digest at preview)',
);
export const imageReference = matching(
    /^[a-z0-9./:@_-]+$/,
    'expected an image reference like "python:3.11-bookworm"',
);
export const registryHost = matching(
    /^[a-z0-9.-]+(:\d+)?$/,
    'expected a registry host like "docker.io" or "127.0.0.1:5000"',
);
export const loaderType = matching(
    /^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/,
    'expected a loader type like "git" (lower-case letters, digits, "-")',
);
export const regexSource = satisfying((v) => {
    try {
        new RegExp(v);
        return true;
    } catch {
        return false;
    }
}, "expected a regular expression");

// --- Pulumi inputs -------------------------------------------------------------------------------------------

/** The plain schema behind each {@link input}, by its definition (shared by `.describe()`'s clone), for the docs. */
export const inputInner = new WeakMap<object, z.ZodType>();

/**
 * A leaf another resource or stack may supply: a plain value is checked against `schema` at once, a
 * computed one (Output or Promise) when it is known, by {@link checkedInput}.
 */
export function input<S extends z.ZodType>(schema: S) {
    const wrapped = z.custom<pulumi.Input<z.output<S>>>().superRefine((value, ctx) => {
        if (pulumi.Output.isInstance(value) || value instanceof Promise) return;
        const parsed = schema.safeParse(value);
        if (parsed.success) return;
        for (const issue of parsed.error.issues) {
            const missing = value === undefined ? "required, " : "";
            ctx.addIssue({
                code: "custom",
                message: `${missing}${issue.message}`,
                path: issue.path,
                input: value,
            });
        }
    });
    inputInner.set(wrapped._zod.def, schema);
    return wrapped;
}

/** A validated input: as is when plain (already checked), else an Output that fails when its value does not. */
export function checkedInput<T>(schema: z.ZodType<T>, value: pulumi.Input<T>, key: string): pulumi.Input<T> {
    if (!pulumi.Output.isInstance(value) && !(value instanceof Promise)) return value;
    return pulumi.output(value).apply((v) => parseValue(schema, v, key)) as pulumi.Output<T>;
}

// --- errors --------------------------------------------------------------------------------------------------

/** `loaders[1].queues` from a zod path. */
export function formatPath(path: readonly PropertyKey[]): string {
    return path
        .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
        .join("");
}

/** The value at a zod issue's path, undefined when absent. */
export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
    let cur = root;
    for (const p of path) {
        if (cur === null || typeof cur !== "object") return undefined;
        cur = (cur as Record<PropertyKey, unknown>)[p];
    }
    return cur;
}

/** What an issue says, with "required, " when the value is absent rather than malformed. */
export function issueMessage(issue: z.core.$ZodIssue, root: unknown): string {
    // A record's bad key: zod wraps the key's own issue, whose message says what was expected.
    if (issue.code === "invalid_key" && issue.issues[0]) return issue.issues[0].message;
    const missing = issue.code === "invalid_type" && valueAt(root, issue.path) === undefined;
    return `${missing ? "required, " : ""}${issue.message}`;
}

/** A URL's password replaced, so an error never shows one. */
export function redactCredentials(text: string): string {
    return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]*:)[^\s/@]+@/gi, "$1***@");
}

/** Parses arguments; the first problem throws an ArgumentError naming `key(path)` and the value found. */
export function parseArgs<S extends z.ZodType>(
    schema: S,
    args: unknown,
    key: (field: string) => string,
): z.output<S> {
    const parsed = schema.safeParse(args);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    throw ArgumentError.withMessage(
        key(formatPath(issue.path)),
        issueMessage(issue, args),
        shownValue(issue, args),
    );
}

/**
 * The value an issue is about, as an error may show it: a leaf only (an object may hold values that are not this
 * field's, secrets among them), a URL's password redacted; undefined when absent or not shown.
 */
export function shownValue(issue: z.core.$ZodIssue, root: unknown): unknown {
    const value = valueAt(root, issue.path);
    const leaf = issue.code !== "unrecognized_keys" && (value === null || typeof value !== "object");
    return !leaf ? undefined : typeof value === "string" ? redactCredentials(value) : value;
}

/** An issue as one line: what was expected, then the value found when it may be shown. */
export function issueText(issue: z.core.$ZodIssue, root: unknown): string {
    const got = shownValue(issue, root);
    return `${issueMessage(issue, root)}${got === undefined ? "" : `; got ${describe(got)}`}`;
}

/** Names a field under `key`: "" → `key`, `[0].name` → `key[0].name`, `name` → `key.name`. */
export function subKey(key: string): (field: string) => string {
    return (field) => (field ? `${key}${field.startsWith("[") ? "" : "."}${field}` : key);
}

/** Parses one value whose key is already known. */
export function parseValue<S extends z.ZodType>(schema: S, value: unknown, key: string): z.output<S> {
    return parseArgs(schema, value, subKey(key));
}
