/**
 * The published package, as a user installs it: `npm pack`, then plain
 * `npm install --ignore-scripts <tarball>` into an empty project (no
 * workspace, no pnpm), then the `slmops` command there — including the
 * commands that need ONNX Runtime through the bundled runtime.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasStackTrace, repoRoot } from "./test-support/run-cli.js";
import { installTarball, npxSlmops, packCli, type PackInfo } from "./test-support/packed-cli.js";

interface Manifest {
  name: string;
  bin?: Record<string, string>;
  engines?: Record<string, string>;
  license?: string;
  files?: string[];
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

let work: string;
let project: string;
let info: PackInfo;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "slmops-pack-"));
  const packed = packCli(join(work, "tarball"));
  info = packed.info;
  project = join(work, "project");
  installTarball(project, packed.tarball);
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("npm pack of @slmops/cli", () => {
  it("ships the bundles and the manifest, nothing else", () => {
    expect(info.name).toBe("@slmops/cli");
    const files = info.files.map((f) => f.path).sort();
    const chunks = files.filter((f) => /^dist\/chunk-[A-Z0-9]+\.js$/.test(f));
    expect(files.filter((f) => !chunks.includes(f))).toEqual(["README.md", "dist/bin.js", "dist/worker.js", "package.json"]);
    // Exactly the chunks the build wrote: none missing, none left from an earlier build.
    expect(chunks).toEqual(readdirSync(join(import.meta.dirname, "..", "dist")).filter((f) => f.startsWith("chunk-")).map((f) => `dist/${f}`).sort());
    expect(chunks.length).toBeGreaterThan(0);
  });

  it("depends on published npm packages only, pinned", () => {
    const installed = JSON.parse(readFileSync(join(project, "node_modules", "@slmops", "cli", "package.json"), "utf8")) as Manifest;
    expect(installed.bin).toEqual({ slmops: "./dist/bin.js" });
    expect(installed.engines?.node).toBe(">=20.11");
    expect(installed.license).toBe("Apache-2.0");
    const runtimeDeps = { ...installed.dependencies, ...installed.peerDependencies, ...installed.optionalDependencies };
    expect(Object.keys(runtimeDeps).sort()).toEqual(["better-sqlite3", "onnxruntime-node", "pg"]);
    for (const [name, version] of Object.entries(runtimeDeps)) expect(version, name).toMatch(/^\d+\.\d+\.\d+$/);
    // The one version @slmops/runtime is built and tested against.
    const runtime = JSON.parse(readFileSync(join(repoRoot, "packages", "runtime", "package.json"), "utf8")) as Manifest;
    expect(runtimeDeps["onnxruntime-node"]).toBe(runtime.dependencies?.["onnxruntime-node"]);
    // The collector's database drivers, at the versions @slmops/collector is tested against; the SQLite one is
    // optional (its native addon is built on install; an install where that fails still has every other command).
    const collector = JSON.parse(readFileSync(join(repoRoot, "packages", "collector", "package.json"), "utf8")) as Manifest;
    expect(installed.optionalDependencies).toEqual({ "better-sqlite3": collector.dependencies?.["better-sqlite3"] });
    expect(installed.dependencies?.["pg"]).toBe(collector.dependencies?.["pg"]);
    // Nothing of the workspace was installed: the bundle carries it.
    expect(readdirSync(join(project, "node_modules", "@slmops")).sort()).toEqual(["cli"]);
  });
});

describe("the installed slmops command", () => {
  it("prints its help and version", () => {
    const help = npxSlmops(["--help"], project);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: slmops <command>/);
    for (const command of ["validate", "make-model", "optimize", "bench", "gate"]) expect(help.stdout).toContain(`\n  ${command} `);
    const version = npxSlmops(["--version"], project);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(repoRoot, "packages", "cli", "package.json"), "utf8")).version);
  }, 120_000);

  it("makes a model, validates a project and builds a variant with ONNX Runtime", () => {
    const made = npxSlmops(["make-model", "--preset", "nano", "--out", "m"], project);
    expect(made.status, made.stderr).toBe(0);
    for (const file of ["model.onnx", "tokenizer.json", "eval.jsonl", "config.json"]) expect(existsSync(join(project, "m", file)), file).toBe(true);

    const example = join(project, "example");
    cpSync(join(repoRoot, "examples", "story-lm"), example, { recursive: true, filter: (src) => !/[\\/](\.slmops|out)$/.test(src) });
    const valid = npxSlmops(["validate", "example", "--json"], project);
    expect(valid.status, valid.stderr).toBe(0);
    expect(JSON.parse(valid.stdout)).toMatchObject({ valid: true });

    // The graph optimization runs in ONNX Runtime, loaded from the installed onnxruntime-node.
    const optimized = npxSlmops(["optimize", "--variant", "int4", "--json"], example);
    expect(optimized.status, optimized.stderr).toBe(0);
    const [built] = JSON.parse(optimized.stdout) as { model: string; variant: string; path: string }[];
    expect(built).toMatchObject({ model: "story-lm", variant: "int4" });
    expect(existsSync(join(example, ".slmops", "variants", "story-lm", "int4", "model.onnx"))).toBe(true);
  }, 120_000);

  it("benchmarks a variant in the bundled worker process", () => {
    const example = join(project, "example");
    const bench = npxSlmops(["bench", "--variant", "int4", "--warmup", "1", "--min-iterations", "2", "--min-duration", "1ms", "--prompt-tokens", "8", "--generate-tokens", "4", "--json"], example);
    expect(bench.status, bench.stderr).toBe(0);
    const report = JSON.parse(bench.stdout) as { results: { model: string; variant: string; status: string }[] };
    expect(report.results).toEqual(expect.arrayContaining([expect.objectContaining({ model: "story-lm", variant: "int4", status: "ok" })]));
    expect(report.results.every((r) => r.status === "ok")).toBe(true);
  }, 120_000);

  it("installed with --ignore-scripts, the collector commands say how to build the SQLite driver, without a stack trace", () => {
    // better-sqlite3 is there, its native addon not built: one message naming the fix. (The fix itself,
    // `npm rebuild better-sqlite3`, compiles the addon where no prebuilt one can be downloaded: minutes, so not here.)
    const unbuilt = npxSlmops(["collector", "token", "add", "kiosk-1"], project);
    expect(unbuilt.status).toBe(1);
    expect(unbuilt.stderr).toContain("the collector's SQLite driver, better-sqlite3, is installed but its native addon was never built");
    expect(unbuilt.stderr).toContain(`fix: cd ${project} && npm rebuild better-sqlite3`);
    expect(hasStackTrace(unbuilt.stderr)).toBe(false);
    expect(existsSync(join(project, ".slmops", "collector.sqlite"))).toBe(false);
  }, 120_000);

  it("tells a user's mistake as one message, without a stack trace", () => {
    const missing = npxSlmops(["validate", "no-such-dir"], project);
    expect(missing.status).toBe(1);
    expect(missing.stderr + missing.stdout).toContain("no-such-dir");
    expect(hasStackTrace(missing.stderr)).toBe(false);
  }, 120_000);
});
