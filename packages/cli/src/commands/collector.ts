import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigurationError, terminalText } from "@slmops/diagnostics";
import type { CollectorStore, MigrationResult } from "@slmops/collector";
import type { Command, CommandContext } from "../command.js";
import { UsageError } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import { countOption, stringOption } from "../options.js";
import { listenFailure, untilStopped } from "../serve.js";

/** Where the collector keeps its data when `--database` is not given (the collector's DEFAULT_DATABASE). */
export const DEFAULT_DATABASE = ".slmops/collector.sqlite";
/** The port `collector serve` listens on by default. */
export const DEFAULT_PORT = 8080;

const ACTIONS = ["serve", "token"] as const;
const TOKEN_ACTIONS = ["add", "revoke"] as const;

/** The `--database` option collector and fleet commands share. */
export const databaseOption = {
  type: "string",
  valueName: "file|url",
  description: `the collector's database: a SQLite file, or a postgres:// URL (default ${DEFAULT_DATABASE})`,
} as const;

export const collectorCommand: Command = {
  name: "collector",
  summary: "the fleet collector: serve devices' reports (collector serve), issue and revoke device tokens (collector token add | revoke)",
  description:
    "The HTTP service devices' agents report to (POST /v1/reports, one bearer token per device), with\n" +
    "GET /healthz and Prometheus metrics on GET /metrics. Its data is one SQLite file (the default,\n" +
    `${DEFAULT_DATABASE}) or a PostgreSQL database (--database postgres://user@host/db), which several\n` +
    "collectors behind a load balancer can share. Every command brings the database's schema up to date.\n" +
    "  serve                       listen until SIGTERM or SIGINT (then stop accepting, finish, exit 0);\n" +
    "                              serve it behind TLS (a reverse proxy): tokens travel in a header\n" +
    "  token add <device-id>       issue a token for the device: printed once on stdout, only its sha256\n" +
    "                              is stored; install it on the device as the file its agent configuration's\n" +
    "                              collector.token-file names\n" +
    "  token revoke <device-id>    revoke every token of the device: its reports are refused (403) at once\n" +
    "The SQLite driver (better-sqlite3) is an optional dependency with a native addon, loaded only by\n" +
    "these commands and `slmops fleet status`; if it is missing, the error says how to build it.",
  positionals: [
    { name: "action", description: `${ACTIONS.join(" | ")}` },
    { name: "token-action", description: `token: ${TOKEN_ACTIONS.join(" | ")}`, optional: true },
    { name: "device-id", description: "token add / revoke: the device's id (its agent configuration's device.id)", optional: true },
  ],
  options: {
    database: databaseOption,
    host: { type: "string", valueName: "address", description: "serve: the address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)" },
    port: { type: "string", valueName: "n", description: `serve: the port (default ${DEFAULT_PORT}; 0 picks a free one)` },
    json: { type: "boolean", description: "token add / revoke: print the result as JSON" },
  },
  examples: [
    "slmops collector serve --host 0.0.0.0 --port 8080",
    "slmops collector serve --database postgres://collector@db.internal/slmops",
    "slmops collector token add rpi5-0042 > rpi5-0042.token",
    "slmops collector token revoke rpi5-0042",
  ],
  run: runCollector,
};

async function runCollector(context: CommandContext): Promise<number> {
  const [action, tokenAction, device] = context.positionals;
  if (action === "serve") {
    if (tokenAction !== undefined) throw new UsageError(`Unexpected argument \`${terminalText(tokenAction)}\` for \`slmops collector serve\`.`, { command: "collector" });
    return serve(context);
  }
  if (action === "token") {
    if (tokenAction === "add" || tokenAction === "revoke") {
      if (device === undefined) throw new UsageError(`\`collector token ${tokenAction}\` needs the device's id: \`slmops collector token ${tokenAction} <device-id>\`.`, { command: "collector" });
      return tokenAction === "add" ? addToken(context, deviceId(device)) : revokeToken(context, deviceId(device));
    }
    throw new UsageError(`Unknown token action \`${terminalText(tokenAction ?? "")}\`.`, { command: "collector", hint: "use `slmops collector token add <device-id>` or `slmops collector token revoke <device-id>`." });
  }
  throw new UsageError(`Unknown collector action \`${terminalText(action ?? "")}\`.`, { command: "collector", hint: "use `slmops collector serve` or `slmops collector token add | revoke <device-id>`." });
}

