/**
 * Pulumi mocks that record what the engine would receive: every registered resource with its serialized
 * inputs (secrets still wrapped), its parent and its dependencies. Tests assert on these records.
 */
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { createHash } from "crypto";

const SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** One resource as the engine would see it. */
export interface Recorded {
    type: string;
    name: string;
    urn: string;
    parent: string;
    /** Inputs as serialized for the engine: secrets are `{ SIG: SECRET_SIG, value }` objects. */
    raw: Record<string, unknown>;
    /** Inputs with secrets unwrapped. */
    // any: provider inputs are arbitrary JSON, navigated freely by assertions.
    inputs: Record<string, any>;
    /** URNs this resource depends on (explicit dependsOn and through its inputs). */
    dependencies: string[];
    provider: string;
    custom: boolean;
    /** Pulumi's `protect` option. */
    protect: boolean;
}

export function isSecretValue(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG] === SECRET_SIG;
}

/** Unwraps secrets recursively. */
// any: the unwrapped value is arbitrary JSON.
export function unwrap(v: unknown): any {
    if (isSecretValue(v)) return unwrap(v.value);
    if (Array.isArray(v)) return v.map(unwrap);
    if (v && typeof v === "object")
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)]));
    return v;
}

/** Is the value at `path` (e.g. ["values", "bootstrapPassword"]) wrapped as a secret, itself or an ancestor? */
export function isSecretAt(raw: unknown, path: (string | number)[]): boolean {
    let cur: unknown = raw;
    for (const p of path) {
        if (isSecretValue(cur)) return true;
        if (cur === null || typeof cur !== "object") return false;
        cur = (cur as Record<string | number, unknown>)[p];
    }
    return isSecretValue(cur);
}

/** Every string in `raw` that is not inside a secret wrapper. */
export function plainStrings(raw: unknown, out: string[] = []): string[] {
    if (isSecretValue(raw)) return out;
    if (typeof raw === "string") out.push(raw);
    else if (Array.isArray(raw)) raw.forEach((x) => plainStrings(x, out));
    else if (raw && typeof raw === "object") Object.values(raw).forEach((x) => plainStrings(x, out));
    return out;
}

/** A fake digest, stable per name. */
export function fakeDigest(seed: string): string {
    return `sha256:${createHash("sha256").update(seed).digest("hex")}`;
}

export const FAKE_KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
  - name: default
    cluster:
      server: https://127.0.0.1:6443
      certificate-authority-data: Zm9v
users:
  - name: default
    user:
      token: fake-token
contexts:
  - name: default
    context: { cluster: default, user: default }
