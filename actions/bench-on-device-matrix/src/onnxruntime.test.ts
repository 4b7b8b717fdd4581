import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { bindingPath, cacheLayout, flavorFor, pinnedVersion, preinstalledRuntime, toolCacheRuntime, verifyIntegrity } from "./onnxruntime.js";
import { actionDir, repoRoot } from "./test-support/paths.js";

const installedRuntime = dirname(createRequire(join(repoRoot, "packages", "runtime", "package.json")).resolve("onnxruntime-node/package.json"));

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

describe("onnxruntime-node on the runner", { timeout: 120_000 }, () => {
  it("the action pins the version in its lockfile", async () => {
    expect(await pinnedVersion(join(actionDir, "onnxruntime"))).toBe("1.30.0");
  });

  it("asks for GPU binaries only when the device uses CUDA or TensorRT", () => {
    expect(flavorFor(["cpu"])).toBe("cpu");
    expect(flavorFor(["xnnpack", "cpu"])).toBe("cpu");
    expect(flavorFor(["cuda", "cpu"])).toBe("cuda12");
    expect(flavorFor(["tensorrt"])).toBe("cuda12");
  });

  it("uses a preinstalled package, given as the package or as a directory holding node_modules", async () => {
    const direct = await preinstalledRuntime(installedRuntime);
    expect(direct).toEqual({ packageDir: installedRuntime, version: "1.30.0", source: "preinstalled" });
    const prefix = mkdtempSync(join(tmpdir(), "prefix-"));
    mkdirSync(join(prefix, "node_modules"));
    symlinkSync(installedRuntime, join(prefix, "node_modules", "onnxruntime-node"));
    expect((await preinstalledRuntime(prefix)).packageDir).toBe(join(prefix, "node_modules", "onnxruntime-node"));
    await expect(preinstalledRuntime(join(prefix, "nothing"))).rejects.toThrow(/is not an onnxruntime-node package/);
  });

  it("installs into the tool cache once, then reuses it while every file is as installed", async () => {
    const lockDir = localLock();
    const toolCache = mkdtempSync(join(tmpdir(), "tool-cache-"));
    const layout = cacheLayout(toolCache, "0.0.1-test", "cpu");
    expect(layout.dir).toBe(join(toolCache, "slmops-onnxruntime-node", "0.0.1-test", process.arch));

    const first = await toolCacheRuntime({ toolCache, lockDir, flavor: "cpu", npmArgs: ["--offline"] });
    expect(first).toEqual({ packageDir: layout.packageDir, version: "0.0.1-test", source: "installed" });
    expect(existsSync(layout.marker)).toBe(true);
    expect(existsSync(bindingPath(layout.packageDir))).toBe(true);
    // Nothing left over beside the install.
    expect(readdirSync(dirname(layout.dir)).sort()).toEqual([process.arch, `${process.arch}.complete`]);
    expect(await verifyIntegrity(layout.dir, "0.0.1-test", "cpu")).toBeUndefined();

    const second = await toolCacheRuntime({ toolCache, lockDir, flavor: "cpu", npmArgs: ["--offline"] });
    expect(second.source).toBe("tool-cache");
  });

  it("reinstalls a cache whose files were changed or added after the install, or whose install did not complete", async () => {
    const lockDir = localLock();
    const toolCache = mkdtempSync(join(tmpdir(), "tool-cache-"));
    const layout = cacheLayout(toolCache, "0.0.1-test", "cpu");
    await toolCacheRuntime({ toolCache, lockDir, flavor: "cpu", npmArgs: ["--offline"] });

    appendFileSync(join(layout.packageDir, "index.js"), "globalThis.owned = true;\n");
    expect(await verifyIntegrity(layout.dir, "0.0.1-test", "cpu")).toBe("onnxruntime-node/index.js was changed after the install");
    const log: string[] = [];
    const again = await toolCacheRuntime({ toolCache, lockDir, flavor: "cpu", npmArgs: ["--offline"], log: (l) => log.push(l) });
    expect(again.source).toBe("installed");
    expect(log[0]).toMatch(/cannot be used: onnxruntime-node\/index\.js was changed after the install; installing it again/);
    expect(readFileSync(join(layout.packageDir, "index.js"), "utf8")).not.toContain("owned");

    writeFileSync(join(layout.packageDir, "extra.js"), "");
    expect(await verifyIntegrity(layout.dir, "0.0.1-test", "cpu")).toBe("onnxruntime-node/extra.js was added after the install");
    expect(await verifyIntegrity(layout.dir, "0.0.2", "cpu")).toBe("its integrity record is for another install");

    // A directory without its completion marker is never used.
    rmSync(layout.marker);
    expect((await toolCacheRuntime({ toolCache, lockDir, flavor: "cpu", npmArgs: ["--offline"] })).source).toBe("installed");
    expect(existsSync(join(layout.packageDir, "extra.js"))).toBe(false);
  });

  it("a package without this platform's binding is refused, and nothing is left in the cache", async () => {
    const lockDir = localLock("0.0.1-test", false);
    const toolCache = mkdtempSync(join(tmpdir(), "tool-cache-"));
    await expect(toolCacheRuntime({ toolCache, lockDir, flavor: "cpu", npmArgs: ["--offline"] })).rejects.toThrow(/has no binding for/);
    const layout = cacheLayout(toolCache, "0.0.1-test", "cpu");
    expect(readdirSync(dirname(layout.dir))).toEqual([]);
  });
});
