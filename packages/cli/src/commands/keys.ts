import { lstat } from "node:fs/promises";
import { resolve } from "node:path";
import { ConfigurationError } from "@slmops/diagnostics";
import type { Command, CommandContext } from "../command.js";
import { UsageError } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import { stringOption } from "../options.js";

import { RELEASE_ROLES, roleKeyVariable, type KeyRole as RoleName } from "@slmops/edge-release/key-variables";

const WHY: Readonly<Record<RoleName, string>> = {
  root: "offline: only to create the repository and to rotate keys",
  targets: "the release job (release build)",
  rollout: "the promote job (release promote, release halt)",
  snapshot: "every job that writes the repository",
  timestamp: "every job that writes the repository",
};

export const keysCommand: Command = {
  name: "keys",
  summary: "generate the release repository's signing keys (keys init)",
  description:
    "keys init generates one ed25519 key per role of the release repository (root, targets, rollout,\n" +
    "snapshot, timestamp) and prints, for each, the environment variable / repository secret to store it\n" +
    "under and its public key id. The private keys are written only to the file --out-env names (mode\n" +
    "0600, one NAME=value line each, never overwritten), never to the terminal.",
  positionals: [{ name: "action", description: "init" }],
  options: {
    "out-env": { type: "string", valueName: "file", description: "where to write the private keys, as NAME=value lines (default: slmops-keys.env)" },
  },
  examples: ["slmops keys init --out-env release-keys.env"],
  run: runKeysCommand,
};

async function runKeysCommand(context: CommandContext): Promise<number> {
  const { io } = context;
  const action = context.positionals[0];
  if (action !== "init") throw new UsageError(`Unknown keys action \`${action ?? ""}\`.`, { command: "keys", hint: "use `slmops keys init`." });
  const given = stringOption(context, "out-env", "keys") ?? "slmops-keys.env";
  const file = resolve(io.cwd, given);
  if (await lstat(file).then(() => true, () => false)) {
    throw new ConfigurationError(`${given} already exists; keys are never overwritten. Choose another --out-env file, or move that one away first.`);
  }
  const { generateSigningKey } = await import("@slmops/edge-release");
  const { writeFileAtomic } = await import("@slmops/atomic-file");
  const keys = RELEASE_ROLES.map((role) => ({ role, variable: roleKeyVariable(role), key: generateSigningKey() }));
  await writeFileAtomic(file, keys.map(({ variable, key }) => `${variable}=${key.exportSecret()}\n`).join(""), { mode: 0o600 });
  io.stdout.write(`Wrote ${keys.length} private keys to ${given} (mode 0600). Public key ids:\n`);
  for (const { role, variable, key } of keys) io.stdout.write(`  ${role.padEnd(9)} ${variable.padEnd(20)} ${key.keyId}  (${WHY[role]})\n`);
  io.stdout.write(
    `Store each as a GitHub repository secret without showing it, e.g.:\n` +
      `  gh secret set -f ${given}\n` +
      `or one by one (the promote job needs only ${roleKeyVariable("rollout")}, ${roleKeyVariable("snapshot")} and ${roleKeyVariable("timestamp")}):\n` +
      `  grep '^${roleKeyVariable("targets")}=' ${given} | cut -d= -f2- | gh secret set ${roleKeyVariable("targets")}\n` +
      `Keep the root key offline; then delete ${given}.\n`,
  );
  return ExitCode.ok;
}