current-context: default
`;

export const FAKE_NODE_COMMAND =
    "curl -fL https://rancher.test/system-agent-install.sh | sudo sh -s - --server https://rancher.test " +
    "--label 'cattle.io/os=linux' --token faketoken --ca-checksum 0123";

/** Outputs the providers would compute, for the resources whose outputs the program reads. */
function outputsFor(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
    switch (type) {
        case "docker-build:index:Image":
            return {
                ...inputs,
                digest: fakeDigest(name),
                ref: `${(inputs.tags as string[])[0]}@${fakeDigest(name)}`,
            };
        case "command:remote:Command":
        case "command:local:Command":
            return { ...inputs, stdout: name.endsWith("-kubeconfig") ? FAKE_KUBECONFIG : "", stderr: "" };
        case "rancher2:index/clusterV2:ClusterV2":
            return {
                ...inputs,
                clusterV1Id: "c-m-test",
                kubeConfig: FAKE_KUBECONFIG,
                clusterRegistrationToken: { nodeCommand: FAKE_NODE_COMMAND, token: "faketoken" },
            };
        case "rancher2:index/clusterSync:ClusterSync":
            return { ...inputs, kubeConfig: FAKE_KUBECONFIG };
        case "rancher2:index/bootstrap:Bootstrap":
            return {
                ...inputs,
                token: "token-abcde:fakeadmintoken",
                url: "https://rancher.test",
                user: "admin",
            };
        default:
            return inputs;
    }
}

export class Recorder {
    readonly resources: Recorded[] = [];
    /** Invokes (data sources) the program made, in order. */
    readonly calls: { token: string; inputs: Record<string, unknown> }[] = [];

    /** Resources of a type, optionally whose name ends with `suffix`. */
    ofType(type: string): Recorded[] {
        return this.resources.filter((r) => r.type === type);
    }

    /** The one resource named `name`; throws listing the names when absent. */
    named(name: string): Recorded {
        const r = this.resources.find((x) => x.name === name);
        if (!r)
            throw new Error(
                `no resource named ${name}; have: ${this.resources.map((x) => x.name).join(", ")}`,
            );
        return r;
    }

    /** Names of the resources `name` depends on. */
    dependenciesOf(name: string): string[] {
        const deps = this.named(name).dependencies;
        return this.resources.filter((r) => deps.includes(r.urn)).map((r) => r.name);
    }

    /** Names of the direct children of `name`. */
    childrenOf(name: string): string[] {
        const urn = this.named(name).urn;
        return this.resources.filter((r) => r.parent === urn).map((r) => r.name);
    }
}

/** The docker provider's registry lookup (getRegistryImage). */
export const REGISTRY_IMAGE_TOKEN = "docker:index/getRegistryImage:getRegistryImage";

/** What a registry answers for a tag under mocks: a digest derived from the reference, so each tag has its own. */
export function registryImage(name: string) {
    return { id: name, name, sha256Digest: `sha256:${createHash("sha256").update(name).digest("hex")}` };
}

/**
 * Runs `program` under mocks with the given config and returns what it registered. `secretKeys` are the
 * config keys set as secrets. Waits until every registration has settled.
 */
export async function runUnderMocks<T>(
    program: () => T,
    opts: {
        config?: Record<string, string>;
        secretKeys?: string[];
        preview?: boolean;
        project?: string;
        /** Outputs a provider would compute for a resource, over the default ones (undefined: the defaults). */
        outputs?: (
            type: string,
            name: string,
            inputs: Record<string, unknown>,
        ) => Record<string, unknown> | undefined;
    } = {},
): Promise<{ recorder: Recorder; result: T }> {
    const recorder = new Recorder();
    // Stack transforms (registerResourceTransform) reach the mocks here; the engine applies them to each
    // registration, and so does the recorder below (synchronous transforms only, as the program's are).
    const stackTransforms: pulumi.ResourceTransform[] = [];
    pulumi.runtime.setAllConfig(opts.config ?? {}, opts.secretKeys ?? []);
    await pulumi.runtime.setMocks(
        {
            registerTransform: (t: pulumi.ResourceTransform) => stackTransforms.push(t),
            newResource: (args: pulumi.runtime.MockResourceArgs) => ({
                id: `${args.name}-id`,
                state: {
                    ...outputsFor(args.type, args.name, args.inputs),
                    ...opts.outputs?.(args.type, args.name, args.inputs),
                },
            }),
            call: (args: pulumi.runtime.MockCallArgs) => {
                recorder.calls.push({ token: args.token, inputs: args.inputs });
                return args.token === REGISTRY_IMAGE_TOKEN ? registryImage(args.inputs.name) : args.inputs;
            },
        },
        opts.project ?? "elastic-workers",
        "test",
        opts.preview ?? false,
    );
    type Req = {
        getType(): string;
        getName(): string;
        getParent(): string;
        getDependenciesList(): string[];
        getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
        getProvider(): string;
        getCustom(): boolean;
        getProtect(): boolean;
    };
    type Monitor = {
        registerResource(req: Req, cb: (err: unknown, res?: { getUrn(): string }) => void): unknown;
    };
    const monitor = settings.getMonitor() as unknown as Monitor;
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) =>
        original(req, (err, res) => {
            if (!err && res) {
                const raw = req.getObject()?.toJavaScript() ?? {};
                recorder.resources.push({
                    type: req.getType(),
                    name: req.getName(),
                    urn: res.getUrn(),
                    parent: req.getParent(),
                    raw,
                    inputs: unwrap(raw),
                    dependencies: req.getDependenciesList(),
                    provider: req.getProvider(),
                    custom: req.getCustom(),
                    protect: stackTransforms.reduce((protect, t) => {
                        const out = t({
                            type: req.getType(),
                            name: req.getName(),
                            custom: req.getCustom(),
                            props: raw,
                            opts: { protect },
                        });
                        return out && !(out instanceof Promise) ? Boolean(out.opts?.protect) : protect;
                    }, req.getProtect()),
                });
            }
            cb(err, res);
        });
    const result = program();
    await (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    return { recorder, result };
}

/** The value of an Output, and whether it is secret. */
export async function resolve<T>(o: pulumi.Output<T>): Promise<{ value: T; secret: boolean }> {
    const value = await new Promise<T>((res) => o.apply((v) => res(v)));
    return { value, secret: await pulumi.isSecret(o) };
}
