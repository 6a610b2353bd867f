import { strict as assert } from "assert";
import fc from "fast-check";
import {
    formatCpu,
    formatMemory,
    parseCpu,
    parseDuration,
    parseMemory,
} from "../../components/common/quantity";

describe("quantities", () => {
    it("parses and formats CPU and memory the way Kubernetes writes them", () => {
        assert.equal(parseCpu("500m"), 500);
        assert.equal(parseCpu("2"), 2000);
        assert.equal(parseCpu(0.25), 250);
        assert.equal(parseCpu("1.5"), 1500);
        assert.equal(parseCpu("two"), undefined);
        assert.equal(parseMemory("512Mi"), 512 * 2 ** 20);
        assert.equal(parseMemory("1G"), 1e9);
        assert.equal(parseMemory("8Gi"), 8 * 2 ** 30);
        assert.equal(parseMemory("8 GB"), undefined);
        assert.equal(formatCpu(2000), "2");
        assert.equal(formatCpu(750), "750m");
        assert.equal(formatMemory(5388 * 2 ** 20), "5388Mi");
    });

    it("property: format then parse is the identity", () => {
        fc.assert(
            fc.property(
                fc.integer({ min: 1, max: 10 ** 6 }),
                fc.integer({ min: 1, max: 2 ** 40 }),
                (cpu, mem) => {
                    assert.equal(parseCpu(formatCpu(cpu)), cpu);
                    assert.equal(parseMemory(formatMemory(mem)), mem);
                },
            ),
        );
    });

    it("reads a duration the config accepts into seconds, and nothing else", () => {
        assert.equal(parseDuration("90s"), 90);
        assert.equal(parseDuration("1m"), 60);
        assert.equal(parseDuration("2h"), 7200);
        for (const bad of ["1.5m", "1d", "m", "-1m", "1m30s", ""])
            assert.equal(parseDuration(bad), undefined, bad);
    });
});
