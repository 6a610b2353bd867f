/**
 * The box's service table and the supervisor that runs it: start order, stop order (the reverse, from the same
 * table), what is started, reused and awaited, and a process group stopped by its pid file. The box itself runs
 * in the e2e tier (test/e2e/autoscaling.test.ts).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BoxContext, PORTS, SERVICES } from "../rig/box/services";
import {
    Command,
    Processes,
    Service,
    Supervisor,
    pidAlive,
    readPid,
    startOrder,
    startServices,
    stopOrder,
    stopServices,
    until,
} from "../rig/supervisor";

/** Only `resourceMetrics` is read to pick the rows; nothing here starts or probes them. */
const ctx = (resourceMetrics: boolean) => ({ resourceMetrics }) as BoxContext;

describe("autoscaling box: service table", () => {
    it("starts the control plane, then the nodes, RabbitMQ, KEDA and the bridge, and stops in reverse", () => {
        const starts = startOrder(SERVICES, ctx(true)).map((s) => s.name);
        assert.deepEqual(starts, [
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
            "kwok",
            "rabbitmq",
            "keda-operator",
            "keda-adapter",
            "metrics-server",
            "bridge",
        ]);
        assert.deepEqual(
            stopOrder(SERVICES).map((s) => s.name),
            [...starts].reverse(),
        );
    });

    it("runs metrics-server only for the benchmark's resource metrics, and stops it either way", () => {
        assert.ok(!startOrder(SERVICES, ctx(false)).some((s) => s.name === "metrics-server"));
        assert.ok(stopOrder(SERVICES).some((s) => s.name === "metrics-server"));
    });

    it("names each service once, and gives each port once, below the kernel's range for client sockets", () => {
        const names = SERVICES.map((s) => s.name);
        assert.equal(new Set(names).size, names.length);
        const ports = Object.values(PORTS);
        assert.equal(new Set(ports).size, ports.length);
        assert.deepEqual(
            ports.filter((p) => p >= 32768),
            [],
        );
    });

    it("keeps the data --wipe drops: etcd, RabbitMQ, the task records and the workers' terminations", () => {
        assert.deepEqual(
            SERVICES.flatMap((s) => (s.data ?? []).map((d) => `${s.name}:${d}`)),
            [
                "etcd:etcd",
                "rabbitmq:rabbitmq",
                "bridge:tasks.jsonl",
                "bridge:terminations.jsonl",
                "bridge:bridge.ready",
            ],
        );
    });
});

/** Records what the supervisor is asked, and answers from `running`. */
class FakeProcesses implements Processes {
    readonly events: string[] = [];
    constructor(readonly running = new Set<string>()) {}
    alive(name: string): boolean {
        return this.running.has(name);
    }
    start(name: string, command: Command): void {
        this.events.push(`start ${name} ${command.cmd}`);
        this.running.add(name);
    }
    async ready(name: string, what: string, _seconds: number, check: () => Promise<boolean>): Promise<void> {
        this.events.push(`ready ${name} (${what}) ${await check()}`);
    }
    async stop(name: string): Promise<boolean> {
        this.events.push(`stop ${name}`);
        return this.running.delete(name);
    }
}

interface Ctx {
    metrics: boolean;
    log: string[];
}

function row(name: string, extra: Partial<Service<Ctx>> = {}): Service<Ctx> {
    return {
        name,
        what: () => name,
        command: () => ({ cmd: `/bin/${name}`, args: [] }),
        ready: { what: `${name} up`, seconds: 1, check: async () => true },
        ...extra,
    };
}

