/**
 * The embedded store: one SQLite file (better-sqlite3), nothing to install.
 * WAL journal, so readers (fleet status, /metrics) never wait for the
 * writer; `synchronous=FULL` by default, so a report the collector answered
 * 202 for survives a power cut (`normal` trades that for throughput). Reports
 * that arrive together are written in one transaction (group commit: one
 * fsync for the batch, each report in a savepoint of its own, each answered
 * only once the batch is on disk), so durability costs an fsync per batch,
 * not per report. Several
 * collector processes may open the same file on one machine; migrations take
 * the write lock first (`BEGIN IMMEDIATE`), so they apply once.
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { ConfigurationError } from "@slmops/diagnostics";
import { MIGRATIONS, MIGRATIONS_TABLE, SCHEMA_VERSION, newerSchemaMessage } from "./migrations.js";
import type { CheckedReport } from "./report.js";
import {
  COUNTS_SQL, DEVICE_STATES_SQL, deviceStatesFromRows, figuresStatement, fleetStatusFromRows, insertEventsStatement, insertLatencyStatement, insertReportStatement,
  latencyStatement, num, reportDigestStatement, stageStatusStatement, upsertDeviceStatement, type Row, type Statement,
} from "./sql.js";
import type { CollectorStore, DeviceStateCount, FleetFilter, FleetStatus, InsertOutcome, MigrationResult, StoreCounts, TokenRecord } from "./store.js";

export interface SqliteStoreOptions {
  /** The database file; created with its directory when missing. */
  readonly file: string;
  /** `full` (default): every stored report is on disk before it is acknowledged. */
  readonly synchronous?: "full" | "normal";
  /** How long to wait for another process's write lock, in milliseconds (default 5000). */
  readonly busyTimeoutMs?: number;
}

interface PendingInsert {
  readonly report: CheckedReport;
  readonly receivedAt: Date;
  readonly resolve: (outcome: InsertOutcome) => void;
  readonly reject: (error: unknown) => void;
}

/** Reports written in one transaction at most. */
const MAX_BATCH = 256;

export class SqliteStore implements CollectorStore {
  readonly kind = "sqlite" as const;
  readonly location: string;
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();
  readonly #queue: PendingInsert[] = [];
  #flushScheduled = false;

  constructor(options: SqliteStoreOptions) {
    this.location = resolve(options.file);
    try {
      mkdirSync(dirname(this.location), { recursive: true });
      this.#db = new Database(this.location);
    } catch (error) {
      throw new ConfigurationError(
        `cannot open the collector database ${this.location}: ${(error as Error).message}\n  hint: pass --database with a file in a directory this user may write, or a postgres:// URL`,
        { cause: error },
      );
    }
    this.#db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma(`synchronous = ${options.synchronous === "normal" ? "NORMAL" : "FULL"}`);
  }

  #prepare(text: string): Database.Statement {
    let statement = this.#statements.get(text);
    if (!statement) {
      statement = this.#db.prepare(text);
      // Keep the cache small: multi-row INSERTs vary with the number of events.
      if (this.#statements.size > 256) this.#statements.clear();
      this.#statements.set(text, statement);
    }
    return statement;
  }

