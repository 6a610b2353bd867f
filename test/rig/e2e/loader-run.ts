/**
 * A loader's pods run from the objects the program declares, with Docker standing in for the kubelet: the box's
 * real nodes keep containerd's images on a 2 GiB tmpfs, which the loader image (over 800 MB unpacked) and its
 * pods' services (RabbitMQ, the storage, the statsd exporter, on this machine's loopback) do not fit. What the
 * kubelet would do with the pod spec is done here, field by field: the container's command, its env (the env
 * ConfigMap, the downward API, the broker Secret's keys), its user, capabilities and memory limit, the broker
 * Secret's config.yml and the logging ConfigMap as read-only files readable by the pod's user only, /tmp a tmpfs,
 * the pod name as host name; and on deletion, the preStop hook, then SIGTERM and SIGKILL at the grace period's end.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { KubeObject } from "../box/kube";
import { docker } from "../hosts/hosts";
import { E2E } from "./env";

/** A loader's objects as the program declares them (recorded inputs). */
export interface LoaderObjects {
    /** The Deployment, or in job mode the ScaledJob: the pods run its pod template (podTemplate). */
    workload: KubeObject;
    /** The env ConfigMap. */
    env: KubeObject;
    /** The broker Secret (its stringData). */
    broker: KubeObject;
    /** The logging ConfigMap, with JSON logs. */
    logging?: KubeObject;
}

/** A workload's pod template: a Deployment's, or the Jobs' a ScaledJob starts. */
export function podTemplate(workload: KubeObject): KubeObject {
    return workload.spec.jobTargetRef?.template ?? workload.spec.template;
}

/** A running stand-in pod: its name (also its container's) and the files mounted into it. */
export interface LoaderPod {
    name: string;
    dir: string;
}

const LABEL = "swh-e2e.loader-pod";
const RUN_DIR = path.join(E2E, "loader-pods");

/** A Kubernetes binary quantity as Docker and tmpfs take it: 20Gi → 20g. */
function dockerSize(quantity: string): string {
    const m = /^(\d+)([KMG])i$/.exec(quantity);
    if (!m) throw new Error(`expected a quantity like 512Mi or 20Gi; got ${quantity}`);
    return `${m[1]}${m[2].toLowerCase()}`;
}

/** Writes a file the pod's user alone may read, as the kubelet's Secret and ConfigMap volumes here (0400). */
function podFile(file: string, text: string, uid: number, gid: number): void {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    fs.writeFileSync(file, text, { mode: 0o400 });
    fs.chownSync(file, uid, gid);
}

/**
 * Starts pod `name` of the loader: `image` in place of the template's (the program's is a preview's), and
 * `hosts` resolved as the cluster's DNS would (the statsd exporter's service name → 127.0.0.1).
 */
