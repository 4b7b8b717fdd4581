import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseAccessLog, type AccessLogEntry } from "./access-log.js";
import { NGINX_BINARY_ENV, findNginx } from "./binary.js";
import { READY_PATH, renderConfig, type NginxOptions } from "./config.js";

/** {@link NginxOptions} plus how the server is started; `port`, `binary` and `startTimeoutMs` are fixed for its life. */
export interface StartNginxOptions extends NginxOptions {
  /** Listen on this port (127.0.0.1 only). Default: a free port, picked again if nginx finds it taken. */
  port?: number;
  /** The nginx binary. Default: {@link findNginx} ($SLMOPS_NGINX, /usr/sbin/nginx, PATH). */
  binary?: string;
  /** How long nginx may take to answer after a start or a reload. Default 20 s. */
  startTimeoutMs?: number;
}

/** A running (or stopped, to be started again) nginx. */
export interface NginxServer {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  readonly url: string;
  readonly port: number;
  /** The directory served (absolute). */
  readonly root: string;
  /**
   * The temp directory with nginx.conf, logs/access.log, logs/error.log, the
   * pid file and temp paths; it exists while nginx runs (stop() removes it;
   * SLMOPS_TEST_NGINX_KEEP=1 keeps it, for a look at a failure).
   */
  readonly prefix: string;
  /** Whether nginx is running now. */
  readonly running: boolean;
  /** The options in force (after any reload). */
  readonly options: Readonly<StartNginxOptions>;
  /**
   * Stops nginx (fast shutdown: open connections are cut) and removes the
   * prefix; logs() and errorLog() still answer (from memory), and start()
   * makes the prefix again. Safe to call twice.
   */
  stop(): Promise<void>;
  /** Starts nginx again on the same port, with the current options, and waits until it answers. */
  start(): Promise<void>;
  /**
   * Goes down and comes back on the same port: stop(), then `whileDown()`
   * (e.g. a download that must fail) and/or `downMs` of waiting, then start().
   */
  flap(options?: { downMs?: number; whileDown?: () => unknown }): Promise<void>;
  /**
   * Applies changed options on the same port: the fields given replace the
   * current ones (give a field as undefined to drop it). The new config is
   * checked with `nginx -t` first (a bad one throws and changes nothing);
   * when running, nginx reloads (SIGHUP) and this resolves once new
   * connections get the new config. Requests already in flight finish under
   * the old one, as in production.
   */
  reload(changes?: Partial<NginxOptions>): Promise<void>;
  /** The access log so far, one entry per finished request (test-nginx's own readiness checks are not logged). */
  logs(): AccessLogEntry[];
  /**
   * The first entry matching, waiting for it: nginx writes an entry just
   * after the response's last byte, so right after a fetch it may not be
   * there yet. Throws after `timeoutMs` (default 5 s).
   */
  waitForLog(match?: (entry: AccessLogEntry) => boolean, options?: { timeoutMs?: number }): Promise<AccessLogEntry>;
  /** Empties the access log (entries from before are gone from logs()). */
  clearLogs(): void;
  /** The error log's text (startup, reloads, client aborts at level info). */
  errorLog(): string;
}

const SETPRIV = "/usr/bin/setpriv";
const KEEP_ENV = "SLMOPS_TEST_NGINX_KEEP";
const POLL_MS = 40;

/** Every server of this process, so that process exit stops nginx and removes the prefixes. */
const servers = new Set<Server>();
let exitHook = false;

function onExit(): void {
  for (const server of servers) {
    server.killNow();
    server.removePrefix();
  }
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** A port free on 127.0.0.1 now (nginx may still lose it to someone else; startNginx then picks again). */
async function freePort(): Promise<number> {
  return await new Promise((done, fail) => {
    const probe = createServer();
    probe.unref();
    probe.once("error", fail);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      probe.close(() => (port > 0 ? done(port) : fail(new Error("no free port"))));
    });
  });
}

/** GET over a connection of its own; the status and body, or null when nothing answered. */
async function get(port: number, path: string): Promise<{ status: number; body: string } | null> {
  return await new Promise((done) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false, timeout: 2000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", () => done(null));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => done(null));
    req.end();
  });
}

/** Child processes of `pid`, from /proc (Linux). */
function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readOr(`/proc/${name}/stat`);
    if (stat === null) continue;
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid === pid) found.push(Number(name));
  }
  return found;
}

function readOr(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

/** Whether an old worker no longer takes new connections: gone, or its title says it is shutting down. */
function retired(worker: number, master: number): boolean {
  const stat = readOr(`/proc/${worker}/stat`);
  if (stat === null) return true;
  if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) !== master) return true;
  return (readOr(`/proc/${worker}/cmdline`) ?? "").includes("shutting down");
}

function tail(text: string, lines = 20): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

class Server implements NginxServer {
  readonly prefix: string;
  readonly binary: string;
  readonly token = randomBytes(6).toString("hex");
  options: StartNginxOptions;
  port = 0;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private generation = 0;
  private readonly confPath: string;
  private readonly accessPath: string;
  private readonly errorPath: string;
  private readonly stderrPath: string;
  /** The logs while the prefix is gone (after stop()). */
  private saved = { access: "", error: "" };

