/**
 * Just enough of a Kubernetes client for the box, its bridge, tests and benchmark: JSON requests to the box's
 * API server with the admin client certificate.
 */
import * as fs from "fs";
import * as https from "https";
import { BoxPki } from "./pki";

/** A Kubernetes object as JSON (the fields we read are checked where they are read). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- API objects are read ad hoc, field by field
export type KubeObject = Record<string, any>;

export class KubeError extends Error {
    constructor(
        readonly status: number,
        message: string,
    ) {
        super(message);
    }
}

export class Kube {
    private readonly agent: https.Agent;

    constructor(
        readonly server: string,
        pki: BoxPki,
    ) {
        this.agent = new https.Agent({
            ca: fs.readFileSync(pki.ca),
            cert: fs.readFileSync(pki.admin.cert),
            key: fs.readFileSync(pki.admin.key),
            keepAlive: true,
            maxSockets: 8,
        });
    }

    request(
        method: string,
        path: string,
        body?: unknown,
        contentType = "application/json",
    ): Promise<KubeObject> {
        const data = body === undefined ? undefined : JSON.stringify(body);
        return new Promise((resolve, reject) => {
            const req = https.request(
                new URL(path, this.server),
                {
                    method,
                    agent: this.agent,
                    timeout: 10_000,
                    headers: {
                        Accept: "application/json",
                        ...(data
                            ? { "Content-Type": contentType, "Content-Length": Buffer.byteLength(data) }
                            : {}),
                    },
                },
                (res) => {
                    const chunks: Buffer[] = [];
                    res.on("data", (c: Buffer) => chunks.push(c));
                    res.on("end", () => {
                        const text = Buffer.concat(chunks).toString("utf8");
                        if ((res.statusCode ?? 0) >= 300) {
                            reject(
                                new KubeError(
                                    res.statusCode ?? 0,
                                    `${method} ${path}: ${res.statusCode} ${text}`,
                                ),
                            );
                        } else if (!(res.headers["content-type"] ?? "").includes("json")) {
                            resolve({ text });
                        } else {
                            try {
                                resolve(JSON.parse(text) as KubeObject);
                            } catch (e) {
                                reject(e);
                            }
                        }
                    });
                },
            );
            req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
            req.on("error", reject);
            if (data) req.write(data);
            req.end();
        });
    }

    get(path: string): Promise<KubeObject> {
        return this.request("GET", path);
    }

    async list(path: string): Promise<KubeObject[]> {
        return ((await this.get(path)).items ?? []) as KubeObject[];
    }

    /** GET, or undefined on 404. */
    async find(path: string): Promise<KubeObject | undefined> {
        try {
            return await this.get(path);
        } catch (e) {
            if (e instanceof KubeError && e.status === 404) return undefined;
            throw e;
        }
    }

    /**
     * Creates the object, or merges it into the existing one (409): a box brought up again converges.
     * `update: false` leaves an existing object as it is (pods: their spec is immutable).
     */
    async ensure(collection: string, obj: KubeObject, opts: { update?: boolean } = {}): Promise<void> {
        try {
            await this.request("POST", collection, obj);
        } catch (e) {
            if (!(e instanceof KubeError && e.status === 409)) throw e;
            if (opts.update === false) return;
            const { status: _status, ...desired } = obj;
            await this.mergePatch(`${collection}/${obj.metadata.name}`, desired);
        }
    }

    mergePatch(path: string, patch: unknown): Promise<KubeObject> {
        return this.request("PATCH", path, patch, "application/merge-patch+json");
    }

    /** DELETE (with a grace period when given); a 404 counts as done. */
    async delete(path: string, gracePeriodSeconds?: number): Promise<void> {
        const query = gracePeriodSeconds === undefined ? "" : `?gracePeriodSeconds=${gracePeriodSeconds}`;
        try {
            await this.request("DELETE", path + query);
        } catch (e) {
            if (!(e instanceof KubeError && e.status === 404)) throw e;
        }
    }

    close(): void {
        this.agent.destroy();
    }
}
