/**
 * A release repository for the CLI's release and keys tests, without a
 * project to build: `slmops keys init`'s keys, a repository made with them
 * by @slmops/edge-release holding one release (stable/tiny-llm 1.0.0) and
 * its rollout state, served on 127.0.0.1 as a static host would, and
 * devices that read it with tuf-js's `Updater`, installed with root v1.
 */
import { createHash } from "node:crypto";
import { copyFileSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  initRepository,
  metadataDirectory,
  publishRelease,
  rolloutTargetPath,
  setRolloutState,
  signingKeyFromSecret,
  type RepositoryState,
  type RoleName,
  type Signers,
  type SigningKey,
} from "@slmops/edge-release";
import { Metadata, type Root, Snapshot, type Targets, Timestamp } from "@tufjs/models";
import { Updater } from "tuf-js";
import { afterEach, expect } from "vitest";
import { hasStackTrace, runCli, type CliRun } from "./run-cli.js";

export const ROLES: readonly RoleName[] = ["root", "targets", "rollout", "snapshot", "timestamp"];
export const variable = (role: RoleName): string => `SLMOPS_${role.toUpperCase()}_KEY`;
export const MODEL = "stable/tiny-llm/1.0.0/rpi5/model.onnx";
export const ROLLOUT = rolloutTargetPath("stable", "tiny-llm");

export interface Setup {
  readonly dir: string;
  readonly repo: string;
  /** The keys `keys init` wrote, by variable. */
  readonly env: Record<string, string>;
  readonly keys: Record<RoleName, SigningKey>;
  /** Every role's key, to sign with edge-release directly. */
  readonly signers: Signers;
  readonly url: string;
  /** Every CLI run, to check that no private key reached an output. */
  readonly runs: CliRun[];
  run(args: readonly string[], env: Record<string, string>): CliRun;
  device(name: string): { metadataDir: string; targetDir: string };
}

const cleanups: (() => Promise<void>)[] = [];
/** Each test's repository and server are removed after it. */
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A key file's `NAME=value` lines as an environment (its `#` comment lines, as `keys init --dev` writes, skipped). */
export function envFile(file: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => line.trim() !== "" && !line.startsWith("#"))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
}

/** Only the given roles' keys in the environment; every other SLMOPS_<ROLE>_KEY set empty (not set). */
export function only(env: Record<string, string>, ...roles: RoleName[]): Record<string, string> {
  return Object.fromEntries(ROLES.map((role) => [variable(role), roles.includes(role) ? (env[variable(role)] as string) : ""]));
}

