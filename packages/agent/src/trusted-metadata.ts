/**
 * The TUF metadata the device trusts, kept durably. tuf-js's `Updater`
 * verifies metadata as the specification says, but writes what it trusts
 * with a plain write (no fsync, no rename), and keeps only the latest of
 * each role. So the agent never lets it write the durable copy: each check
 * runs the `Updater` on a scratch copy (`state/work`), and only when the
 * whole check verified are the files that changed written back into
 * `state/trusted`, each atomically (root first). A power cut leaves each
 * trusted file old or new, never torn, and a refused check leaves the
 * trusted state exactly as it was.
 */
import { copyFile, mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "@slmops/atomic-file";
import { readRegularFile } from "@slmops/contained-fs";
import { ConfigurationError, terminalText } from "@slmops/diagnostics";
import { Updater } from "tuf-js";
import type { AgentLayout } from "./layout.js";

const MAX_METADATA_BYTES = 16 * 1024 * 1024;
const NAME = /^[A-Za-z0-9._-]+\.json$/;
/** Written back in this order: a new root before what it signs. */
const ORDER = ["root.json", "targets.json", "snapshot.json", "timestamp.json"];

export interface TrustedMetadataOptions {
  readonly repository: string;
  readonly trustedRoot: string;
  /** Longest one metadata request may take. */
  readonly timeoutMs: number;
}

export interface TrustedSession {
  readonly updater: Updater;
  /** Whether this device had no trusted metadata before (the trust anchor was installed now). */
  readonly firstRun: boolean;
  /** Writes what the check verified back into the durable copy. */
  commit(): Promise<string[]>;
}

async function readMetadataFile(path: string, what: string): Promise<Buffer> {
  return readRegularFile(path, { maxBytes: MAX_METADATA_BYTES, what, noFollow: true });
}

async function jsonFiles(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).filter((name) => NAME.test(name));
}

/**
 * A fresh scratch copy of the trusted metadata (on the first run, the trust
 * anchor from the configuration) and an `Updater` over it.
 */
export async function openTrustedMetadata(layout: AgentLayout, options: TrustedMetadataOptions): Promise<TrustedSession> {
  await mkdir(layout.trusted, { recursive: true });
  await rm(layout.work, { recursive: true, force: true });
  await mkdir(layout.work, { recursive: true });
  const trusted = await jsonFiles(layout.trusted);
  const firstRun = !trusted.includes("root.json");
  if (firstRun) {
    const root = await readMetadataFile(options.trustedRoot, "trusted root metadata");
    let parsed: unknown;
    try {
      parsed = JSON.parse(root.toString("utf8"));
    } catch (error) {
      throw new ConfigurationError(`the trusted root ${options.trustedRoot} is not JSON; install the release repository's metadata/1.root.json there`, { cause: error });
    }
    const type = (parsed as { signed?: { _type?: unknown } } | null)?.signed?._type;
    if (type !== "root") {
      throw new ConfigurationError(
        `the trusted root ${options.trustedRoot} is not TUF root metadata (${typeof type === "string" ? `it is ${terminalText(type)} metadata` : "it has no signed._type"}); install the release repository's metadata/1.root.json there`,
      );
    }
    await writeFileAtomic(join(layout.work, "root.json"), root);
  } else {
    for (const name of trusted) await copyFile(join(layout.trusted, name), join(layout.work, name));
  }
  const updater = new Updater({
    metadataDir: layout.work,
    metadataBaseUrl: `${options.repository}/metadata`,
    targetBaseUrl: `${options.repository}/targets`,
    config: { fetchTimeout: options.timeoutMs, fetchRetries: 0 },
  });
  return {
    updater,
    firstRun,
    async commit() {
      const names = await jsonFiles(layout.work);
      names.sort((a, b) => (ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99));
      const written: string[] = [];
      for (const name of names) {
        const bytes = await readMetadataFile(join(layout.work, name), "verified metadata");
        const old = await readMetadataFile(join(layout.trusted, name), "trusted metadata").catch(() => undefined);
        if (old?.equals(bytes)) continue;
        await writeFileAtomic(join(layout.trusted, name), bytes);
        written.push(name);
      }
      return written;
    },
  };
}
