/**
 * Memory pressure on a real node (test/rig/hosts/node.ts), bounded by the host's own memory cgroup
 * (HOST_MEMORY): pods and a system service that take memory at a set pace and hold it, the node's memory as its
 * kubelet sees it, and what must hold while it is under pressure (the kubelet and containerd keep running; the
 * kernel's log says which cgroup each OOM kill was in).
 */
import { execFileSync } from "child_process";
import { Kube, KubeObject } from "../box/kube";
import { POD_IMAGE_REF } from "./node";
import { TestHost, docker, onHost, writeOnHost } from "./hosts";
import { until } from "../supervisor";

export const MiB = 2 ** 20;

/** How a pod takes memory: `startMiB` at once, then `stepMiB` every `pauseSeconds` up to `totalMiB`, then holds it. */
export interface Growth {
    startMiB: number;
    stepMiB: number;
    pauseSeconds: number;
    totalMiB: number;
}

/** Takes `mib` at once and holds it. */
export function hold(mib: number): Growth {
    return { startMiB: mib, stepMiB: 0, pauseSeconds: 1, totalMiB: 0 };
}

/**
 * A busybox shell that takes anonymous memory (shell variables filled from /dev/zero) in chunks of at most
 * 64 MiB, so the pod's usage follows `growth` without a copy twice its size, and exits on SIGTERM.
 */
export function growthScript(growth: Growth): string {
    return [
        "take() {",
        "  while [ $n -lt $1 ]; do",
        "    c=$(($1 - n)); [ $c -gt 64 ] && c=64",
        "    eval \"m$n=\\$(head -c $((c * 1048576)) /dev/zero | tr '\\\\0' x)\"; n=$((n + c))",
        '  done; echo "$n MiB"',
        "}",
        // The holding sleep goes too: a pod's would go with its container, a shell's would outlive it.
        "trap 'kill $! 2>/dev/null; exit 0' TERM",
        `n=0; take ${growth.startMiB}`,
        `while [ $n -lt ${growth.totalMiB} ]; do`,
        `  sleep ${growth.pauseSeconds}; t=$((n + ${growth.stepMiB})); [ $t -gt ${growth.totalMiB} ] && t=${growth.totalMiB}; take $t`,
        "done",
        "sleep 3600 & wait",
    ].join("\n");
}

/**
 * A best-effort pod (no requests, no limits) on `node` that takes memory as `growth` says. It tolerates the
 * memory-pressure taint, as a DaemonSet's pod does, so it still lands on a node already under pressure.
 */
export function memoryPod(name: string, node: string, growth: Growth): KubeObject {
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, labels: { "app.kubernetes.io/name": "swh-e2e-memory" } },
        spec: {
            nodeSelector: { "kubernetes.io/hostname": node },
            tolerations: [
                { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
            ],
            restartPolicy: "Never",
            terminationGracePeriodSeconds: 5,
            containers: [
                { name: "memory", image: POD_IMAGE_REF, command: ["sh", "-c", growthScript(growth)] },
            ],
        },
    };
}

/**
 * The pod of a loader Deployment the program declares (its recorded inputs), placed on `node`: the loader's
 * labels, priority, affinity, tolerations, security context, requests and limits, restart policy and grace
 * period, with the test image running `growth` in place of the loader's entrypoint.
 */
export function loaderPod(deployment: KubeObject, name: string, node: string, growth: Growth): KubeObject {
    const template = deployment.spec.template;
    const loader = template.spec.containers[0];
    const tmp = template.spec.volumes.find((v: KubeObject) => v.name === "tmp");
    // Its memory shape, not its API access: the loader's ServiceAccount lives in the loader's namespace.
    const { serviceAccountName: _account, ...spec } = template.spec;
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, labels: template.metadata.labels },
        spec: {
            ...spec,
            automountServiceAccountToken: false,
            nodeSelector: { "kubernetes.io/hostname": node },
            volumes: [tmp],
            containers: [
                {
                    name: loader.name,
                    image: POD_IMAGE_REF,
                    command: ["sh", "-c", growthScript(growth)],
                    resources: loader.resources,
                    securityContext: loader.securityContext,
                    volumeMounts: loader.volumeMounts.filter((m: KubeObject) => m.name === "tmp"),
                },
            ],
        },
    };
}

/** The priority classes the program declares (its recorded PriorityClasses), made in the box for loader pods. */
export async function ensurePriorityClasses(
    kube: Kube,
    program: { ofType(type: string): { inputs: KubeObject }[] },
): Promise<void> {
    for (const pc of program.ofType("kubernetes:scheduling.k8s.io/v1:PriorityClass"))
        await kube.ensure("/apis/scheduling.k8s.io/v1/priorityclasses", pc.inputs);
}

/**
 * Creates `pod` anew: a pod of that name left by an interrupted run (the box keeps its objects) is deleted first,
 * and waited for.
 */
export async function createPod(kube: Kube, pod: KubeObject): Promise<void> {
    const namespace = pod.metadata.namespace ?? "default";
    await deletePod(kube, namespace, pod.metadata.name);
    await kube.request("POST", `/api/v1/namespaces/${namespace}/pods`, pod);
}

