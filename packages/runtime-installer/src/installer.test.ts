import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { bindingPath, cacheLayout, flavorFor, locateRuntime, pinnedVersion, preinstalledRuntime, readLockDir, SHIPPED_LOCK, toolCacheRuntime, verifyIntegrity } from "./index.js";

const packageRoot = join(import.meta.dirname, "..");
const repoRoot = join(packageRoot, "..", "..");
/** The onnxruntime-node the workspace installed (its real directory), standing in for a preinstalled one on a runner. */
const installedRuntime = realpathSync(join(repoRoot, "packages", "runtime", "node_modules", "onnxruntime-node"));

/**
 * A lockfile directory pinning a small package tarball built here with
 * `npm pack` (name `onnxruntime-node`, a binding file for this platform), so
 * the tool-cache install runs the real `npm ci` offline.
 */
function localLock(version = "0.0.1-test", withBinding = true): string {
  const dir = mkdtempSync(join(tmpdir(), "ort-lock-"));
  const src = join(dir, "src");
  mkdirSync(src);
  writeFileSync(join(src, "package.json"), JSON.stringify({ name: "onnxruntime-node", version, main: "index.js" }));
  writeFileSync(join(src, "index.js"), "module.exports = {};\n");
  if (withBinding) {
    const binding = bindingPath(src);
    mkdirSync(dirname(binding), { recursive: true });
    writeFileSync(binding, "binding");
  }
  execFileSync("npm", ["pack", "--pack-destination", dir, "--silent"], { cwd: src, stdio: "ignore" });
  const tarball = join(dir, `onnxruntime-node-${version}.tgz`);
  const lock = join(dir, "lock");
  mkdirSync(lock);
  writeFileSync(join(lock, "package.json"), JSON.stringify({ name: "t", private: true, dependencies: { "onnxruntime-node": `file:${tarball}` } }));
  execFileSync("npm", ["install", "--package-lock-only", "--ignore-scripts", "--offline", "--silent"], { cwd: lock, stdio: "ignore" });
  return lock;
}

const offline = { npmArgs: ["--offline"] } as const;

describe("the pinned lock", () => {
  it("pins the onnxruntime-node version that @slmops/runtime is built and tested against, with npm's integrity for it", () => {
    const runtime = JSON.parse(readFileSync(join(repoRoot, "packages", "runtime", "package.json"), "utf8")) as { dependencies: Record<string, string> };
    expect(pinnedVersion()).toBe(runtime.dependencies["onnxruntime-node"]);
    const lock = JSON.parse(SHIPPED_LOCK.packageLock) as { packages: Record<string, { version: string; integrity?: string }> };
    expect(lock.packages["node_modules/onnxruntime-node"]?.integrity).toMatch(/^sha512-/);
    const manifest = JSON.parse(SHIPPED_LOCK.packageJson) as { dependencies: Record<string, string> };
    expect(manifest.dependencies).toEqual({ "onnxruntime-node": pinnedVersion() });
  });

  it("asks for GPU binaries only when the device uses CUDA or TensorRT", () => {
    expect(flavorFor(["cpu"])).toBe("cpu");
    expect(flavorFor(["xnnpack", "cpu"])).toBe("cpu");
    expect(flavorFor(["cuda", "cpu"])).toBe("cuda12");
    expect(flavorFor(["tensorrt"])).toBe("cuda12");
  });
});