/** A device id as the agent takes one: 1 to 256 bytes, no spaces or control characters. */
function deviceId(text: string): string {
  if (!/^[^\s\p{Cc}]+$/u.test(text) || Buffer.byteLength(text, "utf8") > 256) {
    throw new UsageError(`\`${terminalText(text)}\` is not a device id: 1 to 256 bytes, without spaces or control characters (the agent configuration's device.id).`, { command: "collector" });
  }
  return text;
}

// ---------------------------------------------------------------- the database

function isPostgresUrl(database: string): boolean {
  return /^postgres(ql)?:\/\//i.test(database);
}

/** The version of better-sqlite3 this CLI is built and tested against (its package.json's optionalDependencies). */
function sqliteDriverVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { optionalDependencies?: Record<string, string> };
    return pkg.optionalDependencies?.["better-sqlite3"] ?? "12";
  } catch {
    return "12";
  }
}

/** `cd <project> && ` when this CLI sits in a project's node_modules, so the fix names where to run it. */
function inProject(): string {
  const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
  const marker = `${sep}node_modules${sep}@slmops${sep}cli`;
  if (!packageDir.endsWith(marker)) return "";
  const project = packageDir.slice(0, -marker.length);
  if (project.endsWith(`${sep}lib`) || project.endsWith(`${sep}lib64`)) return ""; // a global install: npm's prefix, not a project
  return `cd ${project} && `;
}

/**
 * Checks that better-sqlite3 and its native addon load, before a SQLite
 * store is opened: an install with `--ignore-scripts`, or one where the
 * addon could not be built (it is an optional dependency), gets one message
 * naming the fix instead of a loader's stack of paths.
 */
export function checkSqliteDriver(): void {
  const require = createRequire(import.meta.url);
  const version = sqliteDriverVersion();
  const usePostgres = "  or use PostgreSQL, which needs no native addon: --database postgres://user@host/database";
  let Database: new (file: string) => { close(): void };
  try {
    Database = require("better-sqlite3") as typeof Database;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "MODULE_NOT_FOUND" && code !== "ERR_MODULE_NOT_FOUND") throw error;
    throw new ConfigurationError(
      "the collector's SQLite driver, better-sqlite3, is not installed: it is an optional dependency of @slmops/cli, " +
        "skipped when its native addon could not be built as the CLI was installed.\n" +
        `  fix: ${inProject()}npm install better-sqlite3@${version}   (it downloads a prebuilt addon for this platform, or compiles one: python3, make and a C++ compiler)\n` +
        usePostgres,
      { cause: error },
    );
  }
  try {
    new Database(":memory:").close();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const why = /NODE_MODULE_VERSION|compiled against a different Node/i.test(message)
      ? "its native addon was built for another version of Node.js"
      : /bindings file|Cannot find module|could not locate/i.test(message)
        ? "its native addon was never built (the CLI was installed with --ignore-scripts, or the build failed)"
        : `its native addon does not load (${message.split("\n")[0] ?? message})`;
    throw new ConfigurationError(
      `the collector's SQLite driver, better-sqlite3, is installed but ${why}.\n` +
        `  fix: ${inProject()}npm rebuild better-sqlite3   (it downloads a prebuilt addon for this platform, or compiles one: python3, make and a C++ compiler)\n` +
        usePostgres,
      { cause: error },
    );
  }
}

/** What `--database` names, as given (for messages) and as opened. */
export function databaseOf(context: CommandContext, command: string): { given: string; database: string } {
  const given = stringOption(context, "database", command) ?? DEFAULT_DATABASE;
  return { given, database: isPostgresUrl(given) ? given : resolve(context.io.cwd, given) };
}

/**
 * Opens the collector's database and brings its schema up to date. Errors
 * that are not the user's to fix in their input (the server refused, the
 * file is unwritable) come out as one message naming the database.
 */