describe("supervisor: a table of services", () => {
    const table = [
        row("a", {
            setup: (c) => void c.log.push("setup a"),
            prepare: (c) => c.log.push("prepare a"),
        }),
        row("b", { enabled: (c) => c.metrics, down: () => undefined }),
        row("c", { setup: (c) => void c.log.push("setup c"), prepare: (c) => c.log.push("prepare c") }),
    ];

    it("starts the enabled rows in order, each ready before the next; a running one is awaited, not restarted", async () => {
        const procs = new FakeProcesses(new Set(["c"]));
        const c: Ctx = { metrics: false, log: [] };
        const steps: string[] = [];
        await startServices(table, c, procs, (i, n, what) => steps.push(`${i + 1}/${n} ${what}`));
        assert.deepEqual(procs.events, ["start a /bin/a", "ready a (a up) true", "ready c (c up) true"]);
        // Setup runs either way (the API objects it needs), prepare only before a start (its config files).
        assert.deepEqual(c.log, ["setup a", "prepare a", "setup c"]);
        assert.deepEqual(steps, ["1/2 a", "2/2 c"]);
    });

    it("stops every row in reverse, enabled or not, and reports those that were running", async () => {
        const procs = new FakeProcesses(new Set(["a", "b"]));
        const downs: string[] = [];
        const withDown = table.map((s) => ({ ...s, down: () => void downs.push(s.name) }));
        const stopped: string[] = [];
        assert.deepEqual(await stopServices(withDown, procs, (n) => stopped.push(n)), ["b", "a"]);
        assert.deepEqual(procs.events, ["stop c", "stop b", "stop a"]);
        assert.deepEqual(stopped, ["b", "a"]);
        // Each row's leftovers go right after it, running or not.
        assert.deepEqual(downs, ["c", "b", "a"]);
    });

    it("fails on a service that never gets ready, and starts nothing after it", async () => {
        const procs = new FakeProcesses();
        const never = row("b", {
            ready: {
                what: "b up",
                seconds: 1,
                check: async () => {
                    throw new Error("b is not ready");
                },
            },
        });
        await assert.rejects(
            startServices([row("a"), never, row("c")], { metrics: false, log: [] }, procs),
            /b is not ready/,
        );
        assert.deepEqual(procs.events, ["start a /bin/a", "ready a (a up) true", "start b /bin/b"]);
    });
});

describe("supervisor: processes and polling", function () {
    this.timeout(15_000);

    it("polls until a value, and times out saying what it waited for and the last error", async () => {
        let n = 0;
        assert.equal(await until("n to reach 2", 5, () => (++n >= 2 ? n : undefined)), 2);
        const t = Date.now();
        await assert.rejects(
            until(
                "the impossible",
                1,
                () => {
                    throw new Error("nope");
                },
                () => "log tail",
            ),
            /timed out after 1s waiting for the impossible \(last error: Error: nope\); log tail/,
        );
        assert.ok(Date.now() - t < 3000, "bounded by its seconds");
    });

    it("reads only plain pids above 1 from a pid file (never our group or every process)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pid-"));
        const f = path.join(dir, "x.pid");
        for (const [text, pid] of [
            ["1234", 1234],
            ["1234\n", 1234],
            ["0", undefined],
            ["1", undefined],
            ["-5", undefined],
            ["", undefined],
            ["12ab", undefined],
        ] as const) {
            fs.writeFileSync(f, text);
            assert.equal(readPid(f), pid, JSON.stringify(text));
        }
        assert.equal(readPid(path.join(dir, "missing.pid")), undefined);
    });

    it("starts a process with a pid file and a log, and stops its whole group and its recorded children", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "supervisor-"));
        const sup = new Supervisor(dir);
        const childPid = path.join(dir, "child.pid");
        // A shell with a child in its group, as rabbitmq-server runs the Erlang VM.
        sup.start(
            "svc",
            { cmd: "/bin/sh", args: ["-c", `sleep 30 & echo $! > ${childPid}; echo up; wait`] },
            {},
        );
        await sup.ready(
            "svc",
            "svc's child",
            5,
            async () => fs.existsSync(childPid) && readPid(childPid) !== undefined,
        );
        assert.ok(sup.alive("svc"));
        const child = readPid(childPid)!;
        assert.ok(pidAlive(child));
        // A process it started in a group of its own, recorded in its child pid directory.
        fs.mkdirSync(sup.childPidDir("svc"), { recursive: true });
        sup.start("orphan", { cmd: "/bin/sh", args: ["-c", "sleep 30"] }, {});
        const orphan = readPid(sup.pidFile("orphan"))!;
        fs.renameSync(sup.pidFile("orphan"), path.join(sup.childPidDir("svc"), "worker.pid"));

        assert.equal(await sup.stop("svc", 5), true);
        await until(
            "the group and the recorded child to exit",
            5,
            () => !pidAlive(child) && !pidAlive(orphan),
        );
        assert.ok(!fs.existsSync(sup.pidFile("svc")));
        assert.deepEqual(fs.readdirSync(sup.childPidDir("svc")), []);
        assert.match(fs.readFileSync(sup.logFile("svc"), "utf8"), /^up$/m);
        assert.equal(await sup.stop("svc", 5), false, "nothing left to stop");
    });
});
