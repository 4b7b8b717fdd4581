#!/usr/bin/env node
// Installs the workspace with the pinned pnpm (through npx, so a machine with
// only Node.js and npm is enough) and builds every package. Safe to run again:
// an install whose lockfile has not changed is skipped.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 11)) {
  console.error(`slmops needs Node.js 20.11 or later; this is ${process.version}.`);
  process.exit(1);
}

const pnpmSpec = pkg.packageManager; // e.g. pnpm@10.34.8
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1", COREPACK_ENABLE_STRICT: "0" };
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: "inherit", env });

const lock = readFileSync(join(root, "pnpm-lock.yaml"));
const stamp = join(root, "node_modules", ".slmops-install-stamp");
const want = createHash("sha256").update(lock).update(pnpmSpec).update(process.version).digest("hex");
const have = existsSync(stamp) ? readFileSync(stamp, "utf8") : "";
if (have !== want) {
  console.log(`» installing dependencies with ${pnpmSpec}`);
  const frozen = process.env.CI ? ["--frozen-lockfile"] : [];
  run(process.platform === "win32" ? "npx.cmd" : "npx", ["-y", pnpmSpec, "install", ...frozen]);
  writeFileSync(stamp, want);
}

console.log("» building packages");
run(process.execPath, [join(root, "node_modules", "turbo", "bin", "turbo"), "run", "build", "--output-logs=errors-only"]);