  constructor(options: StartNginxOptions) {
    this.binary = findNginx(options.binary === undefined ? process.env : { [NGINX_BINARY_ENV]: options.binary });
    this.options = { ...options, root: checkedRoot(options.root) };
    this.prefix = mkdtempSync(join(tmpdir(), "slmops-test-nginx-"));
    this.confPath = join(this.prefix, "nginx.conf");
    this.accessPath = join(this.prefix, "logs", "access.log");
    this.errorPath = join(this.prefix, "logs", "error.log");
    this.stderrPath = join(this.prefix, "logs", "stderr.log");
    this.makePrefix();
    if (!exitHook) {
      exitHook = true;
      process.on("exit", onExit);
    }
  }

  /** The prefix's directories, with the logs so far (kept in memory while it was gone). */
  private makePrefix(): void {
    if (!existsSync(this.accessPath)) {
      mkdirSync(join(this.prefix, "logs"), { recursive: true });
      mkdirSync(join(this.prefix, "tmp"), { recursive: true });
      writeFileSync(this.accessPath, this.saved.access);
      writeFileSync(this.errorPath, this.saved.error);
    }
    servers.add(this);
  }

  /** Keeps the logs in memory and removes the prefix (unless SLMOPS_TEST_NGINX_KEEP=1). */
  removePrefix(): void {
    servers.delete(this);
    if (!existsSync(this.accessPath)) return;
    if (process.env[KEEP_ENV] === "1") {
      console.warn(`@slmops/test-nginx: kept ${this.prefix}`);
      return;
    }
    this.saved = { access: readFileSync(this.accessPath, "utf8"), error: readFileSync(this.errorPath, "utf8") };
    rmSync(this.prefix, { recursive: true, force: true });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get root(): string {
    return this.options.root;
  }

  get running(): boolean {
    return this.child !== null;
  }

  private render(options: NginxOptions, generation: number): string {
    return renderConfig(options, {
      port: this.port,
      prefix: this.prefix,
      readyBody: `${this.token}:${generation}`,
      asRoot: process.getuid?.() === 0,
    });
  }

  /** Starts nginx; on a port collision (and no fixed port), picks another and tries again. */
  async launch(): Promise<void> {
    const fixed = this.port !== 0 ? this.port : this.options.port;
    this.makePrefix();
    for (let attempt = 1; ; attempt++) {
      this.port = fixed ?? (await freePort());
      writeFileSync(this.confPath, this.render(this.options, this.generation));
      const errorFrom = statSync(this.errorPath).size;
      this.spawn();
      const failure = await this.waitReady(this.generation, errorFrom);
      if (failure === null) return;
      const collision = failure.includes("Address already in use");
      if (collision && fixed === undefined && attempt < 5) continue;
      throw new Error(
        collision
          ? `nginx could not listen on 127.0.0.1:${this.port}: the port is taken.\n${failure}`
          : `nginx did not start (prefix ${this.prefix}):\n${failure}`,
      );
    }
  }

  private spawn(): void {
    const args = ["-p", `${this.prefix}/`, "-c", this.confPath, "-e", this.errorPath];
    // setpriv --pdeathsig: nginx gets SIGTERM when the process (thread) that
    // started it dies, even by SIGKILL, which no exit handler sees.
    const [command, argv] = existsSync(SETPRIV) ? [SETPRIV, ["--pdeathsig", "SIGTERM", this.binary, ...args]] : [this.binary, args];
    const stderr = openSync(this.stderrPath, "a");
    let child: ChildProcess;
    try {
      child = spawn(command, argv, { stdio: ["ignore", stderr, stderr] });
    } finally {
      closeSync(stderr);
    }
    child.unref(); // a forgotten stop() must not keep the test process alive; the exit hook stops nginx
    this.child = child;
    this.exited = new Promise((done) => {
      const gone = () => {
        if (this.child === child) this.child = null;
        done();
      };
      child.once("exit", gone);
      child.once("error", gone);
    });
  }

  /** null once nginx answers with this generation, else why not (nginx exited, or the time ran out). */
  private async waitReady(generation: number, errorFrom: number, oldWorkers: number[] = []): Promise<string | null> {
    const want = `${this.token}:${generation}`;
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 20_000);
    const master = this.child?.pid ?? 0;
    for (;;) {
      if (this.child === null) return this.startupLog(errorFrom) || "nginx exited without a message";
      const answer = await get(this.port, READY_PATH);
      if (answer?.status === 200 && answer.body === want && oldWorkers.every((pid) => retired(pid, master))) {
        // One more answer after the old workers have let go of the socket.
        if (oldWorkers.length === 0 || (await get(this.port, READY_PATH))?.body === want) return null;
      }
      if (Date.now() > deadline) {
        const log = this.startupLog(errorFrom);
        if (oldWorkers.length === 0) this.killNow();
        return `no answer from ${this.url}${READY_PATH} within ${this.options.startTimeoutMs ?? 20_000} ms${log ? `\n${log}` : ""}`;
      }
      await sleep(POLL_MS);
    }
  }

