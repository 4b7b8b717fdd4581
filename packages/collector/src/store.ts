/**
 * The collector's storage, behind one small interface with two real
 * implementations: SQLite (one file, the embedded default) and PostgreSQL
 * (several stateless collectors behind a load balancer share one database).
 * Everything the collector, `fleet status` and `release promote` need goes
 * through it; the same test suite runs against both.
 */
import type { CheckedReport } from "./report.js";

/** A device token as stored: only its sha256, never the token. */
export interface TokenRecord {
  readonly device: string;
  readonly createdAt: string;
  /** Set once the token is revoked: it is then refused (403), never deleted, so a revoked token stays known. */
  readonly revokedAt?: string;
}

/** What storing a report did: stored now, stored before with the same content, or an id already used for other content. */
export type InsertOutcome = "stored" | "duplicate" | "conflict";

export interface FleetFilter {
  readonly model?: string;
  readonly channel?: string;
  readonly release?: string;
}

/**
 * One release, stage and device class, from the devices' events. A device
 * counts once in each figure, in the highest stage it acted in for the release.
 */
export interface StageStatus {
  readonly model: string;
  readonly channel: string;
  readonly release: string;
  /** The rollout stage (0-based), or null when the events did not say. */
  readonly stage: number | null;
  readonly deviceClass: string;
  /** Devices that started taking the release up (downloading, or any later step). */
  readonly targeted: number;
  /** Devices on which it became active. */
  readonly updated: number;
  /** Updated devices still running it. */
  readonly healthy: number;
  /** Devices that rolled it back (a failed health check). */
  readonly rolledBack: number;
  /** Devices with a failure a retry cannot fix (not counting roll-backs). */
  readonly failed: number;
  /** `failed` events of any kind, retryable ones included. */
  readonly failureEvents: number;
}

/** Field figures of one release on one device class, added up over every report. */
export interface ReleaseFigures {
  readonly model: string;
  readonly channel: string;
  readonly release: string;
  readonly deviceClass: string;
  /** Devices that reported figures of this release. */
  readonly devices: number;
  readonly reports: number;
  readonly inferences: number;
  readonly errors: number;
  /** The merged latency histogram: counts per bucket of LATENCY_BUCKETS_MS, then the overflow. */
  readonly latencyCounts: readonly number[];
  readonly loadMsMax?: number;
  readonly loadMsMean?: number;
  readonly memoryBytesMax?: number;
}

export interface FleetStatus {
  readonly stages: readonly StageStatus[];
  readonly figures: readonly ReleaseFigures[];
}

/** Devices by the release they run (`""` for none known) and their last transition. */
export interface DeviceStateCount {
  readonly model: string;
  readonly channel: string;
  readonly release: string;
  readonly state: string;
  readonly devices: number;
}

/** Rows in the tables that hold reports: what tests and the load harness count. */
export interface StoreCounts {
  readonly reports: number;
  readonly events: number;
  readonly devices: number;
  readonly tokens: number;
}

export interface MigrationResult {
  /** The versions this call applied (empty when the database was up to date). */
  readonly applied: readonly number[];
  /** The schema version the database is at now. */
  readonly version: number;
}

export interface CollectorStore {
  readonly kind: "sqlite" | "postgres";
  /** Where the data is, safe to print: the file, or the URL without its password. */
  readonly location: string;
  /** Brings the schema up to date; safe to call from several collectors at once. */
  migrate(): Promise<MigrationResult>;
  addToken(device: string, tokenHash: string, at?: Date): Promise<void>;
  /** Revokes every live token of the device; how many were revoked. */
  revokeTokens(device: string, at?: Date): Promise<number>;
  findToken(tokenHash: string): Promise<TokenRecord | undefined>;
  /** Stores a report once per (device, id), in one transaction with its events and figures. */
  insertReport(report: CheckedReport, receivedAt?: Date): Promise<InsertOutcome>;
  fleetStatus(filter?: FleetFilter): Promise<FleetStatus>;
  deviceStates(): Promise<readonly DeviceStateCount[]>;
  counts(): Promise<StoreCounts>;
  /** Resolves when the database answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
