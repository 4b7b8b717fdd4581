/**
 * The signing keys: each role's key from its input (`targets-key`, …) or,
 * when the input is empty, from its environment variable
 * (`SLMOPS_TARGETS_KEY`, …). Every key is masked before anything is logged,
 * and no key is ever written to an output, the summary or a file.
 */
import * as core from "@actions/core";
import { readRawInput } from "@slmops/action-kit";
import { RELEASE_ROLES, roleKeyVariable, type KeyRole } from "@slmops/edge-release/key-variables";

/** The input that carries a role's key. */
export function keyInput(role: KeyRole): string {
  return `${role}-key`;
}

/** Masks every key given to the step, as inputs or as environment variables (idempotent). */
export function maskKeyInputs(env: NodeJS.ProcessEnv = process.env): void {
  for (const role of RELEASE_ROLES) {
    for (const value of [readRawInput(keyInput(role), env), env[roleKeyVariable(role)] ?? ""]) {
      // A key is one line; a value with line breaks is masked line by line, as the runner would.
      for (const line of value.split(/\r?\n/)) if (line.trim() !== "") core.setSecret(line.trim());
    }
  }
}

/**
 * The environment edge-release reads keys from: this process's, with each
 * role's input (when given) in place of its variable. Which roles are read
 * is edge-release's decision (every role to create a repository; targets,
 * snapshot and timestamp to publish into one).
 */
export function keyEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const role of RELEASE_ROLES) {
    const given = readRawInput(keyInput(role), env);
    if (given !== "") out[roleKeyVariable(role)] = given;
  }
  return out;
}

/** Whether a key for `role` was given at all (input or variable). */
export function hasKey(role: KeyRole, env: NodeJS.ProcessEnv = process.env): boolean {
  return (keyEnvironment(env)[roleKeyVariable(role)] ?? "").trim() !== "";
}
