/**
 * What the CLI's long-running servers (`collector serve`, `release serve`)
 * share: one message for each way listening fails, and running until a
 * signal says stop.
 */
import { ConfigurationError, terminalText } from "@slmops/diagnostics";

/** A refused `listen` as the user's to fix (port in use, not allowed, no such address); anything else as it is. */
export function listenFailure(error: unknown, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "EADDRINUSE") return new ConfigurationError(`port ${port} on ${terminalText(host)} is in use; stop what listens there or pass another --port`, { cause: error });
  if (code === "EACCES") return new ConfigurationError(`this user may not listen on port ${port}; pass a port above 1023 (--port), and put a reverse proxy in front for 443`, { cause: error });
  if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") return new ConfigurationError(`cannot listen on ${terminalText(host)}: no interface of this machine has that address; pass --host 127.0.0.1 or 0.0.0.0`, { cause: error });
  return error;
}

/** Resolves with the signal when the process is told to stop (SIGTERM, or Ctrl-C's SIGINT). */
export function untilStopped(): Promise<NodeJS.Signals> {
  return new Promise((done) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      done(signal);
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}
