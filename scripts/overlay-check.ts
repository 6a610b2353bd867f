/**
 * `npm run check:overlay -- [--kubeconfig FILE] [--selector LABELS] [--image IMAGE] [--namespace NS]`: checks
 * that a pod on every Ready node (of those the label selector picks) reaches a pod on every other node (components/worker-node-pool/overlay-check.ts), names each
 * failing pair and exits 1 if there is one. Run it after a pool changes. Needs kubectl on PATH; leaves nothing
 * behind (its namespace is deleted).
 */
import { execFileSync } from "child_process";
import { randomBytes } from "crypto";
import { parseArgs } from "util";
import {
    OVERLAY_CHECK_DEFAULTS,
    OverlayCheckOptions,
    OverlayResult,
    overlayVerdict,
    parseProbe,
    probeName,
    probePod,
    serverName,
    serverPods,
} from "../components/worker-node-pool/overlay-check";

const USAGE =
    "usage: npm run check:overlay -- [--kubeconfig FILE] [--selector LABELS] [--image IMAGE] [--namespace NS] [--port N] [--timeout S]";

interface KubeList<T> {
    items: T[];
}
interface NodeObject {
    metadata: { name: string };
    status: { conditions?: { type: string; status: string }[] };
}
interface PodObject {
    metadata: { name: string };
    spec: { nodeName: string };
    status: { phase?: string; podIP?: string };
}

function fail(message: string): never {
    console.error(`check:overlay: ${message}`);
    process.exit(2);
}

function options(): { kubeconfig?: string; selector?: string; o: OverlayCheckOptions } {
    let values;
    try {
        ({ values } = parseArgs({
            options: {
                kubeconfig: { type: "string" },
                selector: { type: "string" },
                image: { type: "string" },
                namespace: { type: "string" },
                port: { type: "string" },
                timeout: { type: "string" },
            },
        }));
    } catch (e) {
        fail(`${(e as Error).message}\n${USAGE}`);
    }
    const number = (flag: string, v: string | undefined, dflt: number) => {
        if (v === undefined) return dflt;
        if (!/^[1-9][0-9]*$/.test(v))
            fail(`--${flag}: expected a positive whole number, e.g. --${flag} ${dflt}; got "${v}"`);
        return Number(v);
    };
    return {
        kubeconfig: values.kubeconfig,
        selector: values.selector,
        o: {
            // A namespace of its own per run: one left terminating by an earlier run does not block this one.
            namespace:
                values.namespace ?? `${OVERLAY_CHECK_DEFAULTS.namespace}-${randomBytes(3).toString("hex")}`,
            image: values.image ?? OVERLAY_CHECK_DEFAULTS.image,
            port: number("port", values.port, OVERLAY_CHECK_DEFAULTS.port),
            timeoutSeconds: number("timeout", values.timeout, OVERLAY_CHECK_DEFAULTS.timeoutSeconds),
        },
    };
}

async function main(): Promise<void> {
    const { kubeconfig, selector, o } = options();
    const kubectl = (args: string[], input?: string) => {
        try {
            return execFileSync("kubectl", [...(kubeconfig ? ["--kubeconfig", kubeconfig] : []), ...args], {
                input,
                encoding: "utf8",
                stdio: ["pipe", "pipe", "pipe"],
                maxBuffer: 32 * 2 ** 20,
            });
        } catch (e) {
            const err = e as { code?: string; stderr?: string };
            if (err.code === "ENOENT") fail("kubectl is not on PATH");
            throw new Error(`kubectl ${args.join(" ")}: ${(err.stderr ?? String(e)).trim()}`);
        }
    };
    const json = <T>(args: string[]) => JSON.parse(kubectl([...args, "-o", "json"])) as T;
    const step = (n: number, what: string) => console.log(`[${n}/5] ${what}`);
    // Polls once a second, at most `seconds` times, until every pod of the role is `done`.
    const waitPods = async (role: string, seconds: number, done: (p: PodObject) => boolean) => {
        let left: PodObject[] = [];
        for (let i = 0; i < seconds; i++) {
            const pods = json<KubeList<PodObject>>([
                "get", "pods", "-n", o.namespace, "-l", `swh.softwareheritage.org/overlay-check=${role}`,
            ]).items; // prettier-ignore
            left = pods.filter((p) => !done(p));
            if (pods.length > 0 && left.length === 0) return pods;
            await new Promise((r) => setTimeout(r, 1000));
        }
        const names = left.map((p) => `${p.metadata.name} (${p.status.phase ?? "Pending"})`);
        throw new Error(`timed out after ${seconds}s waiting for the ${role} pods: ${names.join(", ")}`);
    };

    const nodes = json<KubeList<NodeObject>>(["get", "nodes", ...(selector ? ["-l", selector] : [])])
        .items.filter((n) => n.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
        .map((n) => n.metadata.name)
        .sort();
    if (nodes.length < 2) fail(`needs at least 2 Ready nodes; found ${nodes.length} (${nodes.join(", ")})`);
    step(1, `namespace ${o.namespace}, image ${o.image}, ${nodes.length} nodes: ${nodes.join(", ")}`);
    kubectl(
        ["create", "-f", "-"],
        JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: o.namespace } }),
    );
    try {
        step(2, "a server pod on every node");
        kubectl(
            ["apply", "-f", "-"],
            JSON.stringify({ apiVersion: "v1", kind: "List", items: serverPods(nodes, o) }),
        );
        const servers = await waitPods(
            "server",
            180,
            (p) => p.status.phase === "Running" && !!p.status.podIP,
        );
        const peers = nodes.map((n) => ({
            node: n,
            ip: servers.find((p) => p.metadata.name === serverName(n))!.status.podIP!,
        }));
        step(3, `servers: ${peers.map((p) => `${p.node} ${p.ip}`).join(", ")}`);
        kubectl(
            ["apply", "-f", "-"],
            JSON.stringify({
                apiVersion: "v1",
                kind: "List",
                items: nodes.map((n) => probePod(n, peers, o)),
            }),
        );
        step(4, "a probe pod on every node fetches from every other node's server");
        const budget = 60 + nodes.length * o.timeoutSeconds;
        await waitPods("probe", budget, (p) => p.status.phase === "Succeeded" || p.status.phase === "Failed");
        const results: OverlayResult[] = nodes.flatMap((n) =>
            parseProbe(n, kubectl(["logs", "-n", o.namespace, probeName(n)]), peers),
        );
        const { table, failures } = overlayVerdict(nodes, results);
        step(
            5,
            `pod network, ${results.filter((r) => r.ok).length}/${results.length} pairs answer:\n${table}`,
        );
        if (failures.length > 0) {
            console.error(`check:overlay: ${failures.length} failing pair(s):\n  ${failures.join("\n  ")}`);
            process.exitCode = 1;
        } else console.log("check:overlay: every node's pod reaches every other node's pod");
    } finally {
        kubectl(["delete", "namespace", o.namespace, "--wait=false"]);
    }
}

main().catch((e: Error) => fail(e.message));
