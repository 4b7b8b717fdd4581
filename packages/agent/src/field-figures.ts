/**
 * Field figures, for the application that runs the model: how long each
 * inference took (counted into the fixed buckets every device shares, so
 * the collector can merge them into fleet percentiles), how many failed,
 * the model's load time and the process's peak memory — counts only, never
 * a prompt or an output.
 *
 *     const figures = new FieldRecorder("/var/lib/slmops");
 *     const model = await activeModel("/var/lib/slmops");
 *     figures.recordLoad(model.version, loadMs);
 *     const t = performance.now();
 *     try { await session.run(feeds); figures.recordInference(model.version, performance.now() - t); }
 *     catch (error) { figures.recordError(model.version); throw error; }
 *     …
 *     await figures.close(); // on shutdown: what is counted is written
 *
 * The recorder writes what it counted every `flushEveryMs` (default one
 * minute) as one file per release under `<install-dir>/state/field/`, each
 * written atomically under a name of its own; the agent sends each as a
 * report on its next check and removes it once the collector has it. The
 * application and the agent need share nothing else: no socket, no lock.
 */
import { randomUUID } from "node:crypto";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeJsonAtomic } from "@slmops/atomic-file";
import { readRegularFile } from "@slmops/contained-fs";
import { LATENCY_BUCKET_COUNT, LATENCY_BUCKETS_MS, LatencyHistogram } from "@slmops/latency-histogram";
import { agentLayout } from "./layout.js";

/** How often a recorder writes its counts, by default. */
export const DEFAULT_FIELD_FLUSH_MS = 60_000;
/** Figure files the agent takes per check (the rest wait for the next one). */
export const MAX_FIELD_FILES_PER_CHECK = 100;
/** A figure file is a few hundred bytes; anything larger is not one. */
const MAX_FIELD_FILE_BYTES = 16 * 1024;
const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+-]{0,127}$/;

/** What one figure file holds: one release's counts since the previous file. */
export interface FieldFigures {
  /** The report id the agent sends these under (kept across its retries, so they are counted once). */
  readonly id: string;
  /** When the recorder wrote them (the report's `sentAt`). */
  readonly recordedAt: string;
  readonly release: string;
  readonly latencyBucketsMs: readonly number[];
  readonly latencyCounts: readonly number[];
  readonly inferences: number;
  readonly errors: number;
  readonly loadMs?: number;
  readonly memoryBytes?: number;
}

interface Pending {
  histogram: LatencyHistogram;
  errors: number;
  loadMs?: number;
}

/** Counts inferences in the application, per release, and leaves them for the agent to report. */
export class FieldRecorder {
  readonly #dir: string;
  readonly #pending = new Map<string, Pending>();
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #onError: (error: unknown) => void;
  #flushing: Promise<number> = Promise.resolve(0);

  constructor(installDir: string, options: { readonly flushEveryMs?: number; readonly onError?: (error: unknown) => void } = {}) {
    this.#dir = agentLayout(installDir).field;
    this.#onError = options.onError ?? ((error) => process.emitWarning(`slmops field figures not written: ${error instanceof Error ? error.message : String(error)}`));
    const every = options.flushEveryMs ?? DEFAULT_FIELD_FLUSH_MS;
    if (every > 0) {
      this.#timer = setInterval(() => void this.flush().catch(this.#onError), every);
      this.#timer.unref(); // never keeps the application alive
    }
  }

