/**
 * Progress for long commands, on stderr so stdout keeps only results. On a
 * terminal one status line is redrawn in place (at most every
 * `intervalMs`); anywhere else (CI logs, pipes) only milestones are printed,
 * one plain line each, so logs stay short and readable.
 */

/** Where progress goes. */
export interface ProgressSink {
  write(text: string): unknown;
}

export interface ProgressOptions {
  /** Whether the sink is a terminal (redraw in place) or not (plain lines). */
  readonly isTTY: boolean;
  /** Terminal width; lines are cut to fit. Default 80. */
  readonly columns?: number;
  /** Shortest time between two redraws on a terminal. Default 80 ms. */
  readonly intervalMs?: number;
}

const CLEAR_LINE = "\r\u001b[2K";

/** A progress bar of `width` cells for `done` of `total`, e.g. `█████░░░░░`. */
export function progressBar(done: number, total: number, width = 20): string {
  const share = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const full = Math.round(share * width);
  return "█".repeat(full) + "░".repeat(width - full);
}

/** A line cut to `columns` characters, with an ellipsis when cut. */
export function fit(text: string, columns: number): string {
  const chars = [...text];
  if (chars.length <= columns) return text;
  return `${chars.slice(0, Math.max(0, columns - 1)).join("")}…`;
}

/**
 * One live status line. `update` redraws it on a terminal and is silent
 * elsewhere; `milestone` prints a line that stays (on a terminal above the
 * status line); `clear` removes the status line.
 */
export class ProgressLine {
  private readonly sink: ProgressSink;
  private readonly isTTY: boolean;
  private readonly columns: number;
  private readonly intervalMs: number;
  private shown = false;
  private lastDraw = 0;
  private pending: string | undefined;

  constructor(sink: ProgressSink, options: ProgressOptions) {
    this.sink = sink;
    this.isTTY = options.isTTY;
    this.columns = Math.max(20, options.columns ?? 80);
    this.intervalMs = options.intervalMs ?? 80;
  }

  /** Shows `text` as the status (terminal only). `force` draws now even if the last draw was recent. */
  update(text: string, force = false): void {
    if (!this.isTTY) return;
    const now = Date.now();
    if (!force && this.shown && now - this.lastDraw < this.intervalMs) {
      this.pending = text;
      return;
    }
    this.draw(text, now);
  }

  /** Prints a line that stays in the output (the status line is drawn again by the next update). */
  milestone(text: string): void {
    if (this.isTTY && this.shown) this.sink.write(CLEAR_LINE);
    this.sink.write(`${text}\n`);
    this.shown = false;
    this.pending = undefined;
  }

  /** Removes the status line (terminal only). */
  clear(): void {
    if (this.isTTY && this.shown) this.sink.write(CLEAR_LINE);
    this.shown = false;
    this.pending = undefined;
  }

  private draw(text: string, now: number): void {
    this.sink.write(`${CLEAR_LINE}${fit(text, this.columns - 1)}`);
    this.shown = true;
    this.lastDraw = now;
    this.pending = text;
  }
}

/** The width of the terminal behind a stream, when it is one. */
export function terminalColumns(stream: unknown): number | undefined {
  const columns = (stream as { columns?: unknown } | null)?.columns;
  return typeof columns === "number" && columns > 0 ? columns : undefined;
}
