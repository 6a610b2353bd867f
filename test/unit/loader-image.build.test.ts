import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { contentHash, imagePlan, LOADER_CONTEXT } from "../../components/loader-image/build";

describe("loader image", () => {
    const key = (f: string) => `img.${f}`;
    const spec = {
        loader: "git",
        packages: ["swh.loader.git==3.4.0"],
        baseImage: "python:3.11-bookworm",
        registry: "docker.io",
        repository: "softwareheritage/loader_git",
        contextDir: LOADER_CONTEXT,
    };

    it("the content hash is stable and follows every file and build arg", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctx-"));
        fs.cpSync(LOADER_CONTEXT, dir, { recursive: true });
        const args = { SWH_PACKAGES: "swh.loader.git==3.4.0" };
        const h = contentHash(dir, args);
        assert.equal(contentHash(dir, args), h);
        assert.equal(contentHash(LOADER_CONTEXT, args), h, "same content, same hash, wherever it lives");
        assert.notEqual(contentHash(dir, { SWH_PACKAGES: "swh.loader.git==3.4.1" }), h);
        fs.appendFileSync(path.join(dir, "entrypoint.sh"), "\n# changed\n");
        assert.notEqual(contentHash(dir, args), h);
        fs.rmSync(dir, { recursive: true });
    });

    it("adds python-json-logger for JSON logs, unless the operator pins it", () => {
        assert.match(imagePlan(spec, key).buildArgs.SWH_PACKAGES, / python-json-logger==\d+\.\d+\.\d+$/);
        const own = imagePlan(
            { ...spec, packages: ["swh.loader.git==3.4.0", "python-json-logger==2.0.7"] },
            key,
        );
        assert.equal(own.buildArgs.SWH_PACKAGES, "swh.loader.git==3.4.0 python-json-logger==2.0.7");
    });

    it("tags by content, and by release date when given", () => {
        assert.deepEqual(
            imagePlan(spec, key).tags.map((t) => t.length),
            [12],
        );
        const dated = imagePlan({ ...spec, releaseDate: "20261125" }, key);
        assert.match(dated.tags[1], /^20261125\.[0-9a-f]{8}$/);
        assert.equal(dated.repository, "docker.io/softwareheritage/loader_git");
    });

    for (const [what, patch, message] of [
        [
            "an unpinned package",
            { packages: ["swh.loader.git>=3"] },
            /img\.packages\[0\]: expected a pinned requirement \(name==version\)/,
        ],
        ["no packages", { packages: [] }, /img\.packages: expected a non-empty list/],
        ["a registry URL", { registry: "https://docker.io" }, /img\.registry: expected a registry host/],
        ["a bad date", { releaseDate: "25/11/2026" }, /img\.releaseDate: expected a date tag/],
        [
            "a context without Dockerfile",
            { contextDir: os.tmpdir() },
            /img\.context: expected a directory holding a Dockerfile/,
        ],
    ] as [string, object, RegExp][]) {
        it(`refuses ${what}`, () => assert.throws(() => imagePlan({ ...spec, ...patch }, key), message));
    }
});
