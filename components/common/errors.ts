import * as pulumi from "@pulumi/pulumi";

/**
 * A bad argument or config value. It extends `pulumi.RunError` so the engine prints the message alone, without
 * a stack trace, and it is thrown before any resource is registered, so nothing is half-applied.
 */
export class ArgumentError extends pulumi.RunError {
    constructor(
        /** Where the value came from: `KedaScaledLoader "git": args.queues` or `elastic-workers:loaders[1].queues`. */
        public readonly key: string,
        /** What was expected, e.g. "a non-empty list of queue names". */
        public readonly expected: string,
        /** What was found, rendered briefly. */
        public readonly got?: unknown,
    ) {
        super(`${key}: expected ${expected}${got === undefined ? "" : `; got ${describe(got)}`}`);
        this.name = "ArgumentError";
    }

    /** An error whose message already says what was expected (a schema's words: "expected ...", "required, ..."). */
    static withMessage(key: string, message: string, got?: unknown): ArgumentError {
        const e = new ArgumentError(key, message.replace(/^expected /, ""), got);
        e.message = `${key}: ${message}${got === undefined ? "" : `; got ${describe(got)}`}`;
        return e;
    }
}

/** Short, one-line rendering of a bad value for an error message. */
export function describe(value: unknown): string {
    if (typeof value === "string") return JSON.stringify(value);
    if (value === undefined || value === null || typeof value !== "object") return String(value);
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Builds the key prefix used by a component's argument errors: `Kind "name": args.field`. */
export function argKey(kind: string, name: string): (field: string) => string {
    return (field) => `${kind} "${name}": args${field ? `.${field}` : ""}`;
}
