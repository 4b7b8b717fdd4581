/**
 * For tests and the load harness: a throwaway PostgreSQL cluster of its own
 * (Debian's `postgresql` binaries), nothing shared with a system cluster.
 * `initdb` into a temporary directory, then `postgres` on 127.0.0.1 and a
 * free port, its socket in that directory, trust authentication (loopback
 * only, for a cluster that lives as long as the test). As root it runs as the
 * `postgres` user (PostgreSQL refuses root) through `setpriv`, which also
 * asks the kernel to stop it when the test process dies. Stopped and removed
 * by {@link TestPostgres.stop}, and on process exit.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { accessSync, chownSync, constants, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import pg from "pg";

/** A directory holding `initdb` and `postgres`, used before the usual places. */
export const POSTGRES_BIN_ENV = "SLMOPS_POSTGRES_BIN";

const INSTALL_HINT = "apt-get install postgresql";

export class PostgresNotFoundError extends Error {
  override readonly name = "PostgresNotFoundError";
  constructor(readonly looked: readonly string[]) {
    super(
      `PostgreSQL is not installed (looked for initdb and postgres in ${looked.join(", ")}). ` +
        `The collector's tests run against Debian's PostgreSQL: \`sudo ${INSTALL_HINT}\` (.ci/run installs it), ` +
        `or set ${POSTGRES_BIN_ENV} to a directory holding initdb and postgres.`,
    );
  }
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const hasServer = (dir: string): boolean => executable(join(dir, "initdb")) && executable(join(dir, "postgres"));

/** The directory of `initdb` and `postgres`: `$SLMOPS_POSTGRES_BIN`, else Debian's newest /usr/lib/postgresql/N/bin, else PATH. */
export function findPostgresBin(env: NodeJS.ProcessEnv = process.env): string {
  const named = env[POSTGRES_BIN_ENV];
  if (named) {
    if (hasServer(named)) return named;
    throw new PostgresNotFoundError([`${POSTGRES_BIN_ENV}=${named}`]);
  }
  const debian = "/usr/lib/postgresql";
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a));
    for (const version of versions) if (hasServer(join(debian, version, "bin"))) return join(debian, version, "bin");
  }
  for (const dir of (env.PATH ?? "").split(delimiter)) if (dir && hasServer(dir)) return dir;
  throw new PostgresNotFoundError([`${debian}/*/bin`, "PATH"]);
}

export function postgresAvailable(env: NodeJS.ProcessEnv = process.env): boolean {
  try {
    findPostgresBin(env);
    return true;
  } catch (error) {
    if (error instanceof PostgresNotFoundError) return false;
    throw error;
  }
}

/** CI=true (or any value but "", "0" and "false"). */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = (env.CI ?? "").trim().toLowerCase();
  return value !== "" && value !== "0" && value !== "false";
}

let noted = false;

/**
 * For `describe.skipIf(skipWithoutPostgres())`: run when PostgreSQL is
 * installed; in CI run anyway (and fail with the install hint: CI never
 * passes by skipping); otherwise skip, with one note on standard error.
 */
