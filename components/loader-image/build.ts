import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ArgumentError } from "../common/errors";

/** The loader Dockerfile and entrypoint shipped with this package. */
export const LOADER_CONTEXT = path.resolve(__dirname, "..", "..", "images", "loader");

/** Docker Hub's registry address, the default push target. */
export const DOCKER_HUB = "docker.io";

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

/** Options {@link imagePlan} reads. */
export interface ImagePlanSpec {
    loader: string;
    packages: string[];
    baseImage: string;
    registry: string;
    repository: string;
    releaseDate?: string;
    pipIndexUrl?: string;
    contextDir: string;
}

const PIP_REQUIREMENT =
    /^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?(==|>=|<=|~=|!=|>|<)?[A-Za-z0-9.*+!_-]*$/;

/** Validates the image options and computes its repository, build args and tags. */
export function imagePlan(spec: ImagePlanSpec, key: (field: string) => string): ImagePlan {
    if (!/^[a-z0-9]+([._-][a-z0-9]+)*$/.test(spec.loader)) {
        throw new ArgumentError(key("loader"), 'a loader type like "git" or "svn"', spec.loader);
    }
    if (!Array.isArray(spec.packages) || spec.packages.length === 0) {
        throw new ArgumentError(
            key("packages"),
            'a non-empty list of pip requirements like "swh.loader.git==3.3.0"',
            spec.packages,
        );
    }
    spec.packages.forEach((p, i) => {
        if (typeof p !== "string" || !PIP_REQUIREMENT.test(p)) {
            throw new ArgumentError(
                key(`packages[${i}]`),
                'a pip requirement like "swh.loader.git==3.3.0"',
                p,
            );
        }
        if (!p.includes("==")) {
            throw new ArgumentError(
                key(`packages[${i}]`),
                "a pinned requirement (name==version), for reproducible images",
                p,
            );
        }
    });
    if (!/^[a-z0-9.-]+(:\d+)?$/.test(spec.registry)) {
        throw new ArgumentError(
            key("registry"),
            'a registry host like "docker.io" or "127.0.0.1:5000"',
            spec.registry,
        );
    }
    if (!/^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/.test(spec.repository)) {
        throw new ArgumentError(
            key("repository"),
            'a repository path like "softwareheritage/loader_git"',
            spec.repository,
        );
    }
    if (spec.releaseDate !== undefined && !/^\d{8}(\.\d+)?$/.test(spec.releaseDate)) {
        throw new ArgumentError(
            key("releaseDate"),
            'a date tag like "20261125" or "20261125.1"',
            spec.releaseDate,
        );
    }
    if (typeof spec.baseImage !== "string" || !/^[a-z0-9./:@_-]+$/.test(spec.baseImage)) {
        throw new ArgumentError(
            key("baseImage"),
            'an image reference like "python:3.11-bookworm"',
            spec.baseImage,
        );
    }
    if (!fs.existsSync(path.join(spec.contextDir, "Dockerfile"))) {
        throw new ArgumentError(key("context"), "a directory holding a Dockerfile", spec.contextDir);
    }
    const buildArgs: Record<string, string> = {
        BASE_IMAGE: spec.baseImage,
        SWH_PACKAGES: spec.packages.join(" "),
        ...(spec.pipIndexUrl ? { PIP_INDEX_URL: spec.pipIndexUrl } : {}),
    };
    const hash = contentHash(spec.contextDir, buildArgs);
    return {
        repository: `${spec.registry}/${spec.repository}`,
        buildArgs,
        tags: [hash.slice(0, 12), ...(spec.releaseDate ? [`${spec.releaseDate}.${hash.slice(0, 8)}`] : [])],
        contextDir: spec.contextDir,
    };
}
