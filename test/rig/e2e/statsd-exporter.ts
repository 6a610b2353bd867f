/**
 * The statsd_exporter the ObservabilityStack deploys (built by scripts/tools/bootstrap.sh), on loopback with the
 * program's mapping: what the loaders' statsd lines become for Prometheus.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { statsdMapping } from "../../../components/observability-stack/statsd";
import { toolsBin } from "../engine/env";
import { until } from "../supervisor";

export interface StatsdExporter {
    /** Its /metrics URL. */
    metricsUrl: string;
    process: ChildProcess;
    /** Its /metrics text now. */
    metrics(): string;
}

/** Starts the exporter with the program's mapping (written in `dir`), statsd on UDP `udpPort`; ready when it answers. */
export async function startStatsdExporter(
    dir: string,
    udpPort: number,
    webPort: number,
): Promise<StatsdExporter> {
    const mapping = path.join(dir, "mapping.yml");
    fs.writeFileSync(mapping, statsdMapping());
    const metricsUrl = `http://127.0.0.1:${webPort}/metrics`;
    const child = spawn(path.join(toolsBin(), "statsd_exporter"), [
        `--statsd.mapping-config=${mapping}`,
        `--statsd.listen-udp=127.0.0.1:${udpPort}`,
        "--statsd.listen-tcp=",
        `--web.listen-address=127.0.0.1:${webPort}`,
    ]);
    let failed: Error | undefined;
    child.on("error", (e) => (failed = e));
    const metrics = () => spawnSync("curl", ["-sf", metricsUrl]).stdout?.toString() ?? "";
    await until("statsd_exporter", 30, () => {
        if (failed) throw new Error(`statsd_exporter: ${failed.message}; run scripts/tools/bootstrap.sh`);
        return metrics() !== "";
    });
    return { metricsUrl, process: child, metrics };
}
