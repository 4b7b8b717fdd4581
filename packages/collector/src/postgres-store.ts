/**
 * The store for fleets that outgrow one machine: PostgreSQL (`pg`), shared
 * by any number of stateless collectors. Each report is one statement, so
 * one round trip and its own transaction: the report's row is inserted with
 * `ON CONFLICT DO NOTHING` on its (device, id) key (two collectors receiving
 * the same retry store it once), and its events, histogram and device row are
 * written by data-modifying CTEs only when that insert happened. Migrations run under a
 * session advisory lock, so collectors starting together apply each once.
 */
import pg from "pg";
import { ConfigurationError } from "@slmops/diagnostics";
import { MIGRATIONS, MIGRATIONS_TABLE, SCHEMA_VERSION, newerSchemaMessage } from "./migrations.js";
import type { CheckedReport } from "./report.js";
import {
  COUNTS_SQL, DEVICE_COLUMNS, DEVICE_STATES_SQL, EVENT_COLUMNS, EVENT_PG_TYPES, LATENCY_COLUMNS, LATENCY_PG_TYPES, deviceStatesFromRows, deviceUpsert, figuresStatement,
  fleetStatusFromRows, insertEventsStatement, insertReportStatement, latencyRows, latencyStatement, num, reportDigestStatement, stageStatusStatement, typedPlaceholders,
  type Row, type Statement,
} from "./sql.js";
import type { CollectorStore, DeviceStateCount, FleetFilter, FleetStatus, InsertOutcome, MigrationResult, StoreCounts, TokenRecord } from "./store.js";

