import { spawn, type ChildProcessByStdio } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const script = path.join(here, "writer-child.mjs");
const built = path.resolve(here, "..", "..", "dist", "index.js");

/** A writer process running `writer-child.mjs`, with its stdout lines. */
export class WriterChild {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stderr = "";
  private listeners: (() => void)[] = [];

  private constructor(private readonly child: ChildProcessByStdio<null, Readable, Readable>) {
    let buffered = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      this.lines.push(...parts);
      for (const listener of this.listeners) listener();
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  /** Starts the writer; the package must be built (`dist/`), as the child imports it. */
  static start(args: string[]): WriterChild {
    if (!existsSync(built)) throw new Error(`build the package first (${built} is missing)`);
    return new WriterChild(spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "pipe"] }));
  }

  /** Resolves once `predicate` holds for the lines printed so far; rejects on exit or after `timeoutMs`. */
  waitFor(predicate: (lines: string[]) => boolean, timeoutMs = 20_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`timed out; child said: ${this.lines.join(" | ")} ${this.stderr}`)), timeoutMs);
      const check = (): void => {
        if (predicate(this.lines)) done();
      };
      const done = (error?: Error): void => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((listener) => listener !== check);
        if (error) reject(error);
        else resolve();
      };
      this.listeners.push(check);
      void this.exited.then(({ code, signal }) => done(predicate(this.lines) ? undefined : new Error(`child exited (${code ?? signal}): ${this.stderr}`)));
      check();
    });
  }

  /** SIGKILL, and wait until the process is gone. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
    await this.exited;
  }
}
