import { strict as assert } from "assert";
import { ObservabilityStack } from "../../components";
import { isSecretAt, resolve, runUnderMocks } from "../harness/pulumi";

describe("components under Pulumi mocks", () => {
    describe("ObservabilityStack", () => {
        it("deploys the exporter, monitors, alerts, dashboard and log shipper, monitors after Prometheus' CRDs", async () => {
            const { recorder: r, result } = await runUnderMocks(
                () =>
                    new ObservabilityStack("obs", {
                        logs: { url: "http://es.test:9200", username: "swh-logs" },
                        elasticsearchPassword: "es-S3cret-test",
                    }),
            );
            for (const name of ["obs-statsd-monitor", "obs-keda-operator-monitor", "obs-alerts"]) {
                assert.ok(
                    r.dependenciesOf(name).includes("obs-prometheus"),
                    `${name} after kube-prometheus-stack`,
                );
            }
            assert.ok(
                isSecretAt(r.named("obs-log-shipper-secret").raw, ["stringData", "ELASTICSEARCH_PASSWORD"]),
            );
            assert.doesNotMatch(
                r.named("obs-log-shipper-config").inputs.data["config.yaml"],
                /es-S3cret-test/,
            );
            assert.equal(result.statsdEndpoint.port, 9125);
            assert.match((await resolve(result.logShipping)).value, /swh-logs.*system-logs/);
        });

        it("beside Rancher monitoring: no Prometheus of its own, the dashboard where Rancher's Grafana reads, no log shipper", async () => {
            const { recorder: r, result } = await runUnderMocks(
                () => new ObservabilityStack("obs", { monitoring: "rancher" }),
            );
            assert.deepEqual(r.ofType("kubernetes:helm.sh/v3:Release"), []);
            const dashboard = r.named("obs-dashboard").inputs.metadata;
            assert.equal(dashboard.namespace, "cattle-dashboards");
            assert.equal(dashboard.labels.grafana_dashboard, "1");
            assert.deepEqual(r.ofType("kubernetes:apps/v1:DaemonSet"), []);
            // What Rancher's Prometheus scrapes (it selects ServiceMonitors and rules in every namespace).
            for (const name of ["obs-statsd-monitor", "obs-keda-operator-monitor", "obs-alerts"])
                r.named(name);
            assert.match((await resolve(result.logShipping)).value, /cluster's own collector/);
        });

        it("requires the Elasticsearch password when a user is set", async () => {
            await runUnderMocks(() =>
                assert.throws(
                    () =>
                        new ObservabilityStack("obs", {
                            logs: { url: "http://es.test:9200", username: "swh" },
                        }),
                    /ObservabilityStack "obs": args\.elasticsearchPassword: expected a password when logs\.username is set/,
                ),
            );
        });
    });
});
