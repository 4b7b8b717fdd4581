import { join } from "node:path";

export { repoRoot, runnerNode } from "@slmops/action-kit/testing";

/** This action's directory. */
export const actionDir = join(import.meta.dirname, "..", "..");