/** `keys init`'s keys, a repository made with them holding a release and its rollout state, served on 127.0.0.1. */
export async function setup(): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), "slmops-keys-"));
  const runs: CliRun[] = [];
  const run = (args: readonly string[], env: Record<string, string>): CliRun => {
    const r = runCli(args, { cwd: dir, env });
    runs.push(r);
    expect(hasStackTrace(r.stderr), r.stderr).toBe(false);
    return r;
  };
  expect(run(["keys", "init", "--out-env", "keys.env"], {}).status).toBe(0);
  const env = envFile(join(dir, "keys.env"));
  const keys = Object.fromEntries(ROLES.map((role) => [role, signingKeyFromSecret(env[variable(role)] as string, variable(role))])) as Record<RoleName, SigningKey>;
  const signers: Signers = Object.fromEntries(ROLES.map((role) => [role, [keys[role]]]));
  const repo = join(dir, "repo");
  await initRepository(repo, { roles: Object.fromEntries(ROLES.map((role) => [role, { keys: [keys[role]] }])) as Record<RoleName, { keys: SigningKey[] }>, signers });

  const variant = join(dir, "variant");
  mkdirSync(variant);
  const files = [
    { name: "model.onnx", content: Buffer.from("onnx graph") },
    { name: "model.onnx.data", content: Buffer.alloc(4096, 7) },
  ].map(({ name, content }) => {
    writeFileSync(join(variant, name), content);
    return { name, bytes: content.length, sha256: sha256(content) };
  });
  await publishRelease(
    repo,
    {
      channel: "stable",
      model: "tiny-llm",
      version: "1.0.0",
      sourceCommit: "0123456789abcdef0123456789abcdef01234567",
      manifestDigest: "ab".repeat(32),
      rolloutPlan: { stages: [{ percent: 5, soakMs: 0 }, { percent: 100, soakMs: 0 }] },
      targets: [{ deviceClass: "rpi5", variant: "int8", directory: variant, identity: { files, digest: sha256(Buffer.from(JSON.stringify(files))) }, verdict: { outcome: "pass", figures: {} }, healthCheck: { input: [1] } }],
    },
    { signers },
  );
  await setRolloutState(repo, { channel: "stable", model: "tiny-llm", version: "1.0.0", stage: 0, salt: "5a".repeat(16), halted: false }, { signers });

  const server = createServer((request, response) => {
    const file = join(repo, decodeURIComponent(new URL(request.url ?? "/", "http://127.0.0.1").pathname));
    if (!file.startsWith(`${repo}/`) || !existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-length": statSync(file).size });
    createReadStream(file).pipe(response);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  cleanups.push(async () => {
    await new Promise<void>((done) => server.close(() => done()));
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    repo,
    env,
    keys,
    signers,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    runs,
    run,
    device(name) {
      const metadataDir = join(dir, "devices", name, "metadata");
      const targetDir = join(dir, "devices", name, "targets");
      mkdirSync(metadataDir, { recursive: true });
      mkdirSync(targetDir, { recursive: true });
      copyFileSync(join(metadataDirectory(repo), "1.root.json"), join(metadataDir, "root.json"));
      return { metadataDir, targetDir };
    },
  };
}

/** A fresh client on the device, as the agent runs one per check. */
export function updater(s: Setup, dev: { metadataDir: string; targetDir: string }): Updater {
  return new Updater({ ...dev, metadataBaseUrl: `${s.url}/metadata`, targetBaseUrl: `${s.url}/targets`, config: { fetchRetries: 0 } });
}

export function trustedRoot(dev: { metadataDir: string }): { version: number; roles: Record<string, { keyids: string[] }> } {
  return (JSON.parse(readFileSync(join(dev.metadataDir, "root.json"), "utf8")) as { signed: { version: number; roles: Record<string, { keyids: string[] }> } }).signed;
}

export function writeMetadata(s: Setup, file: string, metadata: Metadata<Root | Targets | Snapshot | Timestamp>): void {
  writeFileSync(join(metadataDirectory(s.repo), file), JSON.stringify(metadata.toJSON()));
}

/** A new snapshot (naming `meta` changes) and timestamp over `state`, signed with the given keys. */
export function forgeSnapshotAndTimestamp(s: Setup, state: RepositoryState, meta: object, snapshotKey: SigningKey, timestampKey: SigningKey): void {
  const snapshot = new Metadata(Snapshot.fromJSON({ ...state.snapshot.signed.toJSON(), version: state.snapshot.signed.version + 1, meta: { ...(state.snapshot.signed.toJSON()["meta"] as object), ...meta } }));
  snapshot.sign(snapshotKey.signer);
  writeMetadata(s, `${snapshot.signed.version}.snapshot.json`, snapshot);
  const timestamp = new Metadata(Timestamp.fromJSON({ ...state.timestamp.signed.toJSON(), version: state.timestamp.signed.version + 1, meta: { "snapshot.json": { version: snapshot.signed.version } } }));
  timestamp.sign(timestampKey.signer);
  writeMetadata(s, "timestamp.json", timestamp);
}

/** No private key — `keys init`'s, or any the rotations wrote — in any output of any run. */
export function expectNoSecretInOutput(s: Setup, ...files: string[]): void {
  const secrets = [...Object.values(s.env), ...files.flatMap((file) => Object.values(envFile(join(s.dir, file))))];
  expect(secrets.length).toBeGreaterThan(ROLES.length - 1);
  for (const r of s.runs) for (const secret of secrets) expect(r.stdout + r.stderr).not.toContain(secret);
}

