/**
 * Turns a prepared test host into a real node of the box: what RKE2's agent would do on it, done with the same
 * parts from elsewhere (RKE2 cannot be built here: the proxy refuses its modules). Debian's containerd and
 * runc, the kubelet built from k8s.io/kubernetes started with exactly the `kubelet-arg` list the preparation
 * wrote (read back from the host's drop-in, as the agent merges it), flannel with the pool's backend, and the
 * bridge configuration flannel's CNI plugin derives from its subnet file. The kubelet reaches the box's API server
 * through an SSH tunnel (the API server listens on this machine's loopback).
 */
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { toolsBin } from "../engine/env";
import { Box, CLUSTER_CIDR, PORTS } from "../box/box";
import { nodeClientCert } from "../box/pki";
import { versions } from "../box/services";
import { stopByPidFile, until } from "../supervisor";
import { HOSTS_DIR, NODE_RUNTIME_PACKAGES, TestHost, docker, onHost, sshArgs, writeOnHost } from "./hosts";
import { RegistryAccess, registryDigest } from "../e2e/env";
import { ROOT } from "../engine/env";

/** The image the nodes run: their pod sandbox (as the pause image) and the test pods. */
export const POD_IMAGE = "swh-e2e/busybox:1";
/** The same image as containerd names it. */
export const POD_IMAGE_REF = `docker.io/${POD_IMAGE}`;

/**
 * The port of a registry on this machine that the nodes pull from: the node's 127.0.0.1:<port> is forwarded to
 * this machine's through the node's SSH tunnel (nodes cannot reach this machine's loopback otherwise).
 */
export const NODE_REGISTRY_PORT = 25055;

/** The pod image in the Docker engine (test/rig/hosts/pod-image.sh: Debian's static busybox; cached). */
export function ensurePodImage(): void {
    execFileSync(path.join(ROOT, "test/rig/hosts/pod-image.sh"), [POD_IMAGE], { stdio: "inherit" });
}

/** Where RKE2's agent reads its config drop-ins; the preparation writes the kubelet's there. */
const DROP_IN_DIR = "/etc/rancher/rke2/config.yaml.d";

/**
 * The kubelet arguments of RKE2 config files, merged as its agent merges them: in file-name order, a
 * `kubelet-arg` replaces what came before and a `kubelet-arg+` appends to it.
 */
export function mergeKubeletArgs(files: { name: string; text: string }[]): string[] {
    const args: string[] = [];
    for (const f of [...files].sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const doc = (YAML.parse(f.text) ?? {}) as Record<string, string[] | undefined>;
        if (doc["kubelet-arg"]) args.splice(0, args.length, ...doc["kubelet-arg"]);
        args.push(...(doc["kubelet-arg+"] ?? []));
    }
    return args;
}

/** The kubelet arguments the host's config drop-ins give. */
export function kubeletArgsOnHost(host: TestHost): string[] {
    const names = onHost(host, `ls ${DROP_IN_DIR}/*.yaml`).trim().split("\n");
    return mergeKubeletArgs(names.map((name) => ({ name, text: onHost(host, `cat ${name}`) })));
}

/** The network address of flannel's FLANNEL_SUBNET (10.42.1.1/24 → 10.42.1.0/24), as its CNI plugin writes it. */
export function subnetOf(cidr: string): string {
    const [ip, bits] = cidr.split("/");
    const n = ip.split(".").reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;
    const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
    const net = (n & mask) >>> 0;
    return `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join(".")}/${bits}`;
}

function unit(description: string, exec: string[], env: Record<string, string> = {}): string {
    return [
        "[Unit]",
        `Description=${description}`,
        "After=containerd.service",
        "[Service]",
        ...Object.entries(env).map(([k, v]) => `Environment=${k}=${v}`),
        `ExecStart=${exec.map((a) => (/[\s;<>]/.test(a) ? `"${a}"` : a)).join(" ")}`,
        "Restart=always",
        "RestartSec=2",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ].join("\n");
}

export interface RealNode {
    name: string;
    host: TestHost;
    /** The node's address on the hosts' network (Docker's bridge). */
    ip: string;
    /** The kubelet's arguments from the preparation, as passed. */
    kubeletArgs: string[];
    /** The container runtime it runs: which containerd and runc. */
    runtime: string;
}

