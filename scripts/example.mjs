#!/usr/bin/env node
// The main job: runs the example project end to end on this machine with the
// same CLI a user runs. Each step prints what it does; the first failing step
// stops the run with its exit code.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const cli = join(root, "packages", "cli", "dist", "bin.js");
const project = join(root, "examples", "story-lm");
const manifest = join(project, "slmops.yaml");

const steps = [
  { title: "validate the manifest", args: ["validate", manifest] },
];

for (const [i, step] of steps.entries()) {
  console.log(`\n[${i + 1}/${steps.length}] ${step.title}: slmops ${step.args.map((a) => a.replace(root + "/", "")).join(" ")}`);
  const result = spawnSync(process.execPath, [cli, ...step.args], { cwd: project, stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`\nThe example stopped at step ${i + 1} (${step.title}).`);
    process.exit(result.status ?? 1);
  }
}
console.log("\nThe example project ran end to end.");
