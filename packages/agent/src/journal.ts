/**
 * The agent's journal: what is installed and what it was doing, written
 * atomically (temporary file, fsync, rename, directory fsync) before each
 * step that changes the device, so a run killed at any instant is finished
 * or undone by the next one. It is the agent's only state besides the files
 * it describes; the `active` link is the truth about which model runs, and
 * recovery reconciles the two.
 */
import { writeJsonAtomic } from "@slmops/atomic-file";
import { readRegularFile } from "@slmops/contained-fs";

/** The steps of an update, in order (Mender-style: each is entered in the journal before it starts). */
export const UPDATE_STEPS = ["downloading", "verifying", "installing", "health-checking", "switching"] as const;
export type UpdateStep = (typeof UPDATE_STEPS)[number];

/** An installed version. */
export interface InstalledVersion {
  readonly version: string;
  /** The variant's identity digest. */
  readonly digest: string;
  /** Its directory's name under `versions/`. */
  readonly dir: string;
}

export interface PendingUpdate extends InstalledVersion {
  readonly step: UpdateStep;
  readonly startedAt: string;
}

export interface Journal {
  readonly format: 1;
  readonly active: InstalledVersion | null;
  /** The version before the active one, kept for rollback. */
  readonly previous: InstalledVersion | null;
  readonly pending: PendingUpdate | null;
  /** Releases that failed their health check here, by version → digest; not retried until a newer release appears. */
  readonly failed: Readonly<Record<string, { readonly digest: string; readonly reason: string; readonly at: string }>>;
  /** Consecutive failed attempts, for the backoff. */
  readonly failures: number;
  /** Health checks of a release that never finished (the agent died during them), by version: a release that takes the agent down is not retried forever. */
  readonly interrupted?: Readonly<Record<string, number>>;
  readonly lastCheck: string | null;
}

export const EMPTY_JOURNAL: Journal = { format: 1, active: null, previous: null, pending: null, failed: {}, failures: 0, lastCheck: null, interrupted: {} };

const MAX_JOURNAL_BYTES = 1024 * 1024;
/** Failed releases remembered (the oldest are forgotten). */
const MAX_FAILED = 32;

function isInstalled(value: unknown): value is InstalledVersion {
  const v = value as Partial<InstalledVersion> | null;
  return typeof v === "object" && v !== null && typeof v.version === "string" && typeof v.digest === "string" && typeof v.dir === "string" && /^[^/\\]+$/.test(v.dir) && !v.dir.startsWith(".");
}

/**
 * Reads the journal. A missing journal is a fresh device; one that does not
 * parse (it is only ever replaced whole, so that means someone edited it) is
 * set aside as if fresh — recovery then trusts the `active` link alone.
 */
export async function readJournal(file: string): Promise<{ journal: Journal; problem?: string }> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(file, { maxBytes: MAX_JOURNAL_BYTES, what: "agent journal" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as { reason?: string }).reason === "missing") return { journal: EMPTY_JOURNAL };
    throw error;
  }
  try {
    const raw = JSON.parse(bytes.toString("utf8")) as Partial<Journal>;
    if (raw.format !== 1) throw new Error("unknown format");
    const pending = raw.pending && isInstalled(raw.pending) && (UPDATE_STEPS as readonly string[]).includes(raw.pending.step) ? raw.pending : null;
    return {
      journal: {
        format: 1,
        active: isInstalled(raw.active) ? raw.active : null,
        previous: isInstalled(raw.previous) ? raw.previous : null,
        pending,
        failed: typeof raw.failed === "object" && raw.failed !== null ? raw.failed : {},
        failures: Number.isInteger(raw.failures) && (raw.failures ?? 0) >= 0 ? (raw.failures as number) : 0,
        lastCheck: typeof raw.lastCheck === "string" ? raw.lastCheck : null,
        interrupted: typeof raw.interrupted === "object" && raw.interrupted !== null ? raw.interrupted : {},
      },
    };
  } catch {
    return { journal: EMPTY_JOURNAL, problem: `${file} does not parse; starting from the installed files` };
  }
}

export async function writeJournal(file: string, journal: Journal): Promise<void> {
  const failed = Object.entries(journal.failed).sort(([, a], [, b]) => (a.at < b.at ? 1 : -1)).slice(0, MAX_FAILED);
  await writeJsonAtomic(file, { ...journal, failed: Object.fromEntries(failed) });
}
