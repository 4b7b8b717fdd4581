import { ConfigurationError, getStringInput } from "@slmops/action-kit";
import { gateMode } from "./gate-mode.js";
import { publishMode } from "./publish-mode.js";

/**
 * The action: `mode: gate` (default) evaluates the device reports and
 * publishes the verdict; `mode: publish` publishes a fork run's verdict
 * artifact from a `workflow_run` follow-up.
 */
export async function main(): Promise<void> {
  const mode = getStringInput("mode", { fallback: "gate" });
  if (mode === "gate") return gateMode();
  if (mode === "publish") return publishMode();
  throw new ConfigurationError(`Input \`mode\` must be \`gate\` or \`publish\`; got \`${mode}\`.`);
}