/**
 * Makes `host` a node of the box. `flannelBackend` is the pool's (the program's `flannelBackend`). Prints each
 * step; returns once the node is Ready.
 */
export async function joinBox(
    box: Box,
    host: TestHost,
    opts: { flannelBackend: string; labels?: Record<string, string> },
): Promise<RealNode> {
    const say = (what: string) => console.log(`      ${host.name}: ${what}`);
    const bin = toolsBin();
    const ip = docker(["inspect", "-f", "{{.NetworkSettings.IPAddress}}", host.container]).trim();

    say("container runtime (Debian's containerd and runc) and cgroups writable, as on a VM");
    // Docker mounts a container's cgroup v1 controllers read-only and they cannot be remounted while busy:
    // mount each again, in the host's own cgroup namespace.
    onHost(host, [
        "for d in /sys/fs/cgroup/*; do",
        '  n=${d##*/}; [ -L "$d" ] && continue; [ "$n" = unified ] && continue',
        '  o=$n; [ "$n" = systemd ] && o=none,name=systemd',
        '  if grep -q " $d cgroup ro," /proc/mounts; then umount -l "$d"; mount -t cgroup -o "$o" cgroup "$d"; fi',
        "done",
        `DEBIAN_FRONTEND=noninteractive apt-get install -q -y --no-install-recommends ${NODE_RUNTIME_PACKAGES.join(" ")} >/dev/null`,
    ].join("\n")); // prettier-ignore
    // This machine gives no container CAP_SYS_RESOURCE, so nothing here can lower an OOM score below its own:
    // containerd caps the scores it sets at its own (0) instead of failing every sandbox.
    writeOnHost(
        host,
        "/etc/containerd/config.toml",
        [
            "version = 2",
            '[plugins."io.containerd.grpc.v1.cri"]',
            "  restrict_oom_score_adj = true",
            `  sandbox_image = "${POD_IMAGE_REF}"`,
            '  [plugins."io.containerd.grpc.v1.cri".cni]',
            '    bin_dir = "/opt/cni/bin"',
            '    conf_dir = "/etc/cni/net.d"',
            '  [plugins."io.containerd.grpc.v1.cri".registry]',
            '    config_path = "/etc/containerd/certs.d"',
            "",
        ].join("\n"),
    );
    // The tunnelled registry speaks plain HTTP, as RKE2's registries.yaml would declare it.
    const registry = `127.0.0.1:${NODE_REGISTRY_PORT}`;
    writeOnHost(
        host,
        `/etc/containerd/certs.d/${registry}/hosts.toml`,
        `server = "http://${registry}"\n[host."http://${registry}"]\n  capabilities = ["pull", "resolve"]\n`,
    );
    // Debian 11's containerd (1.4) has no CRI v1 API, which every kubelet since 1.26 needs: there, the
    // containerd built by bootstrap.sh (RKE2 bundles its own too), still with Debian's runc.
    const debian = onHost(host, "containerd --version").split(" ")[2] ?? "";
    const [major, minor] = debian.split(/[.~]/).map(Number);
    let runtime = `Debian's containerd ${debian}, runc ${onHost(host, "runc --version").split("\n")[0].split(" ")[2]}`;
    if (major < 1 || (major === 1 && minor < 6)) {
        docker([
            "cp",
            "-L",
            path.join(bin, "node-containerd"),
            `${host.container}:/usr/local/bin/containerd`,
        ]);
        const shim = "containerd-shim-runc-v2";
        docker(["cp", "-L", path.join(bin, `node-${shim}`), `${host.container}:/usr/local/bin/${shim}`]);
        writeOnHost(
            host,
            "/etc/systemd/system/containerd.service.d/built.conf",
            "[Service]\nExecStart=\nExecStart=/usr/local/bin/containerd\n",
        );
        onHost(host, "systemctl daemon-reload");
        runtime = runtime.replace(
            /Debian's containerd [^,]+/,
            `containerd ${versions().CONTAINERD_VERSION} (Debian's ${debian} has no CRI v1)`,
        );
    }
    onHost(host, "systemctl restart containerd");
    say(`runtime: ${runtime}`);
    ensurePodImage();
    const image = execFileSync("docker", ["save", POD_IMAGE], { maxBuffer: 64 * 2 ** 20 });
    docker(["exec", "-i", host.container, "ctr", "-n", "k8s.io", "images", "import", "-"], image);

    say("kubelet, flanneld and the CNI plugins");
    docker(["cp", "-L", path.join(bin, "kubelet"), `${host.container}:/usr/local/bin/kubelet`]);
    docker(["cp", "-L", path.join(bin, "flanneld"), `${host.container}:/usr/local/bin/flanneld`]);
    onHost(host, "mkdir -p /opt/cni/bin /etc/cni/net.d /var/lib/kubelet");
    for (const plugin of ["bridge", "host-local", "loopback", "portmap"])
        docker(["cp", "-L", path.join(bin, `cni-${plugin}`), `${host.container}:/opt/cni/bin/${plugin}`]);

    say(
        `API server and registry through an SSH tunnel (the host's 127.0.0.1:${PORTS.apiserver} and ` +
            `:${NODE_REGISTRY_PORT})`,
    );
    const cert = nodeClientCert(box.pki, host.name);
    const b64 = (f: string) => fs.readFileSync(f).toString("base64");
    const kubeconfig = YAML.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
            {
                name: "box",
                cluster: { server: box.server, "certificate-authority-data": b64(box.pki.ca) },
            },
        ],
        users: [
            {
                name: host.name,
                user: { "client-certificate-data": b64(cert.cert), "client-key-data": b64(cert.key) },
            },
        ],
        contexts: [{ name: "box", context: { cluster: "box", user: host.name } }],
        "current-context": "box",
    });
    writeOnHost(host, "/var/lib/kubelet/kubeconfig", kubeconfig, "0600");
    // flannel runs with the node's credentials and watches every node, as k3s's embedded flannel may
    // (its ClusterRole system:k3s-controller); the Node authorizer alone lets a node read only what it needs.
    await box.kube.ensure("/apis/rbac.authorization.k8s.io/v1/clusterroles", {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: "swh-e2e-flannel" },
        rules: [
            { apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "watch"] },
            { apiGroups: [""], resources: ["nodes/status"], verbs: ["patch"] },
        ],
    });
    await box.kube.ensure("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "swh-e2e-flannel" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "swh-e2e-flannel" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:nodes" }],
    });
    startTunnel(host);

    say("kubelet, with the preparation's kubelet-arg list");
    const kubeletArgs = kubeletArgsOnHost(host);
    const labels = Object.entries(opts.labels ?? {}).map(([k, v]) => `${k}=${v}`);
    writeOnHost(
        host,
        "/etc/systemd/system/kubelet.service",
        unit("kubelet (as RKE2's agent starts it)", [
            "/usr/local/bin/kubelet",
            "--kubeconfig=/var/lib/kubelet/kubeconfig",
            "--container-runtime-endpoint=unix:///run/containerd/containerd.sock",
            "--cgroup-driver=cgroupfs",
            // This machine's kernel runs cgroup v1, which kubelets since 1.35 refuse unless told.
            "--fail-cgroupv1=false",
            `--hostname-override=${host.name}`,
            `--node-ip=${ip}`,
            ...(labels.length ? [`--node-labels=${labels.join(",")}`] : []),
            ...kubeletArgs.map((a) => `--${a}`),
        ]),
    );
    writeOnHost(
        host,
        "/etc/kube-flannel/net-conf.json",
        JSON.stringify({ Network: CLUSTER_CIDR, Backend: { Type: opts.flannelBackend } }),
    );
    writeOnHost(
        host,
        "/etc/systemd/system/flanneld.service",
        unit(
            "flannel",
            [
                "/usr/local/bin/flanneld",
                "--kube-subnet-mgr",
                "--kubeconfig-file=/var/lib/kubelet/kubeconfig",
                "--iface=eth0",
                "--ip-masq",
            ],
            { NODE_NAME: host.name },
        ),
    );
    onHost(host, "systemctl daemon-reload && systemctl enable --now --quiet kubelet flanneld");

    say(`flannel (${opts.flannelBackend}): the node's pod subnet`);
    const subnetEnv = await until(`${host.name}: /run/flannel/subnet.env`, 90, () => {
        const text = onHost(host, "cat /run/flannel/subnet.env 2>/dev/null || true");
        return /FLANNEL_SUBNET=/.test(text) ? text : undefined;
    });
    const env = Object.fromEntries(
        subnetEnv
            .trim()
            .split("\n")
            .map((l) => l.split("=") as [string, string]),
    );
    writeOnHost(
        host,
        "/etc/cni/net.d/10-flannel.conflist",
        JSON.stringify({
            cniVersion: "1.0.0",
            name: "cbr0",
            plugins: [
                {
                    type: "bridge",
                    bridge: "cni0",
                    isGateway: true,
                    ipMasq: false,
                    hairpinMode: true,
                    mtu: Number(env.FLANNEL_MTU),
                    ipam: {
                        type: "host-local",
                        ranges: [[{ subnet: subnetOf(env.FLANNEL_SUBNET) }]],
                        routes: [{ dst: env.FLANNEL_NETWORK }],
                    },
                },
                { type: "portmap", capabilities: { portMappings: true } },
            ],
        }),
    );
    await until(`${host.name}: node Ready`, 120, async () => {
        const node = await box.kube.find(`/api/v1/nodes/${host.name}`);
        const ready = (node?.status?.conditions ?? []).find((c: { type: string }) => c.type === "Ready");
        return ready?.status === "True";
    });
    say("node Ready");
    return { name: host.name, host, ip, kubeletArgs, runtime };
}

