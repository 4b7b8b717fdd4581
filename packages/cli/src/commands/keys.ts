import { randomBytes } from "node:crypto";
import { link, lstat, open, unlink } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { ConfigurationError, terminalText } from "@slmops/diagnostics";
import type { SigningKey } from "@slmops/edge-release";
import type { Command, CommandContext } from "../command.js";
import { UsageError } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import { stringOption } from "../options.js";
import { releaseSettings } from "./release.js";

import { RELEASE_ROLES, roleKeyVariable, type KeyRole as RoleName } from "@slmops/edge-release/key-variables";

const WHY: Readonly<Record<RoleName, string>> = {
  root: "offline: only to create the repository and to rotate keys",
  targets: "the release job (release build)",
  rollout: "the promote job (release promote, release halt)",
  snapshot: "every job that writes the repository",
  timestamp: "every job that writes the repository",
};

/**
 * The keys `keys rotate --role <role>` signs with, besides the new key: a
 * top-level role's rotation is a new root version, signed by the current
 * root key (and the new one when root itself rotates), then a new snapshot
 * and timestamp; rollout's is a new delegation in the targets metadata,
 * signed by the targets key. The rotated role's old key is needed only for
 * root (the old root must sign its successor).
 */
const ROTATION_SIGNERS: Readonly<Record<RoleName, readonly RoleName[]>> = {
  root: ["root", "snapshot", "timestamp"],
  targets: ["root", "snapshot", "timestamp"],
  snapshot: ["root", "timestamp"],
  timestamp: ["root", "snapshot"],
  rollout: ["targets", "snapshot", "timestamp"],
};

const ACTIONS = ["init", "rotate"] as const;

export const keysCommand: Command = {
  name: "keys",
  summary: "the release repository's signing keys: generate them (keys init), replace one (keys rotate)",
  description:
    "keys init generates one ed25519 key per role of the release repository (root, targets, rollout,\n" +
    "snapshot, timestamp) and prints, for each, the environment variable / repository secret to store it\n" +
    "under and its public key id. The private keys are written only to the file --out-env names (mode\n" +
    "0600, one NAME=value line each, never overwritten), never to the terminal. With --dev they are\n" +
    "throwaway development keys, labelled as such in the file and the output, for a repository on this\n" +
    "machine (the example project's, say): never a fleet's.\n" +
    "\n" +
    "keys rotate --role <role> --repo <dir> replaces one role's key in the repository with a new one:\n" +
    "root, targets, snapshot or timestamp by a new root version signed by the current root key (and, for\n" +
    "root, by the new key too), rollout by a new delegation in the targets metadata signed by the targets\n" +
    "key; then a new snapshot and timestamp. It reads the keys it signs with from SLMOPS_<ROLE>_KEY:\n" +
    "  root       SLMOPS_ROOT_KEY (the current one), SLMOPS_SNAPSHOT_KEY, SLMOPS_TIMESTAMP_KEY\n" +
    "  targets    SLMOPS_ROOT_KEY, SLMOPS_SNAPSHOT_KEY, SLMOPS_TIMESTAMP_KEY\n" +
    "  snapshot   SLMOPS_ROOT_KEY, SLMOPS_TIMESTAMP_KEY\n" +
    "  timestamp  SLMOPS_ROOT_KEY, SLMOPS_SNAPSHOT_KEY\n" +
    "  rollout    SLMOPS_TARGETS_KEY, SLMOPS_SNAPSHOT_KEY, SLMOPS_TIMESTAMP_KEY\n" +
    "The new private key is written only to --out-env (default slmops-<role>-key.env; mode 0600, never\n" +
    "overwritten), before the repository changes. It signs with the manifest's release.expiry\n" +
    "(--manifest, or the nearest slmops.yaml; without one, the default expiry). Then replace the\n" +
    "repository secret with the new key, publish the repository, and destroy the old key.",
  positionals: [{ name: "action", description: ACTIONS.join(" | ") }],
  options: {
    "out-env": { type: "string", valueName: "file", description: "where to write the private key(s), as NAME=value lines (default: init slmops-keys.env, rotate slmops-<role>-key.env)" },
    role: { type: "string", valueName: "role", description: `rotate: the role whose key to replace (${RELEASE_ROLES.join(" | ")})` },
    repo: { type: "string", valueName: "dir", description: "rotate: the release repository" },
    manifest: { type: "string", valueName: "path", description: "rotate: the manifest whose release.expiry to sign with (default: the nearest slmops.yaml here or above)" },
    dev: { type: "boolean", description: "init: throwaway development keys for a local repository, labelled as such (default file slmops-dev-keys.env)" },
  },
  examples: ["slmops keys init --out-env release-keys.env", "slmops keys rotate --role rollout --repo release --out-env new-rollout-key.env"],
  run: runKeysCommand,
};

