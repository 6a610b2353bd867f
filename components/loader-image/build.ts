import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { versions } from "../common/versions";
import { ArgumentError } from "../common/errors";
import { parseArgs } from "../common/schema";
import { DEFAULT_REPOSITORY_NAMESPACE, loaderImageSchema } from "./args";

/** The loader Dockerfile and entrypoint shipped with this package. */
export const LOADER_CONTEXT = path.resolve(__dirname, "..", "..", "images", "loader");

/** Files of a build context, relative and sorted, so the hash does not depend on directory order. */
function contextFiles(dir: string, prefix = ""): string[] {
    return fs
        .readdirSync(path.join(dir, prefix), { withFileTypes: true })
        .flatMap((e) => {
            const rel = path.posix.join(prefix, e.name);
            return e.isDirectory() ? contextFiles(dir, rel) : e.isFile() ? [rel] : [];
        })
        .sort();
}

/**
 * Content hash of an image: every file of the context, the base image and the build args. Same inputs,
 * same tag, so an unchanged image is neither rebuilt under a new name nor pushed again.
 */
export function contentHash(contextDir: string, buildArgs: Record<string, string>): string {
    const h = crypto.createHash("sha256");
    for (const file of contextFiles(contextDir)) {
        h.update(`file ${file}\n`);
        h.update(fs.readFileSync(path.join(contextDir, file)));
        h.update("\n");
    }
    for (const [k, v] of Object.entries(buildArgs).sort(([a], [b]) => a.localeCompare(b))) {
        h.update(`arg ${k}=${v}\n`);
    }
    return h.digest("hex");
}

/** The checked settings of one loader image. */
export interface ImagePlan {
    /** registry/repository, e.g. docker.io/softwareheritage/loader_git. */
    repository: string;
    buildArgs: Record<string, string>;
    /** Tags pushed: `<hash12>` always, `<releaseDate>.<hash8>` when a release date is given (SWH's date tags). */
    tags: string[];
    contextDir: string;
}

/** Options {@link imagePlan} reads: the image's settings, parsed or not, and where its context is. */
export type ImagePlanSpec = Pick<
    z.input<typeof loaderImageSchema>,
    "loader" | "packages" | "baseImage" | "registry" | "repository" | "releaseDate" | "pipIndexUrl"
> & { contextDir: string };

const planSchema = loaderImageSchema.pick({
    loader: true,
    packages: true,
    baseImage: true,
    registry: true,
    repository: true,
    releaseDate: true,
    pipIndexUrl: true,
});

/** Validates the image options and computes its repository, build args and tags. */
export function imagePlan(spec: ImagePlanSpec, key: (field: string) => string): ImagePlan {
    const { contextDir, loader, packages, baseImage, registry, repository, releaseDate, pipIndexUrl } = spec;
    const settings = { loader, packages, baseImage, registry, repository, releaseDate, pipIndexUrl };
    const s = parseArgs(planSchema, settings, key);
    if (!fs.existsSync(path.join(contextDir, "Dockerfile"))) {
        throw new ArgumentError(key("context"), "a directory holding a Dockerfile", contextDir);
    }
    // SWH's JSON logging (the loaders' SWH_LOG_CONFIG) needs python-json-logger; the operator's own pin wins.
    const jsonLogger = s.packages.some((p) => /^python[-_.]json[-_.]logger==/i.test(p))
        ? []
        : [`python-json-logger==${versions.pythonJsonLogger}`];
    const buildArgs: Record<string, string> = {
        BASE_IMAGE: s.baseImage,
        SWH_PACKAGES: [...s.packages, ...jsonLogger].join(" "),
        ...(s.pipIndexUrl ? { PIP_INDEX_URL: s.pipIndexUrl } : {}),
    };
    const hash = contentHash(contextDir, buildArgs);
    const repositoryPath = s.repository ?? `${DEFAULT_REPOSITORY_NAMESPACE}/loader_${s.loader}`;
    return {
        repository: `${s.registry}/${repositoryPath}`,
        buildArgs,
        tags: [hash.slice(0, 12), ...(s.releaseDate ? [`${s.releaseDate}.${hash.slice(0, 8)}`] : [])],
        contextDir,
    };
}