export function skipWithoutPostgres(env: NodeJS.ProcessEnv = process.env): boolean {
  if (postgresAvailable(env) || inCi(env)) return false;
  if (!noted) {
    noted = true;
    process.stderr.write(`note: PostgreSQL tests skipped: PostgreSQL is not installed (\`sudo ${INSTALL_HINT}\`; CI=true makes them fail instead)\n`);
  }
  return true;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export interface StartPostgresOptions {
  /** fsync and synchronous commit on, as a production server runs (default off: tests do not need crash safety). */
  readonly durable?: boolean;
  readonly maxConnections?: number;
}

export interface TestPostgres {
  readonly port: number;
  /** The URL of a database (default `postgres`). */
  url(database?: string): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

function postgresUser(): { uid: number; gid: number } {
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((entry) => entry.startsWith("postgres:"));
  const fields = line?.split(":");
  if (!fields || fields.length < 4) throw new Error("running as root, but there is no `postgres` user to run PostgreSQL as (Debian's postgresql package creates it)");
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

const SETPRIV = "/usr/bin/setpriv";

export async function startPostgres(options: StartPostgresOptions = {}): Promise<TestPostgres> {
  const bin = findPostgresBin();
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(asRoot ? "/tmp" : tmpdir(), "slmops-pg-"));
  const data = join(dir, "data");
  const user = asRoot ? postgresUser() : undefined;
  if (user) chownSync(dir, user.uid, user.gid);
  const wrap = (command: string, args: string[]): [string, string[]] => {
    const drop = user ? [`--reuid=${user.uid}`, `--regid=${user.gid}`, "--init-groups"] : [];
    return existsSync(SETPRIV) ? [SETPRIV, ["--pdeathsig", "SIGQUIT", ...drop, command, ...args]] : [command, args];
  };
  if (user && !existsSync(SETPRIV)) throw new Error(`running as root needs ${SETPRIV} (util-linux) to start PostgreSQL as the postgres user`);

  let child: ChildProcess | undefined;
  const cleanup = (): void => {
    if (child && child.exitCode === null) child.kill("SIGQUIT");
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", cleanup);
  try {
    const [initdb, initArgs] = wrap(join(bin, "initdb"), ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"]);
    try {
      execFileSync(initdb, initArgs, { stdio: ["ignore", "pipe", "pipe"], cwd: dir });
    } catch (error) {
      const stderr = String((error as { stderr?: Buffer }).stderr ?? "");
      throw new Error(`initdb failed: ${stderr.trim() || (error as Error).message}`);
    }
    const port = await freePort();
    const logFile = join(dir, "postgres.log");
    const log = openSync(logFile, "a");
    if (user) chownSync(logFile, user.uid, user.gid);
    const durable = options.durable ?? false;
    const settings = [
      "listen_addresses=127.0.0.1", `port=${port}`, `unix_socket_directories=${dir}`, `max_connections=${options.maxConnections ?? 200}`,
      `fsync=${durable ? "on" : "off"}`, `synchronous_commit=${durable ? "on" : "off"}`, `full_page_writes=${durable ? "on" : "off"}`, "logging_collector=off",
    ];
    const [postgres, args] = wrap(join(bin, "postgres"), ["-D", data, ...settings.flatMap((s) => ["-c", s])]);
    child = spawn(postgres, args, { stdio: ["ignore", log, log], cwd: dir });
    const exited = new Promise<never>((_, reject) => child?.once("exit", (code, signal) => reject(new Error(`postgres exited (${code ?? signal}) on start:\n${readFileSync(logFile, "utf8").slice(-2000)}`))));
    const url = (database = "postgres"): string => `postgres://postgres@127.0.0.1:${port}/${database}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const client = new pg.Client({ connectionString: url() });
      try {
        await Promise.race([client.connect(), exited]);
        await client.query("SELECT 1");
        await client.end();
        break;
      } catch (error) {
        await client.end().catch(() => undefined);
        if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    exited.catch(() => undefined);
    const running = child;
    return {
      port,
      url,
      async createDatabase(name: string): Promise<string> {
        if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
        const client = new pg.Client({ connectionString: url() });
        await client.connect();
        try {
          await client.query(`CREATE DATABASE ${name}`);
        } finally {
          await client.end();
        }
        return url(name);
      },
      async stop(): Promise<void> {
        if (running.exitCode === null && running.signalCode === null) {
          const done = new Promise((resolve) => running.once("exit", resolve));
          running.kill("SIGINT"); // fast shutdown
          const timer = setTimeout(() => running.kill("SIGQUIT"), 10_000);
          await done;
          clearTimeout(timer);
        }
        process.off("exit", cleanup);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    cleanup();
    process.off("exit", cleanup);
    throw error;
  }
}