  private startupLog(errorFrom: number): string {
    const errors = readFileSync(this.errorPath).subarray(errorFrom).toString("utf8");
    const stderr = readOr(this.stderrPath) ?? "";
    return tail([errors, stderr].filter((text) => text.trim() !== "").join("\n"));
  }

  /** SIGTERM now, without waiting (process exit). */
  killNow(): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === null || child.pid === undefined) {
      this.removePrefix();
      return;
    }
    const pid = child.pid;
    const workers = childrenOf(pid);
    this.killNow(); // fast shutdown: the master stops its workers, then exits
    const timer = sleep(10_000).then(() => "timeout" as const);
    if ((await Promise.race([this.exited, timer])) === "timeout") {
      for (const target of [pid, ...workers]) {
        try {
          process.kill(target, "SIGKILL");
        } catch {
          // already gone
        }
      }
      await this.exited;
    }
    this.removePrefix();
  }

  async start(): Promise<void> {
    if (this.running) return;
    await this.launch();
  }

  async flap(options: { downMs?: number; whileDown?: () => unknown } = {}): Promise<void> {
    await this.stop();
    if (options.whileDown !== undefined) await options.whileDown();
    if (options.downMs !== undefined && options.downMs > 0) await sleep(options.downMs);
    await this.start();
  }

  async reload(changes: Partial<NginxOptions> = {}): Promise<void> {
    const next: StartNginxOptions = { ...this.options, ...changes };
    next.root = checkedRoot(next.root);
    const generation = this.generation + 1;
    this.makePrefix(); // stop() removes it; removed again below when nginx is not running
    const candidate = `${this.confPath}.next`;
    try {
      writeFileSync(candidate, this.render(next, generation)); // throws on a bad option, before anything changed
      await this.check(candidate);
    } finally {
      if (!this.running) this.removePrefix();
    }
    this.options = next;
    this.generation = generation;
    const child = this.child;
    if (child === null || child.pid === undefined) return; // start() writes the config from the options
    renameSync(candidate, this.confPath);
    const oldWorkers = childrenOf(child.pid);
    const errorFrom = statSync(this.errorPath).size;
    process.kill(child.pid, "SIGHUP");
    const failure = await this.waitReady(generation, errorFrom, oldWorkers);
    if (failure !== null) throw new Error(`nginx did not take the new config (prefix ${this.prefix}):\n${failure}`);
  }

  /** `nginx -t` on a config; throws with nginx's words when it is bad. */
  private async check(conf: string): Promise<void> {
    const errorFrom = statSync(this.errorPath).size;
    await new Promise<void>((done, fail) => {
      execFile(this.binary, ["-t", "-q", "-p", `${this.prefix}/`, "-c", conf, "-e", this.errorPath], (error, _stdout, stderr) => {
        if (error === null) done();
        else {
          const said = readFileSync(this.errorPath).subarray(errorFrom).toString("utf8");
          fail(new Error(`nginx rejects the new config:\n${tail([said, stderr].filter((text) => text.trim() !== "").join("\n"), 5)}`));
        }
      });
    });
  }

  private accessText(): string {
    return readOr(this.accessPath) ?? this.saved.access;
  }

  logs(): AccessLogEntry[] {
    return parseAccessLog(this.accessText());
  }

  async waitForLog(match: (entry: AccessLogEntry) => boolean = () => true, options: { timeoutMs?: number } = {}): Promise<AccessLogEntry> {
    const deadline = Date.now() + (options.timeoutMs ?? 5000);
    for (;;) {
      const found = this.logs().find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline) {
        throw new Error(`no access-log entry matched within ${options.timeoutMs ?? 5000} ms; the log has ${this.logs().length} entries:\n${tail(this.accessText(), 10)}`);
      }
      await sleep(25);
    }
  }

  clearLogs(): void {
    this.saved.access = "";
    if (existsSync(this.accessPath)) truncateSync(this.accessPath, 0);
  }

  errorLog(): string {
    return readOr(this.errorPath) ?? this.saved.error;
  }
}

function checkedRoot(root: string): string {
  const absolute = resolve(root);
  let directory = false;
  try {
    directory = statSync(absolute).isDirectory();
  } catch {
    // reported below
  }
  if (!directory) throw new Error(`startNginx: root is not a directory: ${absolute}`);
  return absolute;
}

/**
 * Starts a real nginx on 127.0.0.1 serving `options.root`, with a config,
 * prefix and logs of its own in a temp directory, and resolves once it
 * answers. Throws {@link NginxNotFoundError} (saying `apt-get install nginx`)
 * when nginx is not installed. Call `stop()` when done (e.g. in afterAll);
 * nginx is also stopped when the process exits or dies.
 */
export async function startNginx(options: StartNginxOptions): Promise<NginxServer> {
  const server = new Server(options);
  try {
    await server.launch();
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}
