/**
 * The two databases every store and service test runs against: a SQLite
 * file in a temporary directory, and a database of its own in a throwaway
 * PostgreSQL cluster (one cluster per test file, one database per test).
 * Use inside `describe.each(BACKENDS)` with {@link useBackend}.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll } from "vitest";
import { PostgresStore } from "../postgres-store.js";
import { SqliteStore } from "../sqlite-store.js";
import type { CollectorStore } from "../store.js";
import { skipWithoutPostgres, startPostgres, type TestPostgres } from "./postgres.js";

export type BackendName = "sqlite" | "postgres";

export const BACKENDS: readonly { readonly name: BackendName; readonly skip: boolean }[] = [
  { name: "sqlite", skip: false },
  { name: "postgres", skip: skipWithoutPostgres() },
];

export interface Database {
  /** A migrated store on a new, empty database. */
  readonly store: CollectorStore;
  /** Another store on the same database (another collector's connection), not migrated by this call. */
  another(): CollectorStore;
  /** Where the data is: the SQLite file or the PostgreSQL URL. */
  readonly location: string;
}

export interface BackendHandle {
  /** A fresh, migrated database for one test. */
  fresh(options?: { readonly migrate?: boolean }): Promise<Database>;
}

let counter = 0;

/** Sets up the backend for the enclosing describe block: the cluster or temp directory, and closing every store after each test. */
export function useBackend(name: BackendName): BackendHandle {
  let cluster: TestPostgres | undefined;
  let dir: string | undefined;
  let startError: unknown;
  const open: CollectorStore[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "slmops-collector-"));
    // A cluster that cannot start fails every test with its reason (PostgreSQL
    // missing in CI: the install hint), rather than the hook alone.
    if (name === "postgres") cluster = await startPostgres().catch((error: unknown) => ((startError = error), undefined));
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((store) => store.close().catch(() => undefined)));
  });
  afterAll(async () => {
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    async fresh(options = {}) {
      counter++;
      let make: () => CollectorStore;
      let location: string;
      if (name === "sqlite") {
        if (!dir) throw new Error("useBackend: beforeAll has not run");
        const file = join(dir, `collector-${process.pid}-${counter}.sqlite`);
        location = file;
        make = () => new SqliteStore({ file, synchronous: "normal" });
      } else {
        if (!cluster) throw startError ?? new Error("useBackend: the PostgreSQL cluster did not start");
        const url = await cluster.createDatabase(`collector_${counter}`);
        location = url;
        make = () => new PostgresStore({ url, poolSize: 8 });
      }
      const another = (): CollectorStore => {
        const store = make();
        open.push(store);
        return store;
      };
      const store = another();
      if (options.migrate ?? true) await store.migrate();
      return { store, another, location };
    },
  };
}
