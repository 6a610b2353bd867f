/** components/common/schema.ts and hosts.ts: inputs checked at once when plain, when known when computed. */
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { checkedHost, hostSchema } from "../../components/common/hosts";
import { checkedInput, dnsLabel, input, parseArgs, parseValue } from "../../components/common/schema";

const key = (f: string) => `T "t": args${f ? `.${f}` : ""}`;

/** The error an Output ends with (its apply's throw), or undefined when it gives a value. */
async function failureOf(o: pulumi.Input<unknown>): Promise<string | undefined> {
    // The SDK's Output keeps its promise internal; `promise()` is how its own tests read it.
    const internal = pulumi.output(o) as unknown as { promise(): Promise<unknown> };
    try {
        await internal.promise();
        return undefined;
    } catch (e) {
        return (e as Error).message;
    }
}

describe("common schema: plain and computed inputs", () => {
    it("a plain leaf is checked when parsed, naming the field and the value", () => {
        assert.throws(
            () => parseArgs(hostSchema, { name: "h", address: "has space" }, key),
            /^ArgumentError: T "t": args\.address: expected a host name or IP address; got "has space"$/,
        );
        assert.throws(() => parseArgs(hostSchema, { name: "h" }, key), /args\.address: required, /);
    });

    it("a computed leaf passes the parse and is checked when known, naming the field", async () => {
        const bad = parseArgs(hostSchema, { name: "h", address: pulumi.output("has space") }, key);
        assert.match(
            (await failureOf(checkedHost(bad, 'T "t": args').address)) ?? "no error",
            /T "t": args\.address: expected a host name or IP address; got "has space"/,
        );
        const good = checkedHost(
            parseArgs(hostSchema, { name: "h", address: pulumi.output("192.0.2.1") }, key),
            "k",
        );
        assert.equal(await failureOf(good.address), undefined);
        assert.equal(good.port, 22, "defaults still apply around computed leaves");
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