describe("a preinstalled onnxruntime-node", () => {
  it("is used given as the package or as a directory holding node_modules", async () => {
    expect(await preinstalledRuntime(installedRuntime)).toEqual({ packageDir: installedRuntime, version: pinnedVersion(), source: "preinstalled" });
    const prefix = mkdtempSync(join(tmpdir(), "prefix-"));
    mkdirSync(join(prefix, "node_modules"));
    symlinkSync(installedRuntime, join(prefix, "node_modules", "onnxruntime-node"));
    expect((await preinstalledRuntime(prefix)).packageDir).toBe(join(prefix, "node_modules", "onnxruntime-node"));
  });

  it("is refused with a message naming the input when it is not the package or has no binding here", async () => {
    const prefix = mkdtempSync(join(tmpdir(), "prefix-"));
    await expect(preinstalledRuntime(join(prefix, "nothing"))).rejects.toThrow(
      /^Input `onnxruntime-path` \(`[^`]+nothing`\) is not an onnxruntime-node package: no readable package\.json/,
    );
    writeFileSync(join(prefix, "package.json"), JSON.stringify({ name: "left-pad", version: "1.0.0" }));
    await expect(preinstalledRuntime(prefix, "ort")).rejects.toThrow("Input `ort` (`" + prefix + "`) holds `left-pad`, not onnxruntime-node.");
    writeFileSync(join(prefix, "package.json"), JSON.stringify({ name: "onnxruntime-node", version: "1.0.0" }));
    await expect(preinstalledRuntime(prefix)).rejects.toThrow(/onnxruntime-node 1\.0\.0 has no binding for /);
    await expect(preinstalledRuntime(prefix)).rejects.toMatchObject({ name: "ConfigurationError" });
  });

  it("locateRuntime prefers it, and without one needs a tool cache", async () => {
    expect((await locateRuntime({ preinstalledPath: installedRuntime, toolCache: "/nonexistent" })).source).toBe("preinstalled");
    await expect(locateRuntime({ preinstalledPath: "" })).rejects.toThrow(
      "RUNNER_TOOL_CACHE is not set, so onnxruntime-node cannot be installed; set the `onnxruntime-path` input to a preinstalled onnxruntime-node.",
    );
  });
});

describe("the tool cache", { timeout: 120_000 }, () => {
  it("is installed once with npm ci, then reused while every file is as installed", async () => {
    const lock = await readLockDir(localLock());
    const toolCache = mkdtempSync(join(tmpdir(), "tool-cache-"));
    const layout = cacheLayout(toolCache, "0.0.1-test");
    expect(layout.dir).toBe(join(toolCache, "slmops-onnxruntime-node", "0.0.1-test", process.arch));
    expect(cacheLayout(toolCache, "0.0.1-test", "cuda12").dir).toBe(`${layout.dir}-cuda12`);

    const log: string[] = [];
    const first = await locateRuntime({ toolCache, lock, ...offline, log: (l) => log.push(l) });
    expect(first).toEqual({ packageDir: layout.packageDir, version: "0.0.1-test", source: "installed" });
    expect(log[0]).toBe(`installing onnxruntime-node 0.0.1-test into the tool cache (${layout.dir})`);
    expect(existsSync(layout.marker)).toBe(true);
    expect(existsSync(bindingPath(layout.packageDir))).toBe(true);
    // Nothing left over beside the install.
    expect(readdirSync(dirname(layout.dir)).sort()).toEqual([process.arch, `${process.arch}.complete`]);
    expect(await verifyIntegrity(layout.dir, "0.0.1-test", "cpu")).toBeUndefined();

    const second = await toolCacheRuntime({ toolCache, lock, ...offline });
    expect(second.source).toBe("tool-cache");
  });

  it("is installed again when a file was changed, added or removed after the install, or the install did not complete", async () => {
    const lock = await readLockDir(localLock());
    const toolCache = mkdtempSync(join(tmpdir(), "tool-cache-"));
    const layout = cacheLayout(toolCache, "0.0.1-test");
    await toolCacheRuntime({ toolCache, lock, ...offline });

    appendFileSync(join(layout.packageDir, "index.js"), "globalThis.owned = true;\n");
    expect(await verifyIntegrity(layout.dir, "0.0.1-test", "cpu")).toBe("onnxruntime-node/index.js was changed after the install");
    const log: string[] = [];
    const again = await toolCacheRuntime({ toolCache, lock, ...offline, log: (l) => log.push(l) });
    expect(again.source).toBe("installed");
    expect(log[0]).toBe("the cached onnxruntime-node 0.0.1-test cannot be used: onnxruntime-node/index.js was changed after the install; installing it again");
    expect(readFileSync(join(layout.packageDir, "index.js"), "utf8")).not.toContain("owned");

    writeFileSync(join(layout.packageDir, "extra.js"), "");
    expect(await verifyIntegrity(layout.dir, "0.0.1-test", "cpu")).toBe("onnxruntime-node/extra.js was added after the install");
    expect(await verifyIntegrity(layout.dir, "0.0.2", "cpu")).toBe("its integrity record is for another install");
    expect(await verifyIntegrity(layout.dir, "0.0.1-test", "cuda12")).toBe("its integrity record is for another install");
    rmSync(join(layout.packageDir, "extra.js"));
    rmSync(join(layout.packageDir, "index.js"));
    expect(await verifyIntegrity(layout.dir, "0.0.1-test", "cpu")).toBe("onnxruntime-node/index.js is missing");
    symlinkSync("/etc/hostname", join(layout.packageDir, "index.js"));
    expect(await verifyIntegrity(layout.dir, "0.0.1-test", "cpu")).toMatch(/^onnxruntime-node\/index\.js (cannot be checked \(onnxruntime-node\/index\.js links outside the install|was changed)/);
    writeFileSync(join(layout.dir, "slmops-integrity.json"), '{"files": "all fine"}');
    expect(await verifyIntegrity(layout.dir, "0.0.1-test", "cpu")).toBe("its integrity record is malformed");

    // A directory without its completion marker is never used.
    rmSync(layout.marker);
    expect((await toolCacheRuntime({ toolCache, lock, ...offline })).source).toBe("installed");
    expect(await verifyIntegrity(layout.dir, "0.0.1-test", "cpu")).toBeUndefined();
  });

  it("refuses a package without this platform's binding, and leaves nothing in the cache", async () => {
    const lock = await readLockDir(localLock("0.0.1-test", false));
    const toolCache = mkdtempSync(join(tmpdir(), "tool-cache-"));
    await expect(toolCacheRuntime({ toolCache, lock, ...offline })).rejects.toThrow(/npm installed an unusable onnxruntime-node: onnxruntime-node 0\.0\.1-test has no binding for/);
    expect(readdirSync(dirname(cacheLayout(toolCache, "0.0.1-test").dir))).toEqual([]);
  });

  it("reports a failed npm ci with its output, and leaves nothing in the cache", async () => {
    const toolCache = mkdtempSync(join(tmpdir(), "tool-cache-"));
    // The shipped lock offline with an empty npm cache: npm cannot fetch the tarballs.
    const cache = mkdtempSync(join(tmpdir(), "npm-cache-"));
    await expect(toolCacheRuntime({ toolCache, ...offline, env: { npm_config_cache: cache } })).rejects.toThrow(/ci --ignore-scripts .* exited with code \d+: /);
    expect(readdirSync(dirname(cacheLayout(toolCache, pinnedVersion()).dir))).toEqual([]);
  });

  it.runIf(process.env.SLMOPS_TEST_NPM_INSTALL === "1")(
    "installs the shipped lock's real onnxruntime-node from the registry, which then loads (needs the npm registry)",
    async () => {
      const toolCache = mkdtempSync(join(tmpdir(), "tool-cache-"));
      const runtime = await toolCacheRuntime({ toolCache });
      expect(runtime.source).toBe("installed");
      const version = execFileSync(process.execPath, ["-e", `process.stdout.write(require(${JSON.stringify(runtime.packageDir)}).env.versions.common)`], { encoding: "utf8" });
      expect(version).toBe(pinnedVersion());
      expect((await toolCacheRuntime({ toolCache })).source).toBe("tool-cache");
    },
    600_000,
  );
});
