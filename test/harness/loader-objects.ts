/** A KedaScaledLoader's objects built from its settings, outside Pulumi, for the builder tests. */
import { LoaderSettings } from "../../components/keda-scaled-loader/args";
import {
    brokerSecret,
    envConfigMap,
    loggingConfigMap,
    loaderDeployment,
    namespaceManifest,
    podTemplate,
    workerAccess,
    workerConfigYaml,
} from "../../components/keda-scaled-loader/manifests";
import { planLoader } from "../../components/keda-scaled-loader/plan";
import { scaledJob, scaledObject, triggerAuthentication } from "../../components/keda-scaled-loader/scaling";
import { AMQP_URL, DIGEST_REF, MANAGEMENT_URL } from "../fixtures";

/** Prefixes a settings field the way the component names it in errors. */
export const key = (f: string) => `test.${f}`;
/** The smallest valid loader: SWH's git loader on its update queue. */
export const base: LoaderSettings = { loader: "git", queues: ["swh.loader.git.tasks.UpdateGitRepository"] };

/** Every object of a loader, as plain JSON with apiVersion/kind, the way the provider sends them. */
export function objectsOf(settings: LoaderSettings) {
    const plan = planLoader(settings, key);
    // any: the objects as the provider serializes them, plain JSON navigated freely by assertions.
    const plain = (o: unknown): any => JSON.parse(JSON.stringify(o));
    const access = plan.mode === "deployment" ? workerAccess(plan) : undefined;
    return {
        plan,
        namespace: { apiVersion: "v1", kind: "Namespace", ...plain(namespaceManifest(plan)) },
        env: { apiVersion: "v1", kind: "ConfigMap", ...plain(envConfigMap(plan)) },
        logging: { apiVersion: "v1", kind: "ConfigMap", ...plain(loggingConfigMap(plan)) },
        secret: {
            apiVersion: "v1",
            kind: "Secret",
            ...plain({
                ...brokerSecret(plan, "x", "y"),
                stringData: { "config.yml": workerConfigYaml(plan, AMQP_URL), host: MANAGEMENT_URL },
            }),
        },
        deployment: {
            apiVersion: "apps/v1",
            kind: "Deployment",
            ...plain(loaderDeployment(plan, DIGEST_REF, "abc")),
        },
        // Deployment mode only (undefined in job mode).
        serviceAccount:
            access && plain({ apiVersion: "v1", kind: "ServiceAccount", ...access.serviceAccount }),
        role: access && plain({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", ...access.role }),
        roleBinding:
            access &&
            plain({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", ...access.roleBinding }),
        triggerAuth: triggerAuthentication(plan),
        scaled:
            plan.mode === "job" ? scaledJob(plan, plain(podTemplate(plan, DIGEST_REF))) : scaledObject(plan),
    };
}
