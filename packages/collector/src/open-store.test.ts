/** Opening a store: which database a name means, and clear errors (no stack trace) when it cannot be used. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigurationError } from "@slmops/diagnostics";
import { describe, expect, test } from "vitest";
import { openStore } from "./open-store.js";
import { PostgresStore, redactUrl } from "./postgres-store.js";
import { SqliteStore } from "./sqlite-store.js";

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === "object" && address ? address.port : 1;
}

describe("openStore", () => {
  test("opens PostgreSQL for a postgres:// URL and SQLite otherwise", async () => {
    const pg = openStore("postgresql://u:secret@127.0.0.1:1/db");
    expect(pg).toBeInstanceOf(PostgresStore);
    expect(pg.location).toBe("postgresql://u:***@127.0.0.1:1/db");
    await pg.close();
    expect(redactUrl("not a url")).toBe("(an unparsable PostgreSQL URL)");
  });

  test("a PostgreSQL server that is not there is a configuration error naming the database, without the password", async () => {
    const store = new PostgresStore({ url: `postgres://collector:hunter2@127.0.0.1:${await closedPort()}/slmops` });
    try {
      const error = await store.migrate().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toMatch(/^cannot use the collector database postgres:\/\/collector:\*\*\*@127\.0\.0\.1:\d+\/slmops: .*ECONNREFUSED/);
      expect((error as Error).message).toContain("hint: check that PostgreSQL runs");
      expect((error as Error).message).not.toContain("hunter2");
      await expect(store.counts()).rejects.toBeInstanceOf(ConfigurationError);
    } finally {
      await store.close();
    }
  });

  test("a SQLite file that cannot be created is a configuration error with a hint", () => {
    const dir = mkdtempSync(join(tmpdir(), "slmops-open-store-"));
    try {
      // A directory that cannot exist: its parent is a regular file.
      writeFileSync(join(dir, "file"), "");
      const file = join(dir, "file", "sub", "collector.sqlite");
      expect(() => new SqliteStore({ file })).toThrow(ConfigurationError);
      expect(() => new SqliteStore({ file })).toThrow(/cannot open the collector database .*\/file\/sub\/collector\.sqlite: .*\n {2}hint: pass --database/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
