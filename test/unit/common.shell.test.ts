import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import { remoteScript, shQuote } from "../../components/common/shell";

describe("node preparation and registration", () => {
    it("remoteScript passes variables inline, quoted, and runs the script under sh -eu (sudo for non-root)", () => {
        const out = execFileSync("sh", [
            "-c",
            remoteScript('printf "%s|%s" "$A" "$B"', { B: "it's", A: "x y" }, { sudo: false }),
        ]).toString();
        assert.equal(out, "x y|it's");
        assert.match(remoteScript("true", {}, { sudo: true }), /^sudo -n env sh -euc /);
        assert.equal(shQuote("a'b"), `'a'"'"'b'`);
        assert.throws(
            () =>
                execFileSync("sh", ["-c", remoteScript('echo "$UNSET_VAR"', {}, { sudo: false })], {
                    stdio: "pipe",
                }),
            "-u: unset variables fail",
        );
    });
});
