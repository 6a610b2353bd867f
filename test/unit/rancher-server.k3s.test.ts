import { strict as assert } from "assert";
import * as YAML from "yaml";
import { externalKubeconfig, k3sConfig } from "../../components/rancher-server/k3s";
import { FAKE_KUBECONFIG } from "../harness/pulumi";

describe("Rancher / Kubernetes support matrix", () => {
    it("k3s config keeps host-gw and the TLS names; the kubeconfig is rewritten to the host's address", () => {
        const cfg = YAML.parse(
            k3sConfig({
                version: "v1.33.4+k3s1",
                flannelBackend: "host-gw",
                tlsSans: ["192.0.2.5", "rancher.test"],
                readyTimeoutSeconds: 60,
            }),
        );
        assert.deepEqual(cfg, {
            "flannel-backend": "host-gw",
            "write-kubeconfig-mode": "0600",
            "tls-san": ["192.0.2.5", "rancher.test"],
        });
        assert.match(
            externalKubeconfig(FAKE_KUBECONFIG, "192.0.2.5"),
            /server: https:\/\/192\.0\.2\.5:6443\n/,
        );
        assert.match(
            externalKubeconfig(FAKE_KUBECONFIG, "2001:db8::5"),
            /server: https:\/\/\[2001:db8::5\]:6443\n/,
        );
        assert.throws(
            () => externalKubeconfig("not: a kubeconfig", "x"),
            /expected a kubeconfig with a cluster server/,
        );
    });
});
