#!/usr/bin/env node
// The main job: the example project end to end on this machine, through the
// same CLI a user runs. The pull-request half: validate the manifest, build
// the optimized variants, benchmark them with this machine as the device
// `local`, and gate the results into one verdict with its report. Then the
// fleet half, on this machine: sign the release of `local`'s variant into a
// local repository with throwaway development keys (labelled as such), start
// its staged rollout, serve the repository, and let two local agents check
// it — one inside the first stage takes the release up (download, verify,
// install, health check, switch), one outside it stays as it is.
//
//   npm run example              the manifest's own run rules
//   npm run example -- --quick   short run rules (a few seconds per variant)
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

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
const verdict = join(work, "verdict.json");
// The fleet half's files: made afresh by each run (a throwaway repository, its keys, two devices).
// Given to the CLI relative to the project (its working directory), as a user types them.
const devKeys = join(".slmops", "dev-keys.env");
const repo = join(".slmops", "dev-release");
const devices = [join(".slmops", "device-inside"), join(".slmops", "device-outside")];
const inProject = (path) => join(project, path);

const shown = (args) => args.map((a) => (a.startsWith(root) ? relative(project, a) || "." : a)).join(" ");
let step = 0;
const TOTAL = 12;
let server;

function stop(code, message) {
  server?.kill("SIGTERM");
  if (message) console.error(`\n${message}`);
  process.exit(code);
}

/** One CLI step, shown as the user would type it; its stdout into `stdoutTo` when given. */
function run(title, args, { env = {}, stdoutTo } = {}) {
  step += 1;
  console.log(`\n[${step}/${TOTAL}] ${title}\n$ slmops ${shown(args)}${stdoutTo ? ` > ${relative(project, stdoutTo)}` : ""}`);
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: project, stdio: ["ignore", stdoutTo ? "pipe" : "inherit", "inherit"], env: { ...process.env, ...env }, encoding: "utf8" });
  if (stdoutTo && result.stdout) writeFileSync(stdoutTo, result.stdout);
  if (result.status !== 0) stop(result.status ?? 1, `The example stopped at step ${step} (${title}), exit ${result.status ?? result.signal}.`);
  return result;
}

// ---------------------------------------------------------------- the pull-request half

run("validate the manifest", ["validate", "slmops.yaml"]);
run("build the optimized variants", ["optimize", "--manifest", "slmops.yaml"]);
run("benchmark every variant on this machine (device `local`)", [
  "bench",
  "--manifest",
  "slmops.yaml",
  "--device",
  "local",
  "--out",
  join(reports, "local.json"),
  ...(quick ? ["--min-duration", "1s", "--min-iterations", "5", "--warmup", "2"] : []),
]);
run("gate the results: one verdict", ["gate", reports, "--manifest", "slmops.yaml", "--device", "local", "--markdown", markdown, "--html", html]);
run("the verdict as JSON, for the release", ["gate", reports, "--manifest", "slmops.yaml", "--device", "local", "--json"], { stdoutTo: verdict });

// ---------------------------------------------------------------- the fleet half, on this machine

for (const path of [devKeys, repo, ...devices]) rmSync(inProject(path), { recursive: true, force: true });
run("throwaway development keys (never a fleet's)", ["keys", "init", "--dev", "--out-env", devKeys]);
const keys = Object.fromEntries(
  readFileSync(inProject(devKeys), "utf8")
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
);
run("sign the release of `local`'s variant into a local repository", ["release", "build", "--repo", repo, "--manifest", "slmops.yaml", "--device", "local", "--verdict", verdict], { env: keys });
run("start its staged rollout (stage 1: 5% of devices)", ["release", "promote", "--repo", repo, "--manifest", "slmops.yaml"], { env: keys });

step += 1;
const serveArgs = ["release", "serve", "--repo", repo, "--port", "0"];
console.log(`\n[${step}/${TOTAL}] serve the repository as a static host would\n$ slmops ${shown(serveArgs)} &`);
server = spawn(process.execPath, [cli, ...serveArgs], { cwd: project, stdio: ["ignore", "pipe", "inherit"] });
const url = await new Promise((resolve) => {
  let out = "";
  server.stdout.setEncoding("utf8").on("data", (text) => {
    process.stdout.write(text);
    out += text;
    const found = /on (http:\/\/\S+) \(read-only\)/.exec(out)?.[1];
    if (found) resolve(found);
  });
  server.once("exit", (code) => stop(1, `The example stopped at step ${step}: release serve exited ${code}.`));
});

// Which device ids the first stage holds: the release's cohort function on the signed salt.
const { inCohort } = await import(pathToFileURL(join(root, "packages", "rollout-cohort", "dist", "index.js")).href);
const status = JSON.parse(spawnSync(process.execPath, [cli, "release", "status", "--repo", repo, "--json"], { cwd: project, encoding: "utf8" }).stdout);
const rollout = status.rollouts.find((r) => r.model === "story-lm");
const percent = 5;
const ids = { inside: undefined, outside: undefined };
for (let i = 1; ids.inside === undefined || ids.outside === undefined; i++) {
  const id = `example-device-${i}`;
  if (inCohort(rollout.salt, id, percent)) ids.inside ??= id;
  else ids.outside ??= id;
}
console.log(`\nDevice ids are drawn into stages by sha256(salt ‖ id): ${ids.inside} is in the first ${percent}%, ${ids.outside} is not (a real device's id is its machine id).`);

const agents = [
  { id: ids.inside, dir: devices[0], title: `device ${ids.inside} (in the stage) takes the release up` },
  { id: ids.outside, dir: devices[1], title: `device ${ids.outside} (outside the stage) stays as it is` },
];
for (const agent of agents) {
  mkdirSync(inProject(agent.dir), { recursive: true });
  const config = join(agent.dir, "agent.yaml");
  const init = [
    "agent", "init", "--manifest", "slmops.yaml", "--device-class", "local", "--repository", url, "--device-id", agent.id,
    // A device's paths are absolute (its configuration is read from /etc/slmops on a real one).
    "--install-dir", inProject(join(agent.dir, "install")), "--trusted-root", inProject(join(repo, "metadata", "1.root.json")),
    "--config", config, "--systemd-unit", join(agent.dir, "slmops-agent.service"),
  ];
  const quiet = spawnSync(process.execPath, [cli, ...init], { cwd: project, encoding: "utf8" });
  if (quiet.status !== 0) stop(1, `agent init failed:\n${quiet.stderr}`);
  run(`${agent.title} (configured by: slmops ${shown(init)})`, ["agent", "once", "--config", config]);
}
run(`what device ${ids.inside} runs now`, ["agent", "status", "--config", join(devices[0], "agent.yaml")]);

server.removeAllListeners("exit");
server.kill("SIGTERM");
console.log(
  `\nThe example project ran end to end. The report (Markdown, as posted on a pull request): ${relative(root, markdown)}; as one HTML file: ${relative(root, html)}.` +
    `\nThe release repository (signed with throwaway development keys, ${relative(root, inProject(devKeys))}): ${relative(root, inProject(repo))}; the device that took it up: ${relative(root, inProject(join(devices[0], "install", "active")))}.`,
);
