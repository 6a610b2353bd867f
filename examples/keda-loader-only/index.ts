/**
 * Another SWH stack reusing one component: a git loader on a cluster that already runs KEDA, scaled from
 * its RabbitMQ queues. No Rancher, no pool, no image build: the image is an existing digest.
 *
 *     pulumi config set image 'docker.io/softwareheritage/loader_git@sha256:...'
 *     pulumi config set --secret amqpUrl 'amqp://user:password@rabbitmq:5672/%2f'
 *     pulumi config set --secret managementUrl 'http://user:password@rabbitmq:15672'
 *     pulumi up
 *
 * It installs the components as any other stack does, from the package (`npm pack` in the repository root
 * makes swh-elastic-workers-<version>.tgz, which package.json names).
 */
import * as pulumi from "@pulumi/pulumi";
import { KedaScaledLoader } from "@swh/elastic-workers";

const config = new pulumi.Config();

const loader = new KedaScaledLoader("git", {
    loader: "git",
    queues: [
        "swh.loader.git.tasks.UpdateGitRepository",
        "save_code_now:swh.loader.git.tasks.UpdateGitRepository",
    ],
    image: config.require("image"),
    amqpUrl: config.requireSecret("amqpUrl"),
    managementUrl: config.requireSecret("managementUrl"),
    // No pool capacity here: the cluster is someone else's, so maxReplicas is taken as given. Unset, both
    // take the component's own defaults (docs/config.md): nothing is restated here.
    maxReplicas: config.getNumber("maxReplicas"),
    namespace: config.get("namespace"),
    // An hour per task at most: the broker's queues must let a task stay unacknowledged longer than that.
    taskTimeoutSeconds: 3600,
    consumerTimeoutSeconds: 7200,
});

export const namespace = loader.plan.namespace;
export const maxReplicas = loader.maxReplicas;
