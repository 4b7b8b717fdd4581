/**
 * For the application that uses the model: which model is active, and an
 * event when the agent switches it. The agent switches by renaming a new
 * `active` link over the old one, so a reader always finds a complete
 * version; the version it replaced stays on disk until the next update, so
 * a session still open on it keeps working while the application reloads.
 *
 *     const model = await activeModel("/var/lib/slmops");
 *     let session = await ort.InferenceSession.create(model.path);
 *     const watcher = watchActiveModel("/var/lib/slmops", async (next) => {
 *       const fresh = await ort.InferenceSession.create(next.path);   // load the new one first
 *       const old = session; session = fresh; await old.release();    // then swap, without a restart
 *     });
 */
import { watch, type FSWatcher } from "node:fs";
import { join } from "node:path";
import { readActive, readReleaseRecord } from "./install.js";
import { agentLayout } from "./layout.js";

export interface ActiveModel {
  readonly version: string;
  readonly model: string;
  readonly variant: string;
  /** The variant's identity digest. */
  readonly digest: string;
  /** The model file to load (its external data lies beside it), through the version's own directory — not through `active`, so it stays valid after a switch. */
  readonly path: string;
  /** The version's directory. */
  readonly dir: string;
}

/** The active model, or undefined when the agent has installed none yet. */
export async function activeModel(installDir: string): Promise<ActiveModel | undefined> {
  const layout = agentLayout(installDir);
  const name = await readActive(layout);
  if (!name) return undefined;
  const dir = join(layout.versions, name);
  const record = await readReleaseRecord(dir);
  if (!record) return undefined;
  return { version: record.version, model: record.model, variant: record.variant, digest: record.digest, path: join(dir, record.modelFile), dir };
}

export interface ActiveModelWatcher {
  close(): void;
}

/**
 * Calls `onChange` with the new active model each time the agent switches
 * (not for the model active when the watch starts). Watches the install
 * directory for the link's rename, and checks every `intervalMs` as well
 * (default 5 s), for file systems whose change events are unreliable.
 */
export function watchActiveModel(installDir: string, onChange: (model: ActiveModel) => void | Promise<void>, options: { readonly intervalMs?: number; readonly onError?: (error: unknown) => void } = {}): ActiveModelWatcher {
  const keyOf = (model: ActiveModel | undefined) => (model ? `${model.version}@${model.digest}` : undefined);
  let closed = false;
  let last: string | undefined;
  // The model active when the watch starts is the baseline; checks queue behind its read.
  let running: Promise<void> = activeModel(installDir).then(
    (model) => void (last = keyOf(model)),
    (error: unknown) => options.onError?.(error),
  );
  const check = (): void => {
    running = running.then(async () => {
      if (closed) return;
      try {
        const model = await activeModel(installDir);
        const key = keyOf(model);
        if (key === last) return;
        last = key;
        if (model) await onChange(model);
      } catch (error) {
        options.onError?.(error);
      }
    });
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(installDir, { persistent: false }, (_type, file) => {
      if (file === null || file === "active") check();
    });
    watcher.on("error", (error) => options.onError?.(error));
  } catch (error) {
    options.onError?.(error);
  }
  const timer = setInterval(check, options.intervalMs ?? 5000);
  timer.unref();
  return {
    close() {
      closed = true;
      clearInterval(timer);
      watcher?.close();
    },
  };
}