export function startLoaderPod(
    objects: LoaderObjects,
    image: string,
    name: string,
    hosts: Record<string, string>,
): LoaderPod {
    const namespace = objects.workload.metadata.namespace as string;
    const spec = podTemplate(objects.workload).spec;
    const container = spec.containers[0];
    const uid = spec.securityContext.runAsUser as number;
    const gid = spec.securityContext.runAsGroup as number;
    const dir = path.join(RUN_DIR, name);
    fs.rmSync(dir, { recursive: true, force: true });

    const env: Record<string, string> = {};
    for (const from of container.envFrom ?? []) {
        if (from.configMapRef?.name !== objects.env.metadata.name)
            throw new Error(`${name}: envFrom ${JSON.stringify(from)} is not the loader's env ConfigMap`);
        Object.assign(env, objects.env.data);
    }
    for (const e of container.env ?? []) {
        if (e.value !== undefined) env[e.name] = e.value;
        else if (e.valueFrom?.fieldRef) {
            const field = e.valueFrom.fieldRef.fieldPath;
            env[e.name] = field === "metadata.name" ? name : field === "metadata.namespace" ? namespace : "";
        } else if (e.valueFrom?.secretKeyRef)
            env[e.name] = objects.broker.stringData[e.valueFrom.secretKeyRef.key];
    }

    const mounts: string[] = [];
    let tmp: string | undefined;
    for (const m of container.volumeMounts) {
        const volume = spec.volumes.find((v: KubeObject) => v.name === m.name);
        if (volume.emptyDir) {
            tmp = `${m.mountPath}:rw,exec,size=${dockerSize(volume.emptyDir.sizeLimit ?? "1Gi")},mode=1777`;
            continue;
        }
        const data: Record<string, string> = volume.secret
            ? objects.broker.stringData
            : objects.logging!.data;
        const items: { key: string; path: string }[] =
            (volume.secret ?? volume.configMap).items ?? Object.keys(data).map((k) => ({ key: k, path: k }));
        for (const item of items) {
            const file = path.join(dir, m.name, item.path);
            podFile(file, data[item.key], uid, gid);
            mounts.push("-v", `${file}:${path.join(m.mountPath, item.path)}:ro`);
        }
    }

    spawnSync("docker", ["rm", "-f", name], { stdio: "ignore" });
    const [command, ...args] = container.command as string[];
    docker([
        "run", "-d", "--name", name, "--label", `${LABEL}=${objects.workload.metadata.name}`,
        // The pods' services are on this machine's loopback; the pod name is the host name, as in a pod
        // (Celery names its worker after it: two workers of one name would fight over one queue).
        "--network", "host", "--hostname", name,
        ...Object.entries(hosts).flatMap(([h, ip]) => ["--add-host", `${h}:${ip}`]),
        "--user", `${uid}:${gid}`,
        "--cap-drop", "ALL",
        ...(container.securityContext?.allowPrivilegeEscalation === false ? ["--security-opt", "no-new-privileges"] : []),
        "--memory", dockerSize(container.resources.limits.memory),
        ...(tmp ? ["--tmpfs", tmp] : []),
        ...Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]),
        ...mounts,
        "--entrypoint", command,
        image,
        ...args,
    ]); // prettier-ignore
    return { name, dir };
}

/** The pod's log so far (its container's stdout and stderr). */
export function podLog(pod: LoaderPod): string {
    const r = spawnSync("docker", ["logs", pod.name], { encoding: "utf8", maxBuffer: 64 * 2 ** 20 });
    return `${r.stdout}${r.stderr}`;
}

/** The pod's container's exit code once it has stopped; undefined while it runs. */
export function podExit(pod: LoaderPod): number | undefined {
    const [running, code] = docker(["inspect", "-f", "{{.State.Running}} {{.State.ExitCode}}", pod.name])
        .trim()
        .split(" ");
    return running === "false" ? Number(code) : undefined;
}

/** What a pod's deletion did: how long its preStop ran, and its container's exit code. */
export interface Deletion {
    preStopSeconds: number;
    exitCode: number;
}

/**
 * Deletes the pod as the kubelet does: its preStop hook (the template's), then SIGTERM, then SIGKILL once the
 * grace period (`terminationGracePeriodSeconds`, counted from the deletion) has passed.
 */
export function deleteLoaderPod(objects: LoaderObjects, pod: LoaderPod): Deletion {
    const spec = podTemplate(objects.workload).spec;
    const grace = spec.terminationGracePeriodSeconds as number;
    const started = Date.now();
    const preStop = spec.containers[0].lifecycle.preStop.exec.command as string[];
    spawnSync("docker", ["exec", pod.name, ...preStop], { stdio: "ignore", timeout: grace * 1000 });
    const preStopSeconds = (Date.now() - started) / 1000;
    const left = Math.max(2, Math.ceil(grace - preStopSeconds));
    spawnSync("docker", ["stop", "-t", String(left), pod.name], { stdio: "ignore" });
    const exitCode = Number(docker(["inspect", "-f", "{{.State.ExitCode}}", pod.name]).trim());
    return { preStopSeconds, exitCode };
}

/** Removes the loader's stand-in pods and their files. */
export function removeLoaderPods(workload: string): void {
    const ids = docker(["ps", "-aq", "--filter", `label=${LABEL}=${workload}`])
        .trim()
        .split("\n")
        .filter(Boolean);
    if (ids.length) spawnSync("docker", ["rm", "-f", ...ids], { stdio: "ignore" });
    fs.rmSync(RUN_DIR, { recursive: true, force: true });
}