  #run(statement: Statement): Database.RunResult {
    return this.#prepare(statement.text).run(...statement.params);
  }

  #all(statement: Statement): Row[] {
    return this.#prepare(statement.text).all(...statement.params) as Row[];
  }

  async migrate(): Promise<MigrationResult> {
    const applied: number[] = [];
    const run = this.#db.transaction(() => {
      this.#db.exec(MIGRATIONS_TABLE);
      const done = new Set((this.#db.prepare("SELECT version FROM schema_migrations").all() as Row[]).map((row) => num(row.version)));
      const highest = Math.max(0, ...done);
      if (highest > SCHEMA_VERSION) throw new ConfigurationError(newerSchemaMessage(highest, this.location));
      for (const migration of MIGRATIONS) {
        if (done.has(migration.version)) continue;
        for (const sql of migration.statements("sqlite")) this.#db.exec(sql);
        this.#db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(migration.version, migration.name, new Date().toISOString());
        applied.push(migration.version);
      }
    });
    run.immediate();
    return { applied, version: SCHEMA_VERSION };
  }

  async addToken(device: string, tokenHash: string, at: Date = new Date()): Promise<void> {
    this.#run({ text: "INSERT INTO device_tokens (token_hash, device, created_at) VALUES (?, ?, ?)", params: [tokenHash, device, at.toISOString()] });
  }

  async revokeTokens(device: string, at: Date = new Date()): Promise<number> {
    return this.#run({ text: "UPDATE device_tokens SET revoked_at = ? WHERE device = ? AND revoked_at IS NULL", params: [at.toISOString(), device] }).changes;
  }

  async findToken(tokenHash: string): Promise<TokenRecord | undefined> {
    const row = this.#all({ text: "SELECT device, created_at, revoked_at FROM device_tokens WHERE token_hash = ?", params: [tokenHash] })[0];
    if (!row) return undefined;
    return { device: String(row.device), createdAt: String(row.created_at), ...(row.revoked_at ? { revokedAt: String(row.revoked_at) } : {}) };
  }

  readonly #insert = (report: CheckedReport, receivedAt: Date): InsertOutcome => {
    if (this.#run(insertReportStatement(report, receivedAt)).changes === 0) {
      const stored = this.#all(reportDigestStatement(report.device, report.id))[0];
      return stored?.digest === report.digest ? "duplicate" : "conflict";
    }
    const events = insertEventsStatement(report);
    if (events) this.#run(events);
    const latency = insertLatencyStatement(report);
    if (latency) this.#run(latency);
    this.#run(upsertDeviceStatement(report, receivedAt));
    return "stored";
  };

  insertReport(report: CheckedReport, receivedAt: Date = new Date()): Promise<InsertOutcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ report, receivedAt, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(this.#flush);
      }
    });
  }

  /** Writes what is queued, in batches of one transaction each; answers each report after its batch commits. */
  readonly #flush = (): void => {
    this.#flushScheduled = false;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_BATCH);
      const one = this.#db.transaction(this.#insert);
      const results: ({ ok: true; outcome: InsertOutcome } | { ok: false; error: unknown })[] = [];
      try {
        this.#db
          .transaction(() => {
            for (const item of batch) {
              // A nested transaction is a savepoint: a report that fails is undone alone.
              try {
                results.push({ ok: true, outcome: one(item.report, item.receivedAt) });
              } catch (error) {
                results.push({ ok: false, error });
              }
            }
          })
          .immediate();
      } catch (error) {
        for (const item of batch) item.reject(error);
        continue;
      }
      batch.forEach((item, i) => {
        const result = results[i];
        if (result?.ok) item.resolve(result.outcome);
        else item.reject(result?.error ?? new Error("report not written"));
      });
    }
  };

  async fleetStatus(filter: FleetFilter = {}): Promise<FleetStatus> {
    const read = this.#db.transaction(() => fleetStatusFromRows(this.#all(stageStatusStatement(filter)), this.#all(figuresStatement(filter)), this.#all(latencyStatement(filter))));
    return read.deferred();
  }

  async deviceStates(): Promise<readonly DeviceStateCount[]> {
    return deviceStatesFromRows(this.#all({ text: DEVICE_STATES_SQL, params: [] }));
  }

  async counts(): Promise<StoreCounts> {
    const row = this.#all({ text: COUNTS_SQL, params: [] })[0] ?? {};
    return { reports: num(row.reports), events: num(row.events), devices: num(row.devices), tokens: num(row.tokens) };
  }

  async ping(): Promise<void> {
    this.#db.prepare("SELECT 1").get();
  }

  async close(): Promise<void> {
    if (this.#queue.length > 0) this.#flush();
    if (this.#db.open) this.#db.close();
  }
}
