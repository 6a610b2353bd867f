import { strict as assert } from "assert";
import {
    checkRancherSupportsKubernetes,
    minorOf,
    RANCHER_KUBERNETES_SUPPORT,
} from "../../components/rancher-server/support-matrix";
import { versions } from "../../components/common/versions";
import { distributionOf } from "../../components/worker-node-pool/cluster";

const K = { rancher: "r", kubernetes: "k" };

describe("Rancher / Kubernetes support matrix", () => {
    it("accepts the pinned pair and every supported minor", () => {
        assert.doesNotThrow(() => checkRancherSupportsKubernetes(versions.rancher, versions.k3s, K));
        assert.doesNotThrow(() => checkRancherSupportsKubernetes(versions.rancher, versions.rke2, K));
        for (const [rancher, { min, max }] of Object.entries(RANCHER_KUBERNETES_SUPPORT)) {
            assert.doesNotThrow(() => checkRancherSupportsKubernetes(`${rancher}.0`, `v${min}.1+k3s1`, K));
            assert.doesNotThrow(() => checkRancherSupportsKubernetes(`${rancher}.0`, `v${max}.1+rke2r1`, K));
        }
    });

    it("refuses the seed's pair (Rancher 2.5.9 on k3s 1.22), naming both versions and the range", () => {
        assert.throws(
            () =>
                checkRancherSupportsKubernetes("2.5.9", "v1.22.2+k3s1", {
                    rancher: "rancher.version",
                    kubernetes: "rancher.k3sVersion",
                }),
            /rancher\.k3sVersion: expected Kubernetes 1\.17-1\.20, the range Rancher 2\.5\.9 supports \(Kubernetes v1\.22\.2\+k3s1 is outside it/,
        );
        assert.throws(
            () => checkRancherSupportsKubernetes("2.13.1", "v1.31.0+k3s1", K),
            /1\.32-1\.34, the range Rancher 2\.13\.1 supports/,
        );
        assert.throws(
            () => checkRancherSupportsKubernetes("3.0.0", "v1.33.0+k3s1", K),
            / r: expected a Rancher version in the support matrix \(2\.5, .*2\.13\)/,
        );
        // A Rancher version outside the matrix is the Rancher version's fault, not the k3s version's.
        assert.throws(
            () =>
                checkRancherSupportsKubernetes("2.99.0", "v1.33.0+k3s1", {
                    rancher: "rancher.version",
                    kubernetes: "rancher.k3sVersion",
                }),
            / rancher\.version: expected a Rancher version in the support matrix/,
        );
    });

    it("reads versions the way Rancher and k3s write them", () => {
        assert.deepEqual(minorOf("v1.33.4+k3s1"), [1, 33]);
        assert.deepEqual(minorOf("1.28"), [1, 28]);
        assert.equal(minorOf("latest"), undefined);
        assert.equal(distributionOf("v1.33.4+rke2r1", "k"), "rke2");
        assert.equal(distributionOf("v1.33.4+k3s1", "k"), "k3s");
        assert.throws(
            () => distributionOf("v1.33.4", "pool.kubernetesVersion"),
            /pool\.kubernetesVersion: expected an RKE2 or k3s version/,
        );
    });
});
