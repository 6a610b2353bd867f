/**
 * The elastic workers stack: Rancher on k3s, a worker pool registered into it, loader images, KEDA and the
 * loaders it scales, and the observability around them, built from the validated config (config/: the
 * components' arguments). index.ts runs it with the engine's config; tests run it with theirs.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import {
    KedaOperator,
    KedaScaledLoader,
    LoaderImage,
    ObservabilityStack,
    RancherServer,
    WorkerNodePool,
    prebuiltImageRef,
    rancherApiProvider,
    rancherTls,
} from "./components";
import { LoaderPlan } from "./components/keda-scaled-loader/plan";
import { sharedCapacity } from "./components/keda-scaled-loader/shared-capacity";
import { StackConfig } from "./config";
import { protectionNotice, protectTransform } from "./config/protect";

/** Declares the stack's resources and returns its outputs. */
export function buildStack(cfg: StackConfig) {
    // 0. What must not be deleted by accident (the Rancher install, the pool's cluster, the loaders' namespaces).
    if (cfg.protect) {
        pulumi.runtime.registerResourceTransform(protectTransform);
        pulumi.log.info(protectionNotice());
    }

    // 1. Rancher, when this stack manages it.
    const rancher = cfg.rancher ? new RancherServer("rancher", cfg.rancher) : undefined;

    // 2. The worker hosts: prepared over SSH, then registered into a Rancher custom cluster, in the Rancher this
    // stack installs or in one that already runs (its API and token).
    const existing = cfg.existingRancher;
    const rancherApi =
        rancher?.provider ??
        (existing &&
            rancherApiProvider("existing-rancher", {
                apiUrl: existing.apiUrl,
                token: existing.token,
                tls: rancherTls(existing.caCerts, { insecure: false }),
            }));
    const pool = new WorkerNodePool("pool", cfg.pool, { providers: rancherApi ? [rancherApi] : [] });

    // 3. Where Kubernetes objects go: written to files (no cluster), a given cluster, the pool's cluster, or the
    // ambient kubeconfig. Paths are relative to the project, wherever the engine runs the program from.
    const provider = cfg.kubernetes.renderYamlToDirectory
        ? new k8s.Provider("render", {
              renderYamlToDirectory: path.resolve(__dirname, cfg.kubernetes.renderYamlToDirectory),
          })
        : cfg.kubernetes.kubeconfig
          ? new k8s.Provider("cluster", { kubeconfig: readKubeconfig(cfg.kubernetes.kubeconfig) })
          : pool.provider;
    const onCluster = { providers: provider ? [provider] : [] };

    // 4. Monitoring and logs first: the task's reviewers put them before autoscaling.
    const observability = cfg.observability
        ? new ObservabilityStack("observability", cfg.observability, onCluster)
        : undefined;

    // 5. KEDA, once per cluster, and the loaders' priority classes.
    const keda = new KedaOperator("keda", cfg.keda, onCluster);

    // 6. Each loader: its image (built from pinned packages, or prebuilt), then the Deployment KEDA scales.
    const images: Record<string, pulumi.Output<string>> = {};
    const capacityPlans: Record<string, unknown> = {};
    const plans: LoaderPlan[] = [];
    for (const loader of cfg.loaders) {
        const imageRef = loader.build
            ? new LoaderImage(`image-${loader.loader}`, loader.build).ref
            : prebuiltImageRef(loader.prebuiltImage!);
        const scaled = new KedaScaledLoader(
            `loader-${loader.loader}`,
            { ...loader.scaled, image: imageRef, kedaOperator: keda, statsd: observability?.statsdEndpoint },
            onCluster,
        );
        images[loader.loader] = imageRef;
        const plan = scaled.plan;
        plans.push(plan);
        capacityPlans[loader.loader] = {
            namespace: plan.namespace,
            queues: plan.queues,
            requests: plan.requests,
            replicasThatFit: plan.capacity?.fits,
            perNode: plan.capacity?.nodes,
            requestedMaxReplicas: plan.requestedMaxReplicas,
            maxReplicas: plan.maxReplicas,
            clampedBecause: plan.clampedBecause ?? null,
        };
    }

    // The loaders together, on the hosts they share: a warning names them when their maxima oversubscribe.
    const shared = sharedCapacity(pool.nodes, plans);
    if (shared.warning) pulumi.log.warn(shared.warning);

    return {
        environment: cfg.environment,
        rancherUrl: rancher?.url ?? existing?.apiUrl,
        rancherAdminToken: rancher?.adminToken,
        clusterId: pool.clusterId,
        kubeconfig: pool.kubeconfig,
        // What the hosts that can run a loader leave for loaders (a host no loader can use is not counted).
        poolAllocatable: shared.supply,
        sharedCapacity: shared,
        imageRefs: images,
        loaderCapacity: capacityPlans,
        logShipping: observability?.logShipping ?? "off (observability.enabled is false)",
    };
}

/** The kubeconfig file's content (config/ checked it exists), as a secret: it holds credentials. */
function readKubeconfig(file: string): pulumi.Output<string> {
    return pulumi.secret(fs.readFileSync(path.resolve(__dirname, file), "utf8"));
}
