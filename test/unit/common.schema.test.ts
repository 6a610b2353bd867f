/** components/common/schema.ts: rules, inputs checked at once when plain and when known when computed, errors. */
import { strict as assert } from "assert";
import { z } from "zod";
import { hostSchema } from "../../components/common/hosts";
import {
    checkedInput,
    dnsLabel,
    input,
    parseArgs,
    parseValue,
    prebuiltImage,
    splitTag,
} from "../../components/common/schema";
import { failureOf } from "../harness/outputs";

const key = (f: string) => `T "t": args${f ? `.${f}` : ""}`;

describe("common schema: plain and computed inputs", () => {
    it("a plain leaf is checked when parsed, naming the field and the value", () => {
        assert.throws(
            () => parseArgs(hostSchema, { name: "h", address: "has space" }, key),
            /^ArgumentError: T "t": args\.address: expected a host name or IP address, like .*; got "has space"$/,
        );
        assert.throws(() => parseArgs(hostSchema, { name: "h" }, key), /args\.address: required, /);
    });

    it("checkedInput leaves a plain value as it is; input() checks plain values in a parse", async () => {
        assert.equal(checkedInput(dnsLabel, "ok", "k"), "ok");
        assert.throws(
            () => parseValue(input(dnsLabel), "Not_A_Label", "cfg:x"),
            /^ArgumentError: cfg:x: expected a DNS-1123 label/,
        );
        assert.match(
            (await failureOf(checkedInput(dnsLabel, Promise.resolve("Not_A_Label"), "cfg:x"))) ?? "no error",
            /cfg:x: expected a DNS-1123 label/,
        );
    });

    it("never shows an object's content in an error (it may hold other fields' secrets)", () => {
        const schema = z.strictObject({ a: z.string() });
        assert.throws(
            () => parseArgs(schema, { a: "x", sshPrivateKey: "-----BEGIN KEY-----" }, key),
            (e: Error) => /Unrecognized key/.test(e.message) && !e.message.includes("BEGIN KEY"),
        );
    });
});

describe("common schema: prebuilt images", () => {
    it("takes a digest, or a tag as SWH publishes them (a registry port is not a tag)", () => {
        for (const ok of [
            `r.test/swh/loader_git@sha256:${"a".repeat(64)}`,
            "container-registry.softwareheritage.org/swh/infra/swh-apps/loader_git:20251120.1",
            "127.0.0.1:5055/swh/loader_git:1",
            "softwareheritage/loader_git:v1.2_3",
        ])
            assert.equal(prebuiltImage.safeParse(ok).success, true, ok);
        for (const bad of [
            "loader_git",
            "127.0.0.1:5055/swh/loader_git",
            "r.test/swh/loader_git:latest",
            "R.test/Swh/loader_git:1",
            "r.test/swh/loader_git:",
            "r.test/swh/loader_git:-x",
        ])
            assert.equal(prebuiltImage.safeParse(bad).success, false, bad);
    });

    it("splits a tag off its repository, a registry port kept", () => {
        assert.deepEqual(splitTag("127.0.0.1:5055/swh/loader_git:1"), {
            repository: "127.0.0.1:5055/swh/loader_git",
            tag: "1",
        });
        assert.equal(splitTag("127.0.0.1:5055/swh/loader_git"), undefined);
        assert.equal(splitTag(`r.test/x@sha256:${"a".repeat(64)}`), undefined);
    });
});
