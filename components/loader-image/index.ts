import * as dockerbuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import { ArgumentError, argKey } from "../common/errors";
import { DOCKER_HUB, ImagePlan, LOADER_CONTEXT, imagePlan } from "./build";

export * from "./build";

/** Arguments of {@link LoaderImage}. */
export interface LoaderImageArgs {
    /** Loader type, e.g. "git"; names the repository `loader_<type>`. */
    loader: string;
    /** Pinned pip requirements of the loader ("swh.loader.git==3.3.0"). At least one. */
    packages: string[];
    /** Base image with Python 3. Defaults to "python:3.11-bookworm", as SWH's images. */
    baseImage?: string;
    /** Registry host. Defaults to "docker.io" (Docker Hub). */
    registry?: string;
    /** Repository path. Defaults to "softwareheritage/loader_<loader>". */
    repository?: string;
    /** Registry user. Unset pushes without logging in (e.g. a local registry). */
    username?: pulumi.Input<string>;
    /** Registry password or access token. Secret. */
    password?: pulumi.Input<string>;
    /** Release date tag ("20261125"), SWH's `<date>.<n>` convention; unset tags by content only. */
    releaseDate?: string;
    /** Package index for pip (a local mirror). Defaults to pip's own. */
    pipIndexUrl?: string;
    /** CA bundle file for pip behind a TLS-inspecting proxy; a build secret, not stored in the image. */
    pipCaBundle?: string;
    /** Buildx builder; "default" is the Docker engine's own BuildKit (no builder image to pull). Defaults to buildx's choice. */
    builder?: string;
    /** Build context. Defaults to the shipped `images/loader`. */
    context?: string;
    /** Push the image. Defaults to true; false only builds (the image has no digest then). */
    push?: boolean;
}

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
        const registry = args.registry ?? DOCKER_HUB;
        const pipCa = readCaBundle(args.pipCaBundle, argKey("LoaderImage", name)("pipCaBundle"));
        const plan = imagePlan(
            {
                loader: args.loader,
                packages: args.packages,
                baseImage: args.baseImage ?? "python:3.11-bookworm",
                registry,
                repository: args.repository ?? `softwareheritage/loader_${args.loader}`,
                releaseDate: args.releaseDate,
                pipIndexUrl: args.pipIndexUrl,
                contextDir: args.context ?? LOADER_CONTEXT,
            },
            argKey("LoaderImage", name),
        );
        super("swh:elastic:LoaderImage", name, {}, opts);
        this.plan = plan;
        const push = args.push ?? true;
        this.image = new dockerbuild.Image(
            `${name}-image`,
            {
                context: { location: this.plan.contextDir },
                buildArgs: this.plan.buildArgs,
                tags: this.plan.tags.map((t) => `${this.plan.repository}:${t}`),
                platforms: ["linux/amd64"],
                push,
                // MR previews plan the image without building it; `up` builds.
                buildOnPreview: false,
                ...(args.builder ? { builder: { name: args.builder } } : {}),
                ...(pipCa ? { secrets: { "pip-ca": pulumi.secret(pipCa) } } : {}),
                registries: args.username
                    ? [
                          {
                              address: registry,
                              username: args.username,
                              password: pulumi.secret(args.password ?? ""),
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
