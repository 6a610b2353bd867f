/**
 * The stack program the Pulumi CLI runs (`main` in Pulumi.yaml): the stack config, validated into the
 * components' arguments (config/, docs/config.md), built by stack.ts; its outputs are the stack's outputs.
 */
import { loadConfig, pulumiConfigSource } from "./config";
import { buildStack } from "./stack";

const outputs = buildStack(loadConfig(pulumiConfigSource()));

export const environment = outputs.environment;
export const rancherUrl = outputs.rancherUrl;
export const rancherAdminToken = outputs.rancherAdminToken;
export const clusterId = outputs.clusterId;
export const kubeconfig = outputs.kubeconfig;
export const poolAllocatable = outputs.poolAllocatable;
export const imageRefs = outputs.imageRefs;
export const loaderCapacity = outputs.loaderCapacity;
export const sharedCapacity = outputs.sharedCapacity;
export const logShipping = outputs.logShipping;
