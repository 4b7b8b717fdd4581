import { describe, expect, it } from "vitest";
import { ProgressLine, fit, progressBar } from "./progress.js";

function sink(): { write(text: string): void; text: string } {
  return {
    text: "",
    write(text: string) {
      this.text += text;
    },
  };
}

describe("progress line", () => {
  it("draws bars proportionally, clamped to the width", () => {
    expect(progressBar(0, 10, 10)).toBe("░".repeat(10));
    expect(progressBar(3, 10, 10)).toBe("███░░░░░░░");
    expect(progressBar(10, 10, 10)).toBe("█".repeat(10));
    expect(progressBar(20, 10, 4)).toBe("████");
    expect(progressBar(1, 0, 4)).toBe("░░░░");
  });

  it("cuts long lines to the terminal width with an ellipsis", () => {
    expect(fit("abcdef", 10)).toBe("abcdef");
    expect(fit("abcdefghijkl", 6)).toBe("abcde…");
  });

  it("on a terminal redraws one line in place, throttled, and prints milestones above it", () => {
    const out = sink();
    const line = new ProgressLine(out, { isTTY: true, columns: 40, intervalMs: 60_000 });
    line.update("step 1");
    line.update("step 2"); // within the interval: not drawn
    line.update("step 3", true); // forced
    line.milestone("✓ done one");
    line.update("step 4"); // first draw after a milestone: not throttled
    line.clear();
    const clear = "\r\u001b[2K";
    expect(out.text).toBe(`${clear}step 1${clear}step 3${clear}✓ done one\n${clear}step 4${clear}`);
  });

  it("elsewhere prints only milestones, one plain line each", () => {
    const out = sink();
    const line = new ProgressLine(out, { isTTY: false });
    line.update("step 1", true);
    line.milestone("first");
    line.update("step 2", true);
    line.milestone("second");
    line.clear();
    expect(out.text).toBe("first\nsecond\n");
  });
});
