import * as rancher2 from "@pulumi/rancher2";
import * as YAML from "yaml";
import { ArgumentError } from "../common/errors";
import { K3S_VERSION, RKE2_VERSION } from "../common/schema";
import { Distribution } from "./node-prep";

/** Which distribution a Rancher Kubernetes version string names ("v1.33.4+rke2r1" → rke2). */
export function distributionOf(kubernetesVersion: string, key: string): Distribution {
    if (RKE2_VERSION.test(kubernetesVersion)) return "rke2";
    if (K3S_VERSION.test(kubernetesVersion)) return "k3s";
    throw new ArgumentError(
        key,
        'an RKE2 or k3s version such as "v1.33.4+rke2r1" or "v1.33.4+k3s1"',
        kubernetesVersion,
    );
}

/** Options of the custom cluster that shape its ClusterV2. */
export interface ClusterSpec {
    name: string;
    kubernetesVersion: string;
    /** k3s only: flannel backend; "host-gw" on Debian (vxlan broke inter-node traffic in T3592). */
    flannelBackend: "host-gw" | "vxlan" | "wireguard-native";
    /** RKE2 only: CNI. */
    cni: "calico" | "canal" | "cilium";
    /** Longest time a worker drain may take during upgrades, in seconds (a loader's grace period). */
    drainTimeoutSeconds: number;
}

/** The rancher2.ClusterV2 arguments for a custom (bring-your-own-hosts) cluster. */
export function clusterV2Args(spec: ClusterSpec): rancher2.ClusterV2Args {
    const distribution = distributionOf(spec.kubernetesVersion, "kubernetesVersion");
    const global = distribution === "k3s" ? { "flannel-backend": spec.flannelBackend } : { cni: spec.cni };
    return {
        name: spec.name,
        kubernetesVersion: spec.kubernetesVersion,
        rkeConfig: {
            machineGlobalConfig: YAML.stringify(global),
            upgradeStrategy: {
                controlPlaneConcurrency: "1",
                workerConcurrency: "1",
                workerDrainOptions: {
                    enabled: true,
                    deleteEmptyDirData: true,
                    ignoreDaemonSets: true,
                    // -1: each pod's own terminationGracePeriodSeconds, so running loader tasks can finish.
                    gracePeriod: -1,
                    timeout: spec.drainTimeoutSeconds,
                },
            },
        },
    };
}
