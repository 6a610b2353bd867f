/**
 * The pod network check the task's authors ran after every change to the nodes (T3592: vxlan that would not
 * carry traffic between nodes until flannel ran host-gw): a pod on every node serves HTTP, then a pod on every
 * node fetches from each other node's server. Pure builders and the verdict; `scripts/overlay-check.ts` runs it
 * with kubectl.
 */

/** What the check runs: an image with a shell, `httpd`, `wget` and `timeout` (busybox's). */
export interface OverlayCheckOptions {
    /** Created for the check and deleted after it (the command adds a random suffix to the default). */
    namespace: string;
    image: string;
    port: number;
    /** Seconds each fetch may take. */
    timeoutSeconds: number;
}

/** @default the check's settings when none is given */
export const OVERLAY_CHECK_DEFAULTS: OverlayCheckOptions = {
    namespace: "swh-overlay-check",
    image: "docker.io/library/busybox:1.37.0",
    port: 8080,
    timeoutSeconds: 3,
};

const LABEL = "swh.softwareheritage.org/overlay-check";

/** A pod pinned to `node` that tolerates every taint (the check covers every node, control plane included). */
function pinned(name: string, node: string, role: string, o: OverlayCheckOptions, command: string[]) {
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: o.namespace, labels: { [LABEL]: role } },
        spec: {
            nodeName: node,
            tolerations: [{ operator: "Exists" }],
            restartPolicy: "Never",
            terminationGracePeriodSeconds: 1,
            containers: [
                {
                    name: role,
                    image: o.image,
                    imagePullPolicy: "IfNotPresent",
                    command,
                    resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "32Mi" } },
                },
            ],
        },
    };
}

/** Pod names from node names (a node name is a DNS subdomain; a pod name gets a prefix and stays one). */
export function serverName(node: string): string {
    return `server-${node}`.slice(0, 253);
}

export function probeName(node: string): string {
    return `probe-${node}`.slice(0, 253);
}

/** One HTTP server pod per node, answering on the pod network. */
export function serverPods(nodes: string[], o: OverlayCheckOptions) {
    return nodes.map((n) =>
        // busybox's httpd lists no directory: serve a page, so an answer is a 200.
        pinned(serverName(n), n, "server", o, [
            "/bin/sh",
            "-c",
            `echo ${n} >/tmp/index.html && exec httpd -f -p ${o.port} -h /tmp`,
        ]),
    );
}

/** The probe pod of `node`: fetches every other node's server once and prints `ok|fail <node> <ip>` per peer. */
export function probePod(node: string, peers: { node: string; ip: string }[], o: OverlayCheckOptions) {
    const lines = peers
        .filter((p) => p.node !== node)
        .map(
            (p) =>
                // timeout(1), not wget -T: Debian's busybox 1.35 wget crashes on -T.
                `if timeout ${o.timeoutSeconds} wget -q -O /dev/null http://${p.ip}:${o.port}/; ` +
                `then echo "ok ${p.node} ${p.ip}"; else echo "fail ${p.node} ${p.ip}"; fi`,
        );
    return pinned(probeName(node), node, "probe", o, ["/bin/sh", "-c", lines.join("\n")]);
}

/** One fetch: from a node's pod to another node's pod. */
export interface OverlayResult {
    from: string;
    to: string;
    ip: string;
    ok: boolean;
}

/** Reads a probe's log; a peer the log does not mention counts as failed (the probe died before it). */
export function parseProbe(
    from: string,
    log: string,
    peers: { node: string; ip: string }[],
): OverlayResult[] {
    const said = new Map<string, boolean>();
    for (const line of log.split("\n")) {
        const m = /^(ok|fail) (\S+) (\S+)$/.exec(line.trim());
        if (m) said.set(m[2], m[1] === "ok");
    }
    return peers
        .filter((p) => p.node !== from)
        .map((p) => ({ from, to: p.node, ip: p.ip, ok: said.get(p.node) ?? false }));
}

/** The verdict: the matrix as text (rows: from, columns: to) and each failing pair named. */
export function overlayVerdict(
    nodes: string[],
    results: OverlayResult[],
): { table: string; failures: string[] } {
    const cell = (from: string, to: string) => {
        if (from === to) return "-";
        const r = results.find((x) => x.from === from && x.to === to);
        return r === undefined ? "?" : r.ok ? "ok" : "FAIL";
    };
    const width = Math.max(4, ...nodes.map((n) => n.length));
    const pad = (s: string) => s.padEnd(width);
    const table = [
        [pad("from \\ to"), ...nodes.map(pad)].join("  "),
        ...nodes.map((from) => [pad(from), ...nodes.map((to) => pad(cell(from, to)))].join("  ")),
    ].join("\n");
    const failures = nodes.flatMap((from) =>
        nodes
            .filter((to) => to !== from && cell(from, to) !== "ok")
            .map((to) => {
                const r = results.find((x) => x.from === from && x.to === to);
                return `${from} → ${to}${r ? ` (pod ${r.ip})` : ""}: no answer`;
            }),
    );
    return { table, failures };
}
