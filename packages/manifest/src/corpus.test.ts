import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { formatDiagnostic } from "@slmops/diagnostics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseManifest } from "./index.js";
import { makeRepo } from "./test-support/repo.js";

const fixtures = resolve(dirname(fileURLToPath(import.meta.url)), "../fixtures/invalid");

interface Expected {
  line: number;
  column: number;
  message: string;
  hint?: string;
}

/** Reads the `# expect: L:C: message` / `#   hint: …` header of a fixture. */
function expectations(text: string): Expected[] {
  const out: Expected[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("#")) break;
    const expect = /^# expect: (\d+):(\d+): (.*)$/u.exec(line);
    if (expect) {
      out.push({ line: Number(expect[1]), column: Number(expect[2]), message: expect[3] ?? "" });
      continue;
    }
    const hint = /^# {3}hint: (.*)$/u.exec(line);
    const last = out[out.length - 1];
    if (hint && last) last.hint = hint[1];
  }
  return out;
}

const files = readdirSync(fixtures).filter((f) => f.endsWith(".yaml")).sort();

describe("the bad-input corpus", () => {
  let repo: ReturnType<typeof makeRepo>;
  beforeAll(() => {
    repo = makeRepo();
  });
  afterAll(() => repo.cleanup());

  it("has at least 60 committed cases", () => {
    expect(files.length).toBeGreaterThanOrEqual(60);
  });

  it.each(files)("%s gives exactly its expected errors", async (name) => {
    const text = readFileSync(join(fixtures, name), "utf8");
    const expected = expectations(text);
    expect(expected.length, "the fixture states its expected errors").toBeGreaterThan(0);
    const result = await parseManifest(text, { file: join(repo.root, "slmops.yaml"), root: repo.root, displayPath: "slmops.yaml" });
    expect(result.ok).toBe(false);
    const errors = result.diagnostics.filter((d) => d.severity === "error");
    expect(errors.map((d) => ({ line: d.line, column: d.column, message: d.message, ...(d.hint ? { hint: d.hint } : {}) }))).toEqual(expected);
    for (const d of errors) {
      expect(d.file).toBe("slmops.yaml");
      expect(d.code).toMatch(/^[a-z-]+\/[a-z0-9-]+$/u);
      const shown = formatDiagnostic(d);
      expect(shown).toMatch(/^slmops\.yaml:\d+:\d+: error: /u);
      expect(shown).not.toMatch(/\n\s+at |Error:|undefined|\[object Object\]/u);
    }
  });
});
