import { strict as assert } from "assert";
import * as YAML from "yaml";
import { clusterV2Args } from "../../components/worker-node-pool/cluster";

describe("node preparation and registration", () => {
    it("the custom cluster drains workers with each pod's own grace period on upgrades", () => {
        const args = clusterV2Args({
            name: "c",
            kubernetesVersion: "v1.33.4+rke2r1",
            flannelBackend: "host-gw",
            cni: "calico",
            drainTimeoutSeconds: 3600,
        });
        const rke = args.rkeConfig as {
            machineGlobalConfig: string;
            upgradeStrategy: { workerDrainOptions: Record<string, unknown> };
        };
        assert.deepEqual(YAML.parse(rke.machineGlobalConfig), { cni: "calico" });
        assert.equal(rke.upgradeStrategy.workerDrainOptions.gracePeriod, -1);
        assert.equal(rke.upgradeStrategy.workerDrainOptions.timeout, 3600);
        const k3s = clusterV2Args({
            name: "c",
            kubernetesVersion: "v1.33.4+k3s1",
            flannelBackend: "host-gw",
            cni: "calico",
            drainTimeoutSeconds: 60,
        });
        assert.deepEqual(YAML.parse((k3s.rkeConfig as { machineGlobalConfig: string }).machineGlobalConfig), {
            "flannel-backend": "host-gw",
        });
    });
});