  #of(version: string): Pending {
    if (!VERSION.test(version)) throw new RangeError(`not a release version: ${JSON.stringify(version).slice(0, 80)}`);
    let pending = this.#pending.get(version);
    if (!pending) {
      pending = { histogram: new LatencyHistogram(), errors: 0 };
      this.#pending.set(version, pending);
    }
    return pending;
  }

  /** One inference of `version` that took `latencyMs` milliseconds. */
  recordInference(version: string, latencyMs: number): void {
    this.#of(version).histogram.record(latencyMs);
  }

  /** One inference of `version` that failed (an error, not a wrong answer). */
  recordError(version: string): void {
    this.#of(version).errors += 1;
  }

  /** How long loading `version` took, in milliseconds. */
  recordLoad(version: string, loadMs: number): void {
    if (!Number.isFinite(loadMs) || loadMs < 0) throw new RangeError(`a load time is a finite number of milliseconds ≥ 0, not ${loadMs}`);
    this.#of(version).loadMs = loadMs;
  }

  /** Writes what was counted since the last flush (one file per release); returns the files written. */
  flush(): Promise<number> {
    // One flush at a time: counts taken by one are not taken by the next.
    this.#flushing = this.#flushing.then(
      () => this.#write(),
      () => this.#write(),
    );
    return this.#flushing;
  }

  async #write(): Promise<number> {
    const taken = [...this.#pending.entries()].filter(([, p]) => p.histogram.total > 0 || p.errors > 0 || p.loadMs !== undefined);
    if (taken.length === 0) return 0;
    for (const [version] of taken) this.#pending.delete(version);
    const memoryBytes = process.resourceUsage().maxRSS * 1024; // peak resident memory (maxRSS is in KiB)
    let written = 0;
    try {
      await mkdir(this.#dir, { recursive: true });
      for (const [release, p] of taken) {
        const recordedAt = new Date().toISOString();
        const figures: FieldFigures = {
          id: randomUUID(),
          recordedAt,
          release,
          latencyBucketsMs: [...LATENCY_BUCKETS_MS],
          latencyCounts: p.histogram.counts(),
          inferences: p.histogram.total,
          errors: p.errors,
          ...(p.loadMs === undefined ? {} : { loadMs: p.loadMs }),
          memoryBytes,
        };
        await writeJsonAtomic(join(this.#dir, `${recordedAt.replace(/[:.]/g, "-")}-${figures.id}.json`), figures, { indent: 0 });
        written++;
      }
    } catch (error) {
      // Not lost: what could not be written is counted again into the next flush.
      for (const [version, p] of taken.slice(written)) {
        const now = this.#of(version);
        now.histogram.merge(p.histogram);
        now.errors += p.errors;
        if (now.loadMs === undefined && p.loadMs !== undefined) now.loadMs = p.loadMs;
      }
      throw error;
    }
    return written;
  }

  /** Stops the periodic flush and writes what is left. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.flush();
  }
}

/** A figure file the agent found: its figures, or why it is not one (it is then removed). */
export type FieldFile = { readonly file: string; readonly figures: FieldFigures } | { readonly file: string; readonly problem: string };

function isCount(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 1e12;
}

/** Checks a figure file's content; the collector checks the report again. */
function parseFigures(value: unknown): FieldFigures | string {
  const f = value as Partial<FieldFigures> | null;
  if (typeof f !== "object" || f === null) return "not a JSON object";
  if (typeof f.id !== "string" || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(f.id)) return "no report id";
  if (typeof f.recordedAt !== "string" || Number.isNaN(Date.parse(f.recordedAt))) return "no time";
  if (typeof f.release !== "string" || !VERSION.test(f.release)) return "no release version";
  if (!Array.isArray(f.latencyCounts) || f.latencyCounts.length !== LATENCY_BUCKET_COUNT || !f.latencyCounts.every(isCount)) return `latencyCounts is not ${LATENCY_BUCKET_COUNT} counts`;
  if (JSON.stringify(f.latencyBucketsMs) !== JSON.stringify(LATENCY_BUCKETS_MS)) return "its buckets are not the report format's";
  if (!isCount(f.inferences) || f.inferences !== f.latencyCounts.reduce((a, b) => a + b, 0)) return "inferences does not equal the latency counts' sum";
  if (!isCount(f.errors)) return "errors is not a count";
  if (f.loadMs !== undefined && !(typeof f.loadMs === "number" && f.loadMs >= 0 && f.loadMs <= 86_400_000)) return "loadMs is out of range";
  if (f.memoryBytes !== undefined && !(isCount(f.memoryBytes) && f.memoryBytes <= 2 ** 40)) return "memoryBytes is out of range";
  // Only these fields go on, whatever else the file holds.
  return {
    id: f.id,
    recordedAt: f.recordedAt,
    release: f.release,
    latencyBucketsMs: [...LATENCY_BUCKETS_MS],
    latencyCounts: [...f.latencyCounts],
    inferences: f.inferences,
    errors: f.errors,
    ...(f.loadMs === undefined ? {} : { loadMs: f.loadMs }),
    ...(f.memoryBytes === undefined ? {} : { memoryBytes: f.memoryBytes }),
  };
}

/** The figure files waiting in `fieldDir`, oldest first, at most {@link MAX_FIELD_FILES_PER_CHECK}. */
export async function readFieldFiles(fieldDir: string): Promise<FieldFile[]> {
  const names = await readdir(fieldDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [] as string[];
    throw error;
  });
  const out: FieldFile[] = [];
  for (const name of names.filter((n) => n.endsWith(".json") && !n.startsWith(".")).sort().slice(0, MAX_FIELD_FILES_PER_CHECK)) {
    const file = join(fieldDir, name);
    try {
      const parsed = parseFigures(JSON.parse((await readRegularFile(file, { maxBytes: MAX_FIELD_FILE_BYTES, what: "field figures" })).toString("utf8")));
      out.push(typeof parsed === "string" ? { file, problem: parsed } : { file, figures: parsed });
    } catch (error) {
      out.push({ file, problem: error instanceof Error ? error.message.split("\n")[0] ?? "unreadable" : String(error) });
    }
  }
  return out;
}

/** Removes a figure file the agent has taken (into its outbox) or refused. */
export async function removeFieldFile(file: string): Promise<void> {
  await rm(file, { force: true });
}
