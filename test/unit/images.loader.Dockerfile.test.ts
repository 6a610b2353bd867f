import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../harness/program";

describe("loader image", () => {
    it("the Dockerfile runs as uid 1000 from a venv, with the entrypoint, and no secret build arg", () => {
        const df = fs.readFileSync(path.join(ROOT, "images/loader/Dockerfile"), "utf8");
        assert.match(df, /useradd --uid 1000/);
        assert.match(df, /^USER swh$/m);
        assert.match(df, /VIRTUAL_ENV=\/opt\/swh\/venv/);
        assert.match(df, /^ENTRYPOINT \["\/opt\/swh\/entrypoint\.sh"\]$/m);
        assert.doesNotMatch(df, /ARG .*(PASSWORD|TOKEN|SECRET)/i);
    });
});