async function runKeysCommand(context: CommandContext): Promise<number> {
  const action = context.positionals[0];
  if (action === "init") return init(context);
  if (action === "rotate") return rotate(context);
  throw new UsageError(`Unknown keys action \`${terminalText(action ?? "")}\`.`, { command: "keys", hint: "use `slmops keys init` or `slmops keys rotate --role <role> --repo <dir>`." });
}

async function refuseExisting(file: string, given: string): Promise<void> {
  if (await lstat(file).then(() => true, () => false)) {
    throw new ConfigurationError(`${given} already exists; keys are never overwritten. Choose another --out-env file, or move that one away first.`);
  }
}

/**
 * Writes a file of private keys with mode 0600, never replacing anything:
 * the content goes to a temporary file of its own (created exclusively),
 * is flushed, then hard-linked to its name, which fails if the name exists
 * (as anything, a link included). A crash leaves the whole file or none.
 */
async function writeSecretFile(file: string, given: string, text: string): Promise<void> {
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    const handle = await open(temporary, "wx", 0o600);
    try {
      await handle.chmod(0o600);
      await handle.writeFile(text, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await link(temporary, file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new ConfigurationError(`${given} already exists; keys are never overwritten. Choose another --out-env file, or move that one away first.`);
    throw new ConfigurationError(`cannot write the key file ${given} (${code ?? "error"}); choose an --out-env file in a directory you can write to`, { cause: error });
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
  const directory = await open(dirname(file), "r").catch(() => undefined);
  await directory?.sync().catch(() => undefined);
  await directory?.close();
}

// ---------------------------------------------------------------- init

/** The first lines of a `keys init --dev` file: what these keys are, and what they are not. */
export const DEV_KEYS_LABEL =
  "# slmops DEVELOPMENT keys: throwaway, made by `slmops keys init --dev` for a release repository on\n" +
  "# this machine. Never store them as repository secrets or sign a fleet's releases with them; a\n" +
  "# fleet's keys come from `slmops keys init` (without --dev), kept offline or in secrets.\n";

async function init(context: CommandContext): Promise<number> {
  const { io } = context;
  const dev = context.values.dev === true;
  const given = stringOption(context, "out-env", "keys") ?? (dev ? "slmops-dev-keys.env" : "slmops-keys.env");
  const file = resolve(io.cwd, given);
  await refuseExisting(file, given);
  const { generateSigningKey } = await import("@slmops/edge-release");
  const keys = RELEASE_ROLES.map((role) => ({ role, variable: roleKeyVariable(role), key: generateSigningKey() }));
  await writeSecretFile(file, given, (dev ? DEV_KEYS_LABEL : "") + keys.map(({ variable, key }) => `${variable}=${key.exportSecret()}\n`).join(""));
  if (dev) {
    io.stdout.write(`Wrote ${keys.length} throwaway DEVELOPMENT keys to ${given} (mode 0600), labelled as such: for a repository on this machine, never a fleet's. Public key ids:\n`);
    for (const { role, variable, key } of keys) io.stdout.write(`  ${role.padEnd(9)} ${variable.padEnd(20)} ${key.keyId}\n`);
    io.stdout.write(`Load them for a command with: env $(grep -v '^#' ${given} | xargs) slmops release build --repo <dir>\n`);
    return ExitCode.ok;
  }
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

// ---------------------------------------------------------------- rotate

function roleOption(context: CommandContext): RoleName {
  const role = stringOption(context, "role", "keys");
  if (role === undefined) throw new UsageError("`keys rotate` needs `--role <role>`: the role whose key to replace.", { command: "keys", hint: `one of: ${RELEASE_ROLES.join(", ")}.` });
  if (!RELEASE_ROLES.includes(role as RoleName)) {
    throw new UsageError(`Unknown role \`${terminalText(role)}\` for \`--role\`.`, { command: "keys", hint: `one of: ${RELEASE_ROLES.join(", ")}.` });
  }
  return role as RoleName;
}

async function rotate(context: CommandContext): Promise<number> {
  const { io } = context;
  const role = roleOption(context);
  const repoGiven = stringOption(context, "repo", "keys");
  if (repoGiven === undefined) throw new UsageError("`keys rotate` needs `--repo <dir>`: the release repository whose key to replace.", { command: "keys" });
  const repo = resolve(io.cwd, repoGiven);
  const given = stringOption(context, "out-env", "keys") ?? `slmops-${role}-key.env`;
  const file = resolve(io.cwd, given);
  await refuseExisting(file, given);

  const settings = await releaseSettings(context, "keys");
  if (!settings) return ExitCode.failure;
  const edge = await import("@slmops/edge-release");
  const state = await edge.loadRepository(repo);

  // The keys each role is trusted for now, from the repository itself.
  const trustedIds = (name: RoleName): { keyIds: readonly string[]; threshold: number } => {
    if (name === "rollout") {
      const delegated = state.targets.signed.delegations?.roles?.[edge.ROLLOUT_ROLE];
      if (!delegated) throw new ConfigurationError(`the targets metadata of ${repoGiven} delegates no rollout role; it was not written by slmops`);
      return { keyIds: delegated.keyIDs, threshold: delegated.threshold };
    }
    const entry = state.root.signed.roles[name];
    if (!entry) throw new ConfigurationError(`the root metadata of ${repoGiven} defines no ${name} role; it was not written by slmops`);
    return { keyIds: entry.keyIDs, threshold: entry.threshold };
  };
  const current = trustedIds(role);
  if (current.keyIds.length !== 1 || current.threshold !== 1) {
    throw new ConfigurationError(
      `the ${role} role of ${repoGiven} has ${current.keyIds.length} keys and a threshold of ${current.threshold}; keys rotate replaces a role's single key. Rotate it with @slmops/edge-release (rotateRoot, rotateRolloutKeys), which take every key and threshold`,
    );
  }
  const oldKeyId = current.keyIds[0] as string;

  // Every key this rotation signs with, from the environment, each checked
  // against the key the repository trusts for its role, before anything is written.
  const signing = new Map<RoleName, SigningKey>();
  for (const name of ROTATION_SIGNERS[role]) {
    const variable = roleKeyVariable(name);
    const key = edge.signingKeyFromEnvironment(variable, io.env);
    const trusted = trustedIds(name).keyIds;
    if (!trusted.includes(key.keyId)) {
      throw new ConfigurationError(
        `${variable} holds key ${key.keyId}, which ${repoGiven} does not trust for the ${name} role (it trusts ${trusted.join(", ")}); set ${variable} to the repository's current ${name} key`,
      );
    }
    signing.set(name, key);
  }
  /** The current key of a role this rotation signs with (read above). */
  const old = (name: RoleName): SigningKey[] => {
    const key = signing.get(name);
    if (!key) throw new Error(`keys rotate --role ${role} read no ${name} key`);
    return [key];
  };

  const newKey = edge.generateSigningKey();
  const variable = roleKeyVariable(role);
  // The new key is on disk before the repository names it: a rotation that
  // fails later loses nothing, one that succeeded cannot have lost its key.
  await writeSecretFile(file, given, `${variable}=${newKey.exportSecret()}\n`);
  const expiry = settings.expiry ? { expiry: settings.expiry } : {};
  let what: string;
  try {
    if (role === "rollout") {
      const rotated = await edge.rotateRolloutKeys(repo, {
        rollout: { keys: [newKey] },
        signers: { targets: old("targets"), rollout: [newKey], snapshot: old("snapshot"), timestamp: old("timestamp") },
        ...expiry,
      });
      what = `targets version ${rotated.targets.signed.version} delegates the rollout role to the new key (root unchanged, version ${rotated.root.signed.version})`;
    } else {
      const online = (name: "snapshot" | "timestamp"): SigningKey[] => (role === name ? [newKey] : old(name));
      const rotated = await edge.rotateRoot(repo, {
        roles: { [role]: { keys: [newKey] } },
        signers: {
          root: role === "root" ? [...old("root"), newKey] : old("root"),
          ...(role === "targets" ? { targets: [newKey] } : {}),
          snapshot: online("snapshot"),
          timestamp: online("timestamp"),
        },
        ...expiry,
      });
      what = `root version ${rotated.root.signed.version} names the new ${role} key${role === "root" ? ", signed by the old root key and the new one" : ""}`;
    }
  } catch (error) {
    throw new ConfigurationError(
      `the rotation of the ${role} key failed after the new key was written to ${given}; keep that file until \`slmops release verify\` shows which key the repository trusts (the new key's id is ${newKey.keyId}): ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }

  const rootFile = `metadata/${state.root.signed.version + (role === "rollout" ? 0 : 1)}.root.json`;
  io.stdout.write(
    `Rotated the ${role} key of ${repoGiven}: ${what}.\n` +
      `  old ${role} key ${oldKeyId}: no longer trusted\n` +
      `  new ${role} key ${newKey.keyId}: its private key is in ${given} (mode 0600), the only copy\n` +
      "Next:\n" +
      "  1. Publish the repository as it is now (every new file under metadata/ and targets/), so devices take up the new key.\n" +
      (role === "root"
        ? "  2. Keep the new root key offline, where the old one was (root signs only rotations). Devices installed with an\n" +
          "     older root follow the chain of root versions: keep every metadata/<N>.root.json on the host.\n"
        : `  2. Replace the repository secret ${variable} with the new key, without showing it:\n` +
          `       grep '^${variable}=' ${given} | cut -d= -f2- | gh secret set ${variable}\n`) +
      `  3. Destroy the old ${role} key now: delete it from every secret store, file and backup that holds it. A device\n` +
      "     refuses what it signs once the device has taken up this change; until then, and on a device installed with\n" +
      `     an older root, it is still a key that device trusts. Install new devices with ${rootFile}.\n` +
      (role === "targets" ? "     Releases published before keep provenance signed by the old key; it verifies against the root versions that list it.\n" : "") +
      `  4. Then delete ${given}.\n`,
  );
  return ExitCode.ok;
}