function tunnelPidFile(host: TestHost): string {
    return path.join(HOSTS_DIR, `${host.name}-tunnel.pid`);
}

/**
 * Forwards the host's 127.0.0.1:<apiserver port> to the box's API server, and its :NODE_REGISTRY_PORT to this
 * machine's, over the run's SSH key.
 */
function startTunnel(host: TestHost): void {
    const pidFile = tunnelPidFile(host);
    stopByPidFile(pidFile);
    const log = fs.openSync(path.join(HOSTS_DIR, `${host.name}-tunnel.log`), "a");
    const child = spawn(
        "ssh",
        [
            ...sshArgs(host),
            "-N",
            "-o",
            "ExitOnForwardFailure=yes",
            "-o",
            "ServerAliveInterval=10",
            "-R",
            `${PORTS.apiserver}:127.0.0.1:${PORTS.apiserver}`,
            "-R",
            `${NODE_REGISTRY_PORT}:127.0.0.1:${NODE_REGISTRY_PORT}`,
            `${host.user}@${host.address}`,
        ],
        { detached: true, stdio: ["ignore", log, log] },
    );
    child.unref();
    fs.writeFileSync(pidFile, String(child.pid));
}

/** Stops a node's tunnel (the container goes with stopHosts). */
export function stopTunnel(host: TestHost): void {
    stopByPidFile(tunnelPidFile(host));
}

