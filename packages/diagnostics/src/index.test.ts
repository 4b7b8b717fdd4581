import { describe, expect, it } from "vitest";
import {
  ConfigurationError,
  compareDiagnostics,
  describeError,
  formatDiagnostic,
  hasErrors,
  type Diagnostic,
} from "./index.js";

const d = (over: Partial<Diagnostic>): Diagnostic => ({
  severity: "error",
  code: "test",
  message: "bad",
  file: "slmops.yaml",
  line: 1,
  column: 1,
  ...over,
});

describe("formatDiagnostic", () => {
  it("prints file:line:col: severity: message", () => {
    expect(formatDiagnostic(d({ line: 12, column: 7, message: "unknown device `rpi6`" }))).toBe(
      "slmops.yaml:12:7: error: unknown device `rpi6`",
    );
  });
  it("puts the hint on its own line", () => {
    expect(formatDiagnostic(d({ hint: "did you mean `rpi5`?" }))).toBe(
      "slmops.yaml:1:1: error: bad\n  hint: did you mean `rpi5`?",
    );
  });
});

describe("compareDiagnostics", () => {
  it("orders by file, line, column, message", () => {
    const list = [d({ line: 3 }), d({ file: "a.yaml", line: 9 }), d({ line: 1, column: 5 }), d({ line: 1, column: 2 })];
    expect(list.sort(compareDiagnostics).map((x) => `${x.file}:${x.line}:${x.column}`)).toEqual([
      "a.yaml:9:1",
      "slmops.yaml:1:2",
      "slmops.yaml:1:5",
      "slmops.yaml:3:1",
    ]);
  });
});

describe("errors", () => {
  it("shows a configuration error without a stack trace", () => {
    const text = describeError(new ConfigurationError("x", { diagnostics: [d({ line: 2 }), d({ line: 1 })] }));
    expect(text).toBe("slmops.yaml:1:1: error: bad\nslmops.yaml:2:1: error: bad");
    expect(text).not.toMatch(/\bat .*:\d+:\d+\)/);
  });
  it("keeps the cause chain of an internal failure", () => {
    const inner = new Error("disk on fire");
    const text = describeError(new Error("could not write report", { cause: inner }));
    expect(text).toContain("could not write report");
    expect(text).toContain("Caused by: Error: disk on fire");
  });
  it("names the subclass", () => {
    expect(new ConfigurationError("m").name).toBe("ConfigurationError");
  });
  it("tells errors from warnings", () => {
    expect(hasErrors([d({ severity: "warning" })])).toBe(false);
    expect(hasErrors([d({ severity: "warning" }), d({})])).toBe(true);
  });
});
