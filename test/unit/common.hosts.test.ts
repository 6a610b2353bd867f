/** components/common/hosts.ts: a host's computed leaves are checked when they become known. */
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { checkedHost, checkUniqueNames, hostSchema } from "../../components/common/hosts";
import { parseArgs } from "../../components/common/schema";
import { failureOf } from "../harness/outputs";

const key = (f: string) => `T "t": args${f ? `.${f}` : ""}`;

describe("common hosts", () => {
    it("a computed leaf passes the parse and is checked when known, naming the field", async () => {
        const bad = parseArgs(hostSchema, { name: "h", address: pulumi.output("has space") }, key);
        assert.match(
            (await failureOf(checkedHost(bad, 'T "t": args').address)) ?? "no error",
            /T "t": args\.address: expected a host name or IP address, like .*; got "has space"/,
        );
        const good = checkedHost(
            parseArgs(hostSchema, { name: "h", address: pulumi.output("192.0.2.1") }, key),
            "k",
        );
        assert.equal(await failureOf(good.address), undefined);
        assert.equal(good.port, 22, "defaults still apply around computed leaves");
    });

    it("refuses two hosts of one name, naming the second", () => {
        assert.throws(
            () => checkUniqueNames([{ name: "a" }, { name: "a" }], "pool.hosts"),
            /pool\.hosts\[1\]\.name: expected a unique name; "a" is also hosts\[0\]/,
        );
    });
});
