import * as dockerbuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import { ArgumentError, argKey } from "../common/errors";
import { parseArgs } from "../common/schema";
import { LoaderImageArgs, loaderImageSchema } from "./args";
import { ImagePlan, LOADER_CONTEXT, imagePlan } from "./build";

export * from "./args";
export { ImagePlan, LOADER_CONTEXT, imagePlan } from "./build";
export { prebuiltImageRef } from "./prebuilt";

/**
 * Builds the loader image for one loader type and pushes it with credentials; outputs a digest-pinned
 * reference for KedaScaledLoader, so a Deployment never runs a tag that moved.
 */
export class LoaderImage extends pulumi.ComponentResource {
    public readonly image: dockerbuild.Image;
    /** The checked build settings (repository, tags, build args). */
    public readonly plan: ImagePlan;
    /** `registry/repository@sha256:...`. */
    public readonly ref: pulumi.Output<string>;
    /** `sha256:...` of the pushed manifest. */
    public readonly digest: pulumi.Output<string>;

    constructor(name: string, args: LoaderImageArgs, opts?: pulumi.ComponentResourceOptions) {
        const key = argKey("LoaderImage", name);
        const { password, ...settings } = args;
        const s = parseArgs(loaderImageSchema, settings, key);
        const pipCa = readCaBundle(s.pipCaBundle, key("pipCaBundle"));
        const plan = imagePlan({ ...s, contextDir: s.context ?? LOADER_CONTEXT }, key);
        super("swh:elastic:LoaderImage", name, {}, opts);
        this.plan = plan;
        this.image = new dockerbuild.Image(
            `${name}-image`,
            {
                context: { location: this.plan.contextDir },
                buildArgs: this.plan.buildArgs,
                tags: this.plan.tags.map((t) => `${this.plan.repository}:${t}`),
                platforms: ["linux/amd64"],
                // The registry export rather than the `push` shorthand: docker-build 0.0.22 takes `push: true`
                // for an unknown input in a preview (its buildable() compares the inputs with the export the
                // shorthand adds) and skips the preview build. A preview never pushes either way.
                push: false,
                exports: s.push ? [{ registry: {} }] : [{ cacheonly: {} }],
                buildOnPreview: s.buildOnPreview,
                ...(s.builder ? { builder: { name: s.builder } } : {}),
                ...(pipCa ? { secrets: { "pip-ca": pulumi.secret(pipCa) } } : {}),
                registries: s.username
                    ? [
                          {
                              address: s.registry,
                              username: s.username,
                              password: pulumi.secret(password ?? ""),
                          },
                      ]
                    : [],
            },
            { parent: this },
        );
        this.digest = this.image.digest;
        this.ref = pulumi.interpolate`${this.plan.repository}@${this.image.digest}`;
        this.registerOutputs({ ref: this.ref, digest: this.digest, tags: this.plan.tags });
    }
}

/** Reads a PEM CA bundle, or throws naming the argument. */
function readCaBundle(file: string | undefined, key: string): string | undefined {
    if (file === undefined) return undefined;
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch {
        throw new ArgumentError(key, "a readable PEM CA bundle file", file);
    }
    if (!text.includes("BEGIN CERTIFICATE"))
        throw new ArgumentError(key, "a PEM CA bundle (BEGIN CERTIFICATE)", file);
    return text;
}
