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
        assert.equal(remoteScript("true", {}, { sudo: false }), "env sh -euc 'true'");
        assert.throws(
            () =>
                execFileSync("sh", ["-c", remoteScript('echo "$UNSET_VAR"', {}, { sudo: false })], {
                    stdio: "pipe",
                }),
            "-u: unset variables fail",
        );
    });

    it("remoteScript sends the script and every value byte for byte: runs of spaces, indentation, newlines", () => {
        const yaml = "kubelet-arg+:\n  - a=b\n  - c=d  # two  spaces\n";
        const script = 'printf "%s|" "$V" "$Y"\nif true; then\n    printf "%s" "  indented  "\nfi';
        const cmd = remoteScript(script, { V: "two  spaces", Y: yaml }, { sudo: false });
        const out = execFileSync("sh", ["-c", cmd], { encoding: "utf8" });
        assert.equal(out, `two  spaces|${yaml}|  indented  `);
    });
});
