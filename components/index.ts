/**
 * SWH elastic workers: reusable Pulumi components. Import what you need:
 *
 *     import { KedaScaledLoader, KedaOperator } from "@swh/elastic-workers";
 */
export * from "./common";
export * from "./keda-scaled-loader";
export * from "./loader-image";
export * from "./observability-stack";
export * from "./rancher-server";
export * from "./worker-node-pool";
