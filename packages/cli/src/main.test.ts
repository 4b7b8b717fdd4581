import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { ConfigurationError } from "@slmops/diagnostics";
import { describe, expect, it } from "vitest";
import type { Command } from "./command.js";
import type { Io } from "./io.js";
import { styleFor } from "./io.js";
import { main } from "./main.js";
import { closest } from "./suggest.js";

function memoryIo(overrides: Partial<Io> = {}): Io & { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  return {
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: (t: string) => (err += t) },
    env: {},
    cwd: process.cwd(),
    stdoutIsTTY: false,
    stderrIsTTY: false,
    ...overrides,
    out: () => out,
    err: () => err,
  };
}

const throwing = (error: unknown): Command => ({
  name: "explode",
  summary: "throws",
  positionals: [],
  options: {},
  run: async () => {
    throw error;
  },
});

describe("main", () => {
  it("prints an internal error with its cause chain and exits 1", async () => {
    const io = memoryIo();
    const code = await main(["explode"], io, [throwing(new Error("could not read cache", { cause: new RangeError("bad offset 42") }))]);
    expect(code).toBe(1);
    expect(io.err()).toContain("internal error: slmops explode failed unexpectedly");
    expect(io.err()).toContain("Error: could not read cache");
    expect(io.err()).toContain("Caused by: RangeError: bad offset 42");
  });

  it("prints a user's mistake as its message alone and exits 1", async () => {
    const io = memoryIo();
    const code = await main(["explode"], io, [throwing(new ConfigurationError("models[0].source: file not found."))]);
    expect(code).toBe(1);
    expect(io.err()).toBe("error: models[0].source: file not found.\n");
  });

  it("colors only on a TTY and never with NO_COLOR", async () => {
    expect(styleFor(true, {}).red("x")).toBe("\u001b[31mx\u001b[39m");
    expect(styleFor(false, {}).red("x")).toBe("x");
    expect(styleFor(true, { NO_COLOR: "1" }).red("x")).toBe("x");
    expect(styleFor(true, { NO_COLOR: "" }).red("x")).not.toBe("x");
    const tty = memoryIo({ stderrIsTTY: true });
    await main(["nope"], tty);
    expect(tty.err()).toContain("\u001b[31merror:\u001b[39m");
    const noColor = memoryIo({ stderrIsTTY: true, env: { NO_COLOR: "1" } });
    await main(["nope"], noColor);
    expect(noColor.err()).not.toContain("\u001b[");
  });
});

describe("validate output styling", { timeout: 60_000 }, () => {
  it("colors diagnostics on a terminal, plain with NO_COLOR or when piped", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cli-color-"));
    writeFileSync(join(dir, "slmops.yaml"), "version: 1\nmodels: []\nbogus: 1\n");
    const tty = memoryIo({ cwd: dir, stdoutIsTTY: true });
    expect(await main(["validate"], tty)).toBe(1);
    expect(tty.out()).toContain("\u001b[31merror:\u001b[39m");
    expect(tty.out()).toContain("\u001b[31m✗\u001b[39m");
    const noColor = memoryIo({ cwd: dir, stdoutIsTTY: true, env: { NO_COLOR: "1" } });
    expect(await main(["validate"], noColor)).toBe(1);
    const piped = memoryIo({ cwd: dir });
    expect(await main(["validate"], piped)).toBe(1);
    for (const io of [noColor, piped]) {
      expect(io.out()).not.toContain("\u001b[");
      expect(io.out()).toMatch(/^slmops\.yaml:3:1: error: /m);
    }
    expect(stripVTControlCharacters(tty.out())).toBe(piped.out());
  });
});

describe("closest", () => {
  it("suggests likely typos and nothing for unrelated words", () => {
    expect(closest("valdate", ["validate", "bench"])).toBe("validate");
    expect(closest("jsno", ["json", "root"])).toBe("json");
    expect(closest("rot", ["json", "root"])).toBe("root");
    expect(closest("benchmark", ["validate", "gate"])).toBeUndefined();
  });
});
