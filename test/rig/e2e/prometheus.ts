/**
 * Debian's Prometheus on loopback, scraping given targets every second: what the dashboard's queries are
 * answered by, on the series real exporters produce.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { until } from "../supervisor";

/** One sample of an instant query: its labels and value. */
export interface Sample {
    metric: Record<string, string>;
    value: number;
}

export interface Prometheus {
    process: ChildProcess;
    /** An instant query's samples; an error naming the query when Prometheus refuses it. */
    query(expr: string): Promise<Sample[]>;
}

/** Starts Prometheus (its config and data in `dir`) on 127.0.0.1:port, scraping `targets` (host:port) every second. */
export async function startPrometheus(dir: string, port: number, targets: string[]): Promise<Prometheus> {
    const config = path.join(dir, "prometheus.yml");
    fs.writeFileSync(
        config,
        YAML.stringify({
            global: { scrape_interval: "1s" },
            scrape_configs: [{ job_name: "statsd", static_configs: [{ targets }] }],
        }),
    );
    const child = spawn("prometheus", [
        `--config.file=${config}`,
        `--storage.tsdb.path=${path.join(dir, "tsdb")}`,
        `--web.listen-address=127.0.0.1:${port}`,
    ]);
    let failed: Error | undefined;
    child.on("error", (e) => (failed = e));
    const api = `http://127.0.0.1:${port}/api/v1`;
    const query = async (expr: string): Promise<Sample[]> => {
        const body = (await (await fetch(`${api}/query?query=${encodeURIComponent(expr)}`)).json()) as {
            status: string;
            error?: string;
            data: { result: { metric: Record<string, string>; value: [number, string] }[] };
        };
        if (body.status !== "success") throw new Error(`${expr}: ${body.error ?? body.status}`);
        return body.data.result.map((s) => ({ metric: s.metric, value: Number(s.value[1]) }));
    };
    await until("Prometheus", 60, async () => {
        if (failed) throw new Error(`prometheus: ${failed.message}; apt-get install prometheus`);
        return (await query("up").catch(() => [])).length > 0;
    });
    return { process: child, query };
}

/** Waits until Prometheus holds at least `samples` scrapes of `metric` within the last minute (rate() needs several). */
export function scraped(prom: Prometheus, metric: string, samples: number): Promise<true> {
    return until(`Prometheus to scrape ${metric} ${samples} times`, 60, async () => {
        const r = await prom.query(`count_over_time(${metric}[1m])`).catch(() => []);
        return r.length > 0 && r.every((s) => s.value >= samples);
    });
}

/** A dashboard query over the last minute: a test has no 5 or 15 minutes of history. */
export function lastMinute(expr: string): string {
    return expr.replace(/\[(5|15)m\]/g, "[1m]");
}
