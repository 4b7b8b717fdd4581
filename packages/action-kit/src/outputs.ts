import * as core from "@actions/core";
import { assertKebabCase } from "./errors.js";

/**
 * Sets a step output. Strings are written as they are; anything else as JSON.
 * The runner's `GITHUB_OUTPUT` file gets a heredoc with a random delimiter, so
 * multi-line values are safe.
 */
export function setOutput(name: string, value: unknown): void {
  assertKebabCase(name);
  core.setOutput(name, typeof value === "string" ? value : JSON.stringify(value));
}

/** Sets several outputs at once. */
export function setOutputs(outputs: Readonly<Record<string, unknown>>): void {
  for (const [name, value] of Object.entries(outputs)) setOutput(name, value);
}
