import { ConfigurationError, getStringInput } from "@slmops/action-kit";
import { planMode } from "./plan-mode.js";
import { runMode } from "./run-mode.js";

/** The action: `mode: plan` outputs the device matrix, `mode: run` benchmarks this runner as one device. */
export async function main(): Promise<void> {
  const mode = getStringInput("mode", { required: true });
  if (mode === "plan") return planMode();
  if (mode === "run") return runMode();
  throw new ConfigurationError(`Input \`mode\` must be \`plan\` or \`run\`; got \`${mode}\`.`);
}
