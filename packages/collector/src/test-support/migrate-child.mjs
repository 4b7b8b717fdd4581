// A child process for the concurrent-migration tests: opens the database
// named on the command line (a SQLite file or a postgres:// URL) with the
// built package, waits for the go-time so that every child starts together,
// migrates, and prints the result as JSON.
/* global process, console, setTimeout */
import { openStore } from "../../dist/index.js";

const [database, goAt] = process.argv.slice(2);
const store = openStore(database);
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(goAt) - Date.now())));
try {
  const result = await store.migrate();
  console.log(JSON.stringify(result));
} finally {
  await store.close();
}
