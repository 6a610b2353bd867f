/** The arguments of LoaderImage: one schema for the type, the checks, the defaults and the docs. */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { imageReference, input, loaderType, registryHost } from "../common/schema";

/** Docker Hub's registry address, the default push target. */
export const DOCKER_HUB = "docker.io";
/** Where SWH publishes its images on Docker Hub. */
export const DEFAULT_REPOSITORY_NAMESPACE = "softwareheritage";

const PIP_REQUIREMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!_-]+$/;
/** A pip requirement pinned to one version, for reproducible images. */
export const pinnedRequirement = z
    .string()
    .regex(PIP_REQUIREMENT, 'expected a pinned requirement (name==version) like "swh.loader.git==3.3.0"');
/** One path component of a repository name (Docker's distribution rule). */
const SEGMENT = "[a-z0-9]+([._-][a-z0-9]+)*";
export const repositoryNamespace = z
    .string()
    .regex(new RegExp(`^${SEGMENT}$`), 'expected a repository namespace like "softwareheritage"');
export const releaseDate = z
    .string()
    .regex(/^\d{8}(\.\d+)?$/, 'expected a date tag like "20261125" or "20261125.1"');

/** What every loader image of a stack shares: where it is pushed and how it is built. */
export const imageSettingsSchema = z.strictObject({
    registry: registryHost.default(DOCKER_HUB).describe("Registry host (Docker Hub by default)."),
    username: input(z.string().min(1, "expected a user name"))
        .optional()
        .describe(
            "Registry user. Unset pushes without logging in (a local registry). Set, the loaders' pods pull with " +
                "the same login (registryPassword): an image pull Secret `loader-<type>-registry` per loader.",
        ),
    baseImage: imageReference
        .default("python:3.11-bookworm")
        .describe("Base image with Python 3, as SWH's images."),
    releaseDate: releaseDate
        .optional()
        .describe(
            'Release date tag ("20261125"), SWH\'s `<date>.<n>` convention; unset tags by content only.',
        ),
    pipIndexUrl: z
        .url()
        .optional()
        .describe("Package index for pip (a local mirror). Defaults to pip's own."),
    pipCaBundle: z
        .string()
        .min(1)
        .optional()
        .describe(
            "CA bundle file for pip behind a TLS-inspecting proxy; a build secret, not stored in the image.",
        ),
    builder: z
        .string()
        .min(1)
        .optional()
        .describe(
            "Buildx builder; \"default\" is the Docker engine's own BuildKit. Defaults to buildx's choice.",
        ),
    push: z
        .boolean()
        .default(true)
        .describe("Push the image; false only builds (the image has no digest then)."),
    buildOnPreview: z
        .boolean()
        .default(false)
        .describe(
            "Build during `pulumi preview` too (never pushed), so a broken Dockerfile or package pin fails the " +
                "preview. Off by default: the preview's build would pin its unpushed digest in a saved plan, which " +
                "`up --plan` (the deploy job) then finds changed unless builds are reproducible. Turn it on for " +
                "previews whose plan is not applied.",
        ),
});

export const loaderImageSchema = imageSettingsSchema.extend({
    loader: loaderType.describe('Loader type, e.g. "git"; names the repository `loader_<type>`.'),
    packages: z
        .array(pinnedRequirement)
        .min(1, "expected a non-empty list of pinned packages")
        .describe('Pinned pip requirements of the loader ("swh.loader.git==3.3.0").'),
    repository: z
        .string()
        .regex(
            new RegExp(`^${SEGMENT}(/${SEGMENT})*$`),
            'expected a repository path like "softwareheritage/loader_git"',
        )
        .optional()
        .describe(`Repository path. Defaults to "${DEFAULT_REPOSITORY_NAMESPACE}/loader_<loader>".`),
    context: z.string().min(1).optional().describe("Build context. Defaults to the shipped `images/loader`."),
});

/** Arguments of {@link LoaderImage}: the schema's fields and the registry password. */
export type LoaderImageArgs = z.input<typeof loaderImageSchema> & {
    /** Registry password or access token. Secret. */
    password?: pulumi.Input<string>;
};