/**
 * Pushes the pod image, under an id of its own (a label), to `reg` as `repository`; returns the digest-pinned
 * reference. Its own id, not the pod image's: a kubelet checks the credentials of an image pulled with a Secret
 * again (KEP-2535), so pushing the image every test pod runs would stop the pods without that Secret.
 */
export function pushPodImage(reg: RegistryAccess, repository: string): string {
    ensurePodImage();
    const tag = `${reg.address}/${repository}:${Date.now()}`;
    const container = docker(["create", POD_IMAGE]).trim();
    const config = fs.mkdtempSync(path.join(HOSTS_DIR, "docker-config-"));
    try {
        docker(["commit", "-c", `LABEL swh-e2e.pushed=${tag}`, container, tag]);
        execFileSync(
            "docker",
            ["--config", config, "login", "-u", reg.username, "--password-stdin", reg.address],
            {
                input: reg.password,
                stdio: ["pipe", "ignore", "inherit"],
            },
        );
        execFileSync("docker", ["--config", config, "push", "-q", tag], {
            stdio: ["ignore", "ignore", "inherit"],
        });
    } finally {
        fs.rmSync(config, { recursive: true, force: true });
        docker(["rm", container]);
    }
    const digest = registryDigest(reg, repository, tag.slice(tag.lastIndexOf(":") + 1));
    if (!digest) throw new Error(`${tag}: the registry gives no digest after the push`);
    return `${reg.address}/${repository}@${digest}`;
}
