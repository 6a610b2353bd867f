import { strict as assert } from "assert";
import { envConfigMap, loaderDeployment } from "../../components/keda-scaled-loader/manifests";
import { planLoader } from "../../components/keda-scaled-loader/plan";
import {
    Workload,
    graceShorterThanTask,
    isLoader,
    missingMemoryRequests,
    plainConfigMapSecrets,
    plainEnvSecrets,
    unpinnedImages,
} from "../../policy/rules";
import { DIGEST_REF } from "../fixtures";

const plain = <T>(o: unknown): T => JSON.parse(JSON.stringify(o)) as T;

// any: the pod spec is patched freely to build violations.
type Patchable = Omit<Workload, "spec"> & { spec: { template: { spec: any } } };

function loader(patch: (w: Patchable) => void = () => undefined): Workload {
    const w = plain<Patchable>(
        loaderDeployment(
            planLoader(
                { loader: "git", queues: ["q"], taskTimeoutSeconds: 7200, consumerTimeoutSeconds: 14400 },
                (f) => f,
            ),
            DIGEST_REF,
            "h",
        ),
    );
    patch(w);
    return w as Workload;
}

describe("policy rules (policy/rules.ts)", () => {
    it("the project's own loader Deployment and ConfigMap pass every rule", () => {
        const w = loader();
        assert.equal(isLoader(w), true);
        for (const rule of [missingMemoryRequests, graceShorterThanTask, unpinnedImages, plainEnvSecrets])
            assert.deepEqual(rule(w), [], rule.name);
        assert.deepEqual(
            plainConfigMapSecrets(
                plain(envConfigMap(planLoader({ loader: "git", queues: ["q"] }, (f) => f))),
            ),
            [],
        );
    });

    it("flags a loader without memory requests", () => {
        const w = loader((d) => delete d.spec.template.spec.containers[0].resources.requests.memory);
        assert.match(
            missingMemoryRequests(w)[0],
            /container loader of loader loader-git has no memory request/,
        );
    });

    it("flags a grace period shorter than the task timeout", () => {
        const w = loader((d) => (d.spec.template.spec.terminationGracePeriodSeconds = 600));
        assert.match(graceShorterThanTask(w)[0], /terminationGracePeriodSeconds 600 < task timeout 7200s/);
    });

    it("leaves a spec that is unknown in a preview to the check at up, and still checks a known one", () => {
        const w = loader((d) => delete (d as { spec?: unknown }).spec);
        for (const rule of [missingMemoryRequests, graceShorterThanTask, unpinnedImages, plainEnvSecrets])
            assert.deepEqual(rule(w), [], rule.name);
        const noGrace = loader((d) => delete d.spec.template.spec.terminationGracePeriodSeconds);
        assert.match(graceShorterThanTask(noGrace)[0], /terminationGracePeriodSeconds 30 < task timeout/);
    });

    it("flags a tag instead of a digest", () => {
        const w = loader((d) => (d.spec.template.spec.containers[0].image = "swh/loader_git:latest"));
        assert.match(unpinnedImages(w)[0], /runs swh\/loader_git:latest, not a digest-pinned image/);
    });

    it("flags credentials in plain env values and ConfigMaps, not references", () => {
        const w = loader((d) => {
            d.spec.template.spec.containers[0].env.push({
                name: "BROKER",
                value: "amqp://swh:hunter2@rabbitmq:5672/",
            });
            d.spec.template.spec.containers[0].env.push({
                name: "DB_PASSWORD",
                valueFrom: { secretKeyRef: { name: "s", key: "k" } },
            });
        });
        assert.deepEqual(plainEnvSecrets(w), [
            "env BROKER of container loader holds a credential in plain text; use a Secret",
        ]);
        assert.deepEqual(
            plainConfigMapSecrets({
                metadata: { name: "c" },
                data: { API_TOKEN: "abc", URL: "http://host/" },
            }),
            ["ConfigMap c key API_TOKEN holds a credential; use a Secret"],
        );
    });
});