export async function openCollectorDatabase(context: CommandContext, command: string): Promise<{ store: CollectorStore; migration: MigrationResult; given: string }> {
  const { given, database } = databaseOf(context, command);
  if (!isPostgresUrl(database)) checkSqliteDriver();
  const { openStore, redactUrl } = await import("@slmops/collector");
  const shown = isPostgresUrl(database) ? redactUrl(database) : given;
  const store = openStore(database);
  try {
    return { store, migration: await store.migrate(), given: shown };
  } catch (error) {
    await store.close().catch(() => undefined);
    if (error instanceof ConfigurationError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new ConfigurationError(
      `cannot use the collector database ${terminalText(shown)}: ${terminalText(message)}\n` +
        (isPostgresUrl(database)
          ? "  hint: check that PostgreSQL is running and reachable there, and that the URL's user, password and database are right"
          : "  hint: pass --database with a SQLite file this user may write, or a postgres:// URL"),
      { cause: error },
    );
  }
}

function migrationNote(migration: MigrationResult): string {
  return migration.applied.length > 0 ? `migrated to schema version ${migration.version} (applied ${migration.applied.join(", ")})` : `schema version ${migration.version}`;
}

// ---------------------------------------------------------------- serve

async function serve(context: CommandContext): Promise<number> {
  const { io } = context;
  const host = stringOption(context, "host", "collector") ?? "127.0.0.1";
  const port = countOption(context, "port", "collector", { minimum: 0, maximum: 65535 }) ?? DEFAULT_PORT;
  const { store, migration, given } = await openCollectorDatabase(context, "collector");
  const { startCollector } = await import("@slmops/collector");
  let collector: Awaited<ReturnType<typeof startCollector>>;
  try {
    collector = await startCollector({ store, host, port, log: (line) => io.stderr.write(`collector: ${terminalText(line)}\n`) });
  } catch (error) {
    await store.close().catch(() => undefined);
    throw listenFailure(error, host, port);
  }
  io.stdout.write(
    `collector listening on ${collector.url} (${store.kind} ${terminalText(given)}, ${migrationNote(migration)})\n` +
      `  reports: POST ${collector.url}/v1/reports   health: ${collector.url}/healthz   metrics: ${collector.url}/metrics\n` +
      "  stop with SIGTERM or Ctrl-C\n",
  );
  io.stdout.write(`collector: ${await untilStopped()}, stopping\n`);
  await collector.close();
  await store.close();
  io.stdout.write("collector stopped\n");
  return ExitCode.ok;
}

// ---------------------------------------------------------------- tokens

async function addToken(context: CommandContext, device: string): Promise<number> {
  const { io } = context;
  const { store, given } = await openCollectorDatabase(context, "collector");
  let token: string;
  try {
    const { issueToken } = await import("@slmops/collector");
    token = await issueToken(store, device);
  } finally {
    await store.close();
  }
  if (context.values.json === true) {
    io.stdout.write(`${JSON.stringify({ device, token, database: given })}\n`);
    return ExitCode.ok;
  }
  // The token alone on stdout (so `> file` captures exactly it); what to do with it on stderr.
  io.stdout.write(`${token}\n`);
  const file = "/etc/slmops/collector.token";
  io.stderr.write(
    `Issued a collector token for device ${terminalText(device)} (${terminalText(given)} keeps only its sha256; this is the only time it is shown).\n` +
      `Install it on the device, readable only by the agent, e.g. \`install -m 0600 /dev/stdin ${file}\` fed the token, and name it in the agent configuration:\n` +
      "  collector:\n" +
      "    url: https://collector.example.com\n" +
      `    token-file: ${file}\n` +
      `Revoke it with: slmops collector token revoke ${terminalText(device)}${given === DEFAULT_DATABASE ? "" : ` --database ${terminalText(given)}`}\n`,
  );
  return ExitCode.ok;
}

async function revokeToken(context: CommandContext, device: string): Promise<number> {
  const { io } = context;
  const { store, given } = await openCollectorDatabase(context, "collector");
  let revoked: number;
  try {
    revoked = await store.revokeTokens(device);
  } finally {
    await store.close();
  }
  if (context.values.json === true) {
    io.stdout.write(`${JSON.stringify({ device, revoked, database: given })}\n`);
    return revoked > 0 ? ExitCode.ok : ExitCode.failure;
  }
  if (revoked === 0) {
    throw new ConfigurationError(
      `device ${terminalText(device)} has no live token in ${terminalText(given)}: nothing was revoked. Check the device id (the agent configuration's device.id) and --database`,
    );
  }
  io.stdout.write(`Revoked ${revoked} token${revoked === 1 ? "" : "s"} of device ${terminalText(device)} in ${terminalText(given)}: its reports are refused (403) from now on.\n`);
  return ExitCode.ok;
}

