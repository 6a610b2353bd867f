/**
 * SWH elastic workers: reusable Pulumi components. Import what you need:
 *
 *     import { KedaScaledLoader, KedaOperator } from "@swh/elastic-workers";
 *
 * Each component comes with its arguments' type and schema (args.ts) and the pure planner that checks them
 * without Pulumi. Builders internal to a component (manifests, scripts) are not part of this API.
 */
export { ArgumentError } from "./common/errors";
export { Host, HostSpec, hostSchema } from "./common/hosts";
export { chartRepos, versions } from "./common/versions";
export * from "./keda-scaled-loader";
export * from "./loader-image";
export * from "./observability-stack";
export * from "./rancher-server";
export * from "./worker-node-pool";
