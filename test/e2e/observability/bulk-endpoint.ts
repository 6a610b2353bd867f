/**
 * Stands in for Elasticsearch in the log-shipping test: an HTTP server on loopback that speaks enough of the
 * Elasticsearch API for the collector's exporter (product header, cluster info, `_bulk`) and records every
 * document with the index it was sent to. It is not Elasticsearch: no mapping, search or durability.
 */
import * as http from "http";
import * as zlib from "zlib";

export interface Received {
    index: string;
    doc: Record<string, unknown>;
    authorization?: string;
}

export class BulkEndpoint {
    readonly received: Received[] = [];
    private server?: http.Server;

    constructor(public port = 0) {}

    async start(): Promise<number> {
        this.server = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on("data", (c: Buffer) => chunks.push(c));
            req.on("end", () => {
                // The exporter compresses bulk bodies, as Elasticsearch accepts.
                const raw = Buffer.concat(chunks);
                const body = (
                    req.headers["content-encoding"] === "gzip" ? zlib.gunzipSync(raw) : raw
                ).toString();
                this.handle(req, body, res);
            });
        });
        await new Promise<void>((r) => this.server!.listen(this.port, "127.0.0.1", () => r()));
        this.port = (this.server.address() as { port: number }).port;
        return this.port;
    }

    /** Closes the port: the exporter sees connection refused, as during an Elasticsearch outage. */
    async stop(): Promise<void> {
        if (!this.server) return;
        this.server.closeAllConnections();
        await new Promise<void>((r) => this.server!.close(() => r()));
        this.server = undefined;
    }

    private handle(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
        const reply = (status: number, json: unknown) => {
            res.writeHead(status, {
                "Content-Type": "application/json",
                "X-Elastic-Product": "Elasticsearch",
            });
            res.end(JSON.stringify(json));
        };
        const url = new URL(req.url ?? "/", "http://x");
        if (req.method === "POST" && url.pathname.endsWith("/_bulk")) {
            const lines = body.split("\n").filter((l) => l.trim());
            const items: unknown[] = [];
            for (let i = 0; i + 1 < lines.length; i += 2) {
                const action = JSON.parse(lines[i]) as Record<string, { _index?: string }>;
                const [op, meta] = Object.entries(action)[0];
                const index = meta._index ?? url.pathname.split("/")[1];
                this.received.push({
                    index,
                    doc: JSON.parse(lines[i + 1]),
                    authorization: req.headers.authorization,
                });
                items.push({ [op]: { _index: index, status: 201, result: "created" } });
            }
            reply(200, { took: 1, errors: false, items });
            return;
        }
        // Cluster info and anything else the client asks at start.
        reply(200, {
            name: "bulk-stand-in",
            cluster_name: "swh-e2e",
            version: { number: "8.15.0", build_flavor: "default" },
            tagline: "You Know, for Search",
        });
    }
}
