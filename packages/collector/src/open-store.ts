/**
 * A store from what a user names: a `postgres://` (or `postgresql://`) URL
 * opens PostgreSQL, anything else is a SQLite file.
 */
import { PostgresStore } from "./postgres-store.js";
import { SqliteStore } from "./sqlite-store.js";
import type { CollectorStore } from "./store.js";

/** The database a collector uses when none is named. */
export const DEFAULT_DATABASE = ".slmops/collector.sqlite";

export function openStore(database: string = DEFAULT_DATABASE): CollectorStore {
  if (/^postgres(ql)?:\/\//i.test(database)) return new PostgresStore({ url: database });
  return new SqliteStore({ file: database });
}