/** Deletes a pod at once (no grace period) and waits until it is gone; nothing to do if there is none. */
export async function deletePod(kube: Kube, namespace: string, name: string): Promise<void> {
    const pod = `/api/v1/namespaces/${namespace}/pods/${name}`;
    await kube.delete(pod, 0);
    await until(`${name}: gone`, 60, async () => (await kube.find(pod)) === undefined);
}

/** A node's memory as its eviction manager reads it: the node's, and the pods' cgroup (allocatable enforced). */
export interface NodeMemory {
    availableBytes: number;
    workingSetBytes: number;
    podsAvailableBytes: number;
    podsWorkingSetBytes: number;
}

/**
 * The kubelet's summary API, through the API server. Its figures lag by the kubelet's housekeeping (10 s):
 * `since` waits for figures taken after that moment (ms since the epoch).
 */
export async function nodeMemory(kube: Kube, node: string, since = 0): Promise<NodeMemory> {
    return until(
        `${node}: the kubelet's memory figures taken after ${new Date(since).toISOString()}`,
        60,
        async () => {
            const summary = (await kube.get(`/api/v1/nodes/${node}/proxy/stats/summary`)).node;
            const pods = (summary.systemContainers ?? []).find((c: KubeObject) => c.name === "pods");
            if (!pods)
                throw new Error(
                    `${node}: the kubelet's summary has no "pods" container (allocatable enforced?)`,
                );
            return Date.parse(summary.memory.time) > since
                ? {
                      availableBytes: summary.memory.availableBytes,
                      workingSetBytes: summary.memory.workingSetBytes,
                      podsAvailableBytes: pods.memory.availableBytes,
                      podsWorkingSetBytes: pods.memory.workingSetBytes,
                  }
                : undefined;
        },
    );
}

/** One OOM kill the kernel logged: the cgroup that ran out (`oomMemcg`) and the killed task's cgroup. */
export interface KernelOomKill {
    oomMemcg: string;
    taskMemcg: string;
    task: string;
}

/**
 * The OOM kills the kernel logged inside a host's container (its memory cgroup and below), relative to it:
 * `/kubepods/burstable/pod<uid>/<container>` is a pod container's own limit, `/kubepods` the pods' cgroup,
 * `/` the node's.
 */
export function kernelOomKills(host: TestHost): KernelOomKill[] {
    const id = docker(["inspect", "-f", "{{.Id}}", host.container]).trim();
    const root = `/docker/${id}`;
    const kills: KernelOomKill[] = [];
    for (const line of execFileSync("dmesg", { encoding: "utf8", maxBuffer: 64 * 2 ** 20 }).split("\n")) {
        const m = /oom-kill:.*oom_memcg=([^,]+),task_memcg=([^,]+),task=([^,]+)/.exec(line);
        if (!m || !(m[1] === root || m[1].startsWith(`${root}/`))) continue;
        const rel = (p: string) => p.slice(root.length) || "/";
        kills.push({ oomMemcg: rel(m[1]), taskMemcg: rel(m[2]), task: m[3] });
    }
    return kills;
}

/** What must keep running on a node under memory pressure: its kubelet and containerd (pid/restarts each). */
export interface NodeGuard {
    kubelet: string;
    containerd: string;
}

export function nodeGuard(host: TestHost): NodeGuard {
    const [kubelet, containerd] = ["kubelet", "containerd"].map((u) =>
        onHost(host, `systemctl show -p MainPID -p NRestarts --value ${u} | paste -sd/`).trim(),
    );
    return { kubelet, containerd };
}

/** The kubelet's events about a pod, oldest first. */
export async function podEvents(kube: Kube, namespace: string, pod: string): Promise<KubeObject[]> {
    // By uid: a pod of the same name from an earlier run leaves its events behind for an hour.
    const uid = (await kube.get(`/api/v1/namespaces/${namespace}/pods/${pod}`)).metadata.uid;
    const events = await kube.list(
        `/api/v1/namespaces/${namespace}/events?fieldSelector=involvedObject.uid=${uid}`,
    );
    const at = (e: KubeObject) => String(e.lastTimestamp ?? e.eventTime);
    return events.sort((a, b) => at(a).localeCompare(at(b)));
}

/** The systemd unit that stands for a system service outgrowing its reservation (outside the pods' cgroup). */
export const SYSTEM_MEMORY_UNIT = "swh-e2e-system-memory";

/** Starts SYSTEM_MEMORY_UNIT on the host, taking memory as `growth` says; returns once it holds it all. */
export async function startSystemMemory(host: TestHost, growth: Growth): Promise<void> {
    writeOnHost(host, "/run/swh-e2e-memory.sh", growthScript(growth));
    onHost(
        host,
        `systemd-run --quiet --unit ${SYSTEM_MEMORY_UNIT} --property StandardOutput=journal sh /run/swh-e2e-memory.sh`,
    );
    const total = Math.max(growth.startMiB, growth.totalMiB);
    await until(`${host.name}: ${SYSTEM_MEMORY_UNIT} holds ${total} MiB`, 120, () =>
        onHost(host, `journalctl -q -o cat -u ${SYSTEM_MEMORY_UNIT}`).includes(`${total} MiB`),
    );
}

export function stopSystemMemory(host: TestHost): void {
    onHost(host, `systemctl stop ${SYSTEM_MEMORY_UNIT} 2>/dev/null || true`);
}
