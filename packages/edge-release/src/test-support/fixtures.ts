/**
 * A repository in a temporary directory served over loopback HTTP, the
 * devices that read it with tuf-js's `Updater`, and built variants to
 * release: what the tests that run a real client share.
 */
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Updater } from "tuf-js";
import { generateSigningKey, initRepository, metadataDirectory, type Release, type RoleName, type Signers, type SigningKey } from "../index.js";
import { serveDirectory, type StaticServer } from "./static-server.js";

export const DAY = 24 * 60 * 60 * 1000;
export const MODEL = "stable/tiny-llm/1.0.0/rpi5/model.onnx";

export function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export interface Device {
  readonly metadataDir: string;
  readonly targetDir: string;
}

export interface Fixture {
  readonly work: string;
  readonly repo: string;
  readonly keys: Record<RoleName, SigningKey>;
  readonly signers: Signers;
  readonly server: StaticServer;
  /** A built variant and a release of it on the stable channel. */
  release(version: string, seed?: string): Release;
  /** A device whose metadata directory starts with the trusted root (version 1) only. */
  device(name: string): Device;
  /** A fresh client on the device, against `baseUrl` (default: the repository's server). */
  updater(dev: Device, baseUrl?: string): Updater;
  close(): Promise<void>;
}

export async function createFixture(): Promise<Fixture> {
  const work = mkdtempSync(join(tmpdir(), "edge-release-"));
  const repo = join(work, "repo");
  const keys: Record<RoleName, SigningKey> = {
    root: generateSigningKey(),
    targets: generateSigningKey(),
    snapshot: generateSigningKey(),
    timestamp: generateSigningKey(),
    rollout: generateSigningKey(),
  };
  const signers: Signers = { root: [keys.root], targets: [keys.targets], snapshot: [keys.snapshot], timestamp: [keys.timestamp], rollout: [keys.rollout] };
  await initRepository(repo, {
    roles: { root: { keys: [keys.root] }, targets: { keys: [keys.targets] }, snapshot: { keys: [keys.snapshot] }, timestamp: { keys: [keys.timestamp] }, rollout: { keys: [keys.rollout] } },
    signers,
  });
  const server = await serveDirectory(repo);
  return {
    work,
    repo,
    keys,
    signers,
    server,
    release(version, seed = version) {
      const directory = join(work, "variants", `${version}-${seed}`);
      mkdirSync(directory, { recursive: true });
      const files = [
        { name: "model.onnx", content: Buffer.from(`onnx graph ${seed}`) },
        { name: "model.onnx.data", content: Buffer.alloc(4096, seed) },
      ].map(({ name, content }) => {
        writeFileSync(join(directory, name), content);
        return { name, bytes: content.length, sha256: sha256(content) };
      });
      return {
        channel: "stable",
        model: "tiny-llm",
        version,
        sourceCommit: "0123456789abcdef0123456789abcdef01234567",
        manifestDigest: "ab".repeat(32),
        rolloutPlan: { stages: [{ percent: 5, soak: "24h" }, { percent: 100, soak: "0s" }] },
        targets: [
          {
            deviceClass: "rpi5",
            variant: "int4",
            directory,
            identity: { files, digest: sha256(Buffer.from(JSON.stringify(files))) },
            verdict: { outcome: "pass", figures: { "peak-memory": 402653184 } },
            healthCheck: { input: [1, 2, 3], topTokens: [42, 7], tolerance: 0.001 },
          },
        ],
      };
    },
    device(name) {
      const metadataDir = join(work, "devices", name, "metadata");
      const targetDir = join(work, "devices", name, "targets");
      mkdirSync(metadataDir, { recursive: true });
      mkdirSync(targetDir, { recursive: true });
      copyFileSync(join(metadataDirectory(repo), "1.root.json"), join(metadataDir, "root.json"));
      return { metadataDir, targetDir };
    },
    updater(dev, baseUrl = server.url) {
      return new Updater({
        metadataDir: dev.metadataDir,
        targetDir: dev.targetDir,
        metadataBaseUrl: `${baseUrl}/metadata`,
        targetBaseUrl: `${baseUrl}/targets`,
        config: { fetchRetries: 0 },
      });
    },
    async close() {
      await server.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** The device's trusted metadata: every file of its metadata directory, by name. */
export function trustedMetadata(dev: Device): Record<string, string> {
  return Object.fromEntries(readdirSync(dev.metadataDir).sort().map((name) => [name, readFileSync(join(dev.metadataDir, name), "utf8")]));
}
