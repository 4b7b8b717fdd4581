import { describe, expect, it } from "vitest";
import { ConfigurationError, describeError, formatDiagnostic, terminalText } from "./index.js";

describe("terminalText", () => {
  it("shows ESC, CSI, OSC and BEL sequences escaped, so the terminal does not act on them", () => {
    const hostile = "\u001b[2J\u001b]0;pwned\u0007\u001b]8;;https://evil.test\u001b\\click\u001b]8;;\u001b\\ \u009b31m";
    const shown = terminalText(hostile);
    expect(shown).toBe("\\x1b[2J\\x1b]0;pwned\\x07\\x1b]8;;https://evil.test\\x1b\\click\\x1b]8;;\\x1b\\ \\x9b31m");
    expect([...shown].every((c) => c.charCodeAt(0) >= 0x20 && (c.charCodeAt(0) < 0x7f || c.charCodeAt(0) > 0x9f))).toBe(true);
  });

  it("escapes a newline and carriage return in a one-line message, and keeps newlines when asked", () => {
    expect(terminalText("ok\nerror: forged\rline")).toBe("ok\\nerror: forged\\rline");
    expect(terminalText("one\ntwo\r", { multiline: true })).toBe("one\ntwo\\r");
  });

  it("escapes bidirectional overrides, isolates and marks, DEL and backspace", () => {
    expect(terminalText("rpi5\u202e4pm.exe\u2066x\u2069\u200f\u061c\u007f\b")).toBe("rpi5\\u202e4pm.exe\\u2066x\\u2069\\u200f\\u061c\\x7f\\x08");
  });

  it("leaves tabs, printable text and other scripts alone", () => {
    expect(terminalText("a\tb · 41.2 ms ✓ 日本語 שלום")).toBe("a\tb · 41.2 ms ✓ 日本語 שלום");
  });
});

describe("formatDiagnostic with hostile input", () => {
  it("keeps a diagnostic on its lines and escapes control characters in its file, message and hint", () => {
    const text = formatDiagnostic({
      severity: "error",
      code: "ids/duplicate",
      message: "duplicate device id `rpi5\nslmops.yaml:1:1: error: forged\u202e`",
      file: "dir\u001b[31m/slmops.yaml",
      line: 3,
      column: 9,
      hint: "rename one of them\u0007",
    });
    expect(text).toBe("dir\\x1b[31m/slmops.yaml:3:9: error: duplicate device id `rpi5\\nslmops.yaml:1:1: error: forged\\u202e`\n  hint: rename one of them\\x07");
    expect(text.split("\n")).toHaveLength(2);
  });
});

describe("describeError with hostile input", () => {
  it("escapes control characters in a user mistake's message and in an internal error, keeping its lines", () => {
    expect(describeError(new ConfigurationError("reports/\u001b[2J.json: not valid JSON\n  hint: rerun\u0007"))).toBe("reports/\\x1b[2J.json: not valid JSON\n  hint: rerun\\x07");
    const internal = describeError(new Error("boom \u001b]0;title\u0007"));
    expect(internal.split("\n")[0]).toBe("Error: boom \\x1b]0;title\\x07");
  });
});
