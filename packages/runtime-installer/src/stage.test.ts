import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { pinnedVersion, stageBundles } from "./index.js";

const repoRoot = join(import.meta.dirname, "..", "..", "..");
const installedRuntime = realpathSync(join(repoRoot, "packages", "runtime", "node_modules", "onnxruntime-node"));

/** A bundle as the actions build them: an ES module importing onnxruntime-node by name. */
function bundle(): string {
  const dir = mkdtempSync(join(tmpdir(), "bundle-"));
  const file = join(dir, "uses-ort.js");
  writeFileSync(file, 'import * as ort from "onnxruntime-node";\nexport const version = ort.env.versions.common;\nexport const hasSession = typeof ort.InferenceSession.create === "function";\n');
  return file;
}

describe("staged bundles", () => {
  it("resolve onnxruntime-node to the located package, in a child process and through import()", async () => {
    const staged = await stageBundles([bundle()], installedRuntime, mkdtempSync(join(tmpdir(), "stage-parent-")));
    try {
      expect(JSON.parse(readFileSync(join(staged.dir, "package.json"), "utf8"))).toEqual({ type: "module", private: true });
      const printed = execFileSync(process.execPath, ["--input-type=module", "-e", `const m = await import(${JSON.stringify(pathToFileURL(staged.path("uses-ort.js")).href)}); process.stdout.write(m.version + " " + m.hasSession)`], {
        encoding: "utf8",
      });
      expect(printed).toBe(`${pinnedVersion()} true`);
      const mod = (await import(pathToFileURL(staged.path("uses-ort.js")).href)) as { version: string };
      expect(mod.version).toBe(pinnedVersion());
    } finally {
      await staged.remove();
    }
    expect(existsSync(staged.dir)).toBe(false);
  });

  it("leaves nothing behind when a bundle is missing", async () => {
    const parent = mkdtempSync(join(tmpdir(), "stage-parent-"));
    await expect(stageBundles([join(parent, "missing.js")], installedRuntime, parent)).rejects.toThrow(/ENOENT/);
    expect(existsSync(parent) && (await import("node:fs")).readdirSync(parent)).toEqual([]);
  });
});