/** The advisory lock key migrations hold ("slmops" in ASCII). */
export const MIGRATION_LOCK_KEY = 0x736c6d6f7073;

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database` (libpq's URL form). */
  readonly url: string;
  /** Connections in this collector's pool (default 10). */
  readonly poolSize?: number;
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(an unparsable PostgreSQL URL)";
  }
}

/** `?` placeholders as `$1`, `$2` … (the shared SQL has no `?` inside literals). */
export function numberPlaceholders(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}

const DEVICE_PG_TYPES = DEVICE_COLUMNS.map(() => "text");

/**
 * The whole report as one statement: `ins` inserts its row (or nothing, when
 * the key exists); the other CTEs insert only `WHERE EXISTS (SELECT 1 FROM
 * ins)`; the result says whether it was inserted and, if not, the stored
 * digest (null when a concurrent insert committed after this statement's
 * snapshot: the caller reads it again).
 */
export function insertReportCte(report: CheckedReport, receivedAt: Date): Statement {
  const row = insertReportStatement(report, receivedAt);
  const parts = [`ins AS (${row.text} RETURNING 1)`];
  const params: unknown[] = [...row.params];
  const events = insertEventsStatement(report);
  if (events) {
    parts.push(`ev AS (INSERT INTO report_events (${EVENT_COLUMNS.join(", ")}) SELECT * FROM (VALUES ${typedPlaceholders(EVENT_PG_TYPES, report.events.length)}) AS v (${EVENT_COLUMNS.join(", ")}) WHERE EXISTS (SELECT 1 FROM ins))`);
    params.push(...events.params);
  }
  const latency = latencyRows(report);
  if (latency.length > 0) {
    parts.push(`lat AS (INSERT INTO report_latency (${LATENCY_COLUMNS.join(", ")}) SELECT * FROM (VALUES ${typedPlaceholders(LATENCY_PG_TYPES, latency.length)}) AS v (${LATENCY_COLUMNS.join(", ")}) WHERE EXISTS (SELECT 1 FROM ins))`);
    params.push(...latency.flat());
  }
  const device = deviceUpsert(report, receivedAt);
  parts.push(`dev AS (INSERT INTO devices (${DEVICE_COLUMNS.join(", ")}) SELECT * FROM (VALUES ${typedPlaceholders(DEVICE_PG_TYPES, 1)}) AS v (${DEVICE_COLUMNS.join(", ")}) WHERE EXISTS (SELECT 1 FROM ins) ${device.onConflict})`);
  params.push(...device.params);
  params.push(report.device, report.id);
  return { text: `WITH ${parts.join(",\n")} SELECT (SELECT COUNT(*) FROM ins) AS inserted, (SELECT digest FROM reports WHERE device = ? AND id = ?) AS digest`, params };
}

type Queryable = Pick<pg.Pool | pg.PoolClient, "query">;

/** Errors that mean the database cannot be reached or entered, not a bug: network, authentication, a missing database. */
const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "28P01", "28000", "3D000", "57P03"]);

function connectionProblem(error: unknown, location: string): ConfigurationError | undefined {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== "string" || !CONNECTION_CODES.has(code)) return undefined;
  return new ConfigurationError(
    `cannot use the collector database ${location}: ${(error as Error).message} (${code})\n  hint: check that PostgreSQL runs, that the database exists and that this user may connect from here, or use a SQLite file`,
    { cause: error },
  );
}

export class PostgresStore implements CollectorStore {
  readonly kind = "postgres" as const;
  readonly location: string;
  readonly #pool: pg.Pool;

  constructor(options: PostgresStoreOptions) {
    this.location = redactUrl(options.url);
    this.#pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10 });
    // An idle connection the server closed must not crash the collector; the pool replaces it.
    this.#pool.on("error", () => undefined);
  }

  async #connect(): Promise<pg.PoolClient> {
    try {
      return await this.#pool.connect();
    } catch (error) {
      throw connectionProblem(error, this.location) ?? error;
    }
  }

  async #query(statement: Statement, on: Queryable = this.#pool): Promise<pg.QueryResult<Row>> {
    try {
      return await on.query<Row>(numberPlaceholders(statement.text), statement.params as unknown[]);
    } catch (error) {
      throw connectionProblem(error, this.location) ?? error;
    }
  }

  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#connect();
    try {
      await client.query("BEGIN");
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async migrate(): Promise<MigrationResult> {
    const client = await this.#connect();
    const applied: number[] = [];
    try {
      await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
      try {
        await client.query(MIGRATIONS_TABLE);
        const done = new Set((await client.query<Row>("SELECT version FROM schema_migrations")).rows.map((row) => num(row.version)));
        const highest = Math.max(0, ...done);
        if (highest > SCHEMA_VERSION) throw new ConfigurationError(newerSchemaMessage(highest, this.location));
        for (const migration of MIGRATIONS) {
          if (done.has(migration.version)) continue;
          await client.query("BEGIN");
          try {
            for (const sql of migration.statements("postgres")) await client.query(sql);
            await client.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", [migration.version, migration.name, new Date().toISOString()]);
            await client.query("COMMIT");
          } catch (error) {
            await client.query("ROLLBACK").catch(() => undefined);
            throw error;
          }
          applied.push(migration.version);
        }
      } finally {
        await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => undefined);
      }
    } finally {
      client.release();
    }
    return { applied, version: SCHEMA_VERSION };
  }

  async addToken(device: string, tokenHash: string, at: Date = new Date()): Promise<void> {
    await this.#query({ text: "INSERT INTO device_tokens (token_hash, device, created_at) VALUES (?, ?, ?)", params: [tokenHash, device, at.toISOString()] });
  }

  async revokeTokens(device: string, at: Date = new Date()): Promise<number> {
    const result = await this.#query({ text: "UPDATE device_tokens SET revoked_at = ? WHERE device = ? AND revoked_at IS NULL", params: [at.toISOString(), device] });
    return result.rowCount ?? 0;
  }

  async findToken(tokenHash: string): Promise<TokenRecord | undefined> {
    const row = (await this.#query({ text: "SELECT device, created_at, revoked_at FROM device_tokens WHERE token_hash = ?", params: [tokenHash] })).rows[0];
    if (!row) return undefined;
    return { device: String(row.device), createdAt: String(row.created_at), ...(row.revoked_at ? { revokedAt: String(row.revoked_at) } : {}) };
  }

  async insertReport(report: CheckedReport, receivedAt: Date = new Date()): Promise<InsertOutcome> {
    const row = (await this.#query(insertReportCte(report, receivedAt))).rows[0];
    if (row && num(row.inserted) === 1) return "stored";
    let digest = row?.digest;
    if (digest === null || digest === undefined) digest = (await this.#query(reportDigestStatement(report.device, report.id))).rows[0]?.digest;
    return digest === report.digest ? "duplicate" : "conflict";
  }

  async fleetStatus(filter: FleetFilter = {}): Promise<FleetStatus> {
    // One snapshot for the three queries, so the figures agree with each other.
    return this.#transaction(async (client) => {
      await client.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
      const stages = await this.#query(stageStatusStatement(filter), client);
      const figures = await this.#query(figuresStatement(filter), client);
      const latency = await this.#query(latencyStatement(filter), client);
      return fleetStatusFromRows(stages.rows, figures.rows, latency.rows);
    });
  }

  async deviceStates(): Promise<readonly DeviceStateCount[]> {
    return deviceStatesFromRows((await this.#query({ text: DEVICE_STATES_SQL, params: [] })).rows);
  }

  async counts(): Promise<StoreCounts> {
    const row = (await this.#query({ text: COUNTS_SQL, params: [] })).rows[0] ?? {};
    return { reports: num(row.reports), events: num(row.events), devices: num(row.devices), tokens: num(row.tokens) };
  }

  async ping(): Promise<void> {
    await this.#query({ text: "SELECT 1", params: [] });
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
