export * from "./errors";
export * from "./quantity";
export * from "./shell";
export * from "./versions";
