/**
 * The database schema, as numbered migrations. Each is applied once, in
 * order, in its own transaction, and recorded in `schema_migrations`; the
 * stores serialize concurrent migrators (SQLite: `BEGIN IMMEDIATE`;
 * PostgreSQL: an advisory lock), so collectors may start together. Never
 * edit a released migration: add the next one.
 */

export type Dialect = "sqlite" | "postgres";

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: (dialect: Dialect) => readonly string[];
}

function types(dialect: Dialect): { int64: string; real: string } {
  return dialect === "postgres" ? { int64: "BIGINT", real: "DOUBLE PRECISION" } : { int64: "INTEGER", real: "REAL" };
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "tokens, reports, events, latency, devices",
    statements: (dialect) => {
      const { int64, real } = types(dialect);
      return [
        `CREATE TABLE device_tokens (
          token_hash TEXT PRIMARY KEY,
          device TEXT NOT NULL,
          created_at TEXT NOT NULL,
          revoked_at TEXT
        )`,
        `CREATE INDEX device_tokens_device ON device_tokens (device)`,
        `CREATE TABLE reports (
          device TEXT NOT NULL,
          id TEXT NOT NULL,
          device_class TEXT NOT NULL,
          model TEXT NOT NULL,
          channel TEXT NOT NULL,
          sent_at TEXT NOT NULL,
          received_at TEXT NOT NULL,
          digest TEXT NOT NULL,
          event_count INTEGER NOT NULL,
          release TEXT,
          load_ms ${real},
          inferences ${int64},
          errors ${int64},
          memory_bytes ${int64},
          PRIMARY KEY (device, id)
        )`,
        `CREATE INDEX reports_release ON reports (model, channel, release, device_class)`,
        `CREATE TABLE report_events (
          device TEXT NOT NULL,
          report_id TEXT NOT NULL,
          seq INTEGER NOT NULL,
          device_class TEXT NOT NULL,
          model TEXT NOT NULL,
          channel TEXT NOT NULL,
          time TEXT NOT NULL,
          event TEXT NOT NULL,
          version TEXT,
          from_version TEXT,
          stage INTEGER,
          percent ${real},
          outcome TEXT,
          bytes ${int64},
          duration_ms ${real},
          load_ms ${real},
          latency_ms ${real},
          reason TEXT,
          retryable SMALLINT,
          retry_in_ms ${real},
          PRIMARY KEY (device, report_id, seq)
        )`,
        `CREATE INDEX report_events_version ON report_events (model, channel, version, device_class, device)`,
        `CREATE TABLE report_latency (
          device TEXT NOT NULL,
          report_id TEXT NOT NULL,
          bucket INTEGER NOT NULL,
          model TEXT NOT NULL,
          channel TEXT NOT NULL,
          release TEXT NOT NULL,
          device_class TEXT NOT NULL,
          count ${int64} NOT NULL,
          PRIMARY KEY (device, report_id, bucket)
        )`,
        `CREATE INDEX report_latency_release ON report_latency (model, channel, release, device_class)`,
        `CREATE TABLE devices (
          device TEXT PRIMARY KEY,
          device_class TEXT NOT NULL,
          model TEXT NOT NULL,
          channel TEXT NOT NULL,
          state TEXT,
          state_version TEXT,
          state_time TEXT,
          active_version TEXT,
          active_time TEXT,
          last_report_at TEXT NOT NULL
        )`,
      ];
    },
  },
];

/** The schema version this code writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

export const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL
)`;

/** The database was migrated by a newer collector: this one must not write to it. */
export function newerSchemaMessage(found: number, location: string): string {
  return `the collector database ${location} is at schema version ${found}, newer than this collector understands (${SCHEMA_VERSION}); upgrade slmops on this machine, or point it at another database`;
}
