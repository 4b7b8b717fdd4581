#!/usr/bin/env node
// The main job: the example project end to end on this machine, through the
// same CLI a user runs — validate the manifest, build the optimized variants,
// benchmark them with this machine as the device `local`, and gate the
// results into one verdict with its report.
//
//   npm run example              the manifest's own run rules
//   npm run example -- --quick   short run rules (a few seconds per variant)
import { spawnSync } from "node:child_process";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const cli = join(root, "packages", "cli", "dist", "bin.js");
const project = join(root, "examples", "story-lm");
const work = join(project, ".slmops");
const quick = process.argv.includes("--quick");
const unknown = process.argv.slice(2).filter((a) => a !== "--quick");
if (unknown.length > 0) {
  console.error(`example: unknown argument ${unknown.join(" ")} (the only option is --quick)`);
  process.exit(2);
}

const reports = join(work, "reports");
const markdown = join(work, "report.md");
const html = join(work, "report.html");
const steps = [
  { title: "validate the manifest", args: ["validate", "slmops.yaml"] },
  { title: "build the optimized variants", args: ["optimize", "--manifest", "slmops.yaml"] },
  {
    title: "benchmark every variant on this machine (device `local`)",
    args: [
      "bench",
      "--manifest",
      "slmops.yaml",
      "--device",
      "local",
      "--out",
      join(reports, "local.json"),
      ...(quick ? ["--min-duration", "1s", "--min-iterations", "5", "--warmup", "2"] : []),
    ],
  },
  {
    title: "gate the results: one verdict",
    args: ["gate", reports, "--manifest", "slmops.yaml", "--device", "local", "--markdown", markdown, "--html", html],
  },
];

for (const [i, step] of steps.entries()) {
  const shown = step.args.map((a) => (a.startsWith(root) ? relative(project, a) || "." : a)).join(" ");
  console.log(`\n[${i + 1}/${steps.length}] ${step.title}\n$ slmops ${shown}`);
  const result = spawnSync(process.execPath, [cli, ...step.args], { cwd: project, stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`\nThe example stopped at step ${i + 1} (${step.title}), exit ${result.status ?? result.signal}.`);
    if (i === steps.length - 1) console.error(`The report is in ${relative(root, markdown)}.`);
    process.exit(result.status ?? 1);
  }
}
console.log(`\nThe example project ran end to end. The report (Markdown, as posted on a pull request): ${relative(root, markdown)}; as one HTML file: ${relative(root, html)}`);
