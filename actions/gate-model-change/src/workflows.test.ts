import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { repoRoot } from "./test-support/paths.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };
type Step = Obj;
interface Job {
  readonly permissions?: Obj;
  readonly needs?: string | string[];
  readonly steps?: Step[];
  readonly uses?: string;
  readonly with?: Obj;
  readonly if?: string;
  readonly strategy?: Obj;
  readonly "runs-on"?: Json;
}

function load(...path: string[]): Obj {
  const doc = parseDocument(readFileSync(join(repoRoot, ...path), "utf8"), { uniqueKeys: true });
  expect(doc.errors.map((e) => e.message)).toEqual([]);
  return doc.toJS() as Obj;
}

const jobs = (w: Obj) => w.jobs as unknown as Record<string, Job>;
const allSteps = (w: Obj) => Object.values(jobs(w)).flatMap((j) => j.steps ?? []);
const OWN_ACTION = /^slmops\/slmops\/actions\/([a-z0-9-]+)@v1$/;
const PINNED = /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/;

/** Inputs an action declares, and which of them are required without a default. */
function actionInputs(name: string): { all: Set<string>; required: string[] } {
  const action = load("actions", name, "action.yml");
  const inputs = (action.inputs ?? {}) as Record<string, { required?: boolean; default?: string }>;
  return { all: new Set(Object.keys(inputs)), required: Object.entries(inputs).filter(([, s]) => s.required === true && s.default === undefined).map(([k]) => k) };
}

function checkActionSteps(file: string, workflow: Obj): void {
  for (const step of allSteps(workflow)) {
    const uses = step.uses;
    if (typeof uses !== "string") continue;
    const own = OWN_ACTION.exec(uses);
    if (own) {
      const name = own[1] ?? "";
      expect(existsSync(join(repoRoot, "actions", name, "action.yml")), `${file}: ${uses}`).toBe(true);
      const { all, required } = actionInputs(name);
      const given = Object.keys((step.with ?? {}) as Obj);
      expect(given.filter((k) => !all.has(k)), `${file}: inputs of ${name} that do not exist`).toEqual([]);
      expect(required.filter((k) => !given.includes(k)), `${file}: required inputs of ${name}`).toEqual([]);
    } else {
      expect(uses, `${file}: third-party actions are pinned to a commit`).toMatch(PINNED);
    }
  }
}

function checkPermissions(file: string, workflow: Obj): void {
  expect(workflow.permissions, `${file}: top-level permissions`).toEqual({});
  for (const [name, job] of Object.entries(jobs(workflow))) {
    expect(job.permissions, `${file}: job ${name} states its permissions`).toEqual(expect.any(Object));
  }
}

describe("the reusable workflow slmops.yml", () => {
  const workflow = load(".github", "workflows", "slmops.yml");
  const j = jobs(workflow);

  it("is called with workflow_call and runs validate → plan → optimize → bench (device matrix) → gate → publish", () => {
    expect(Object.keys((workflow.on as Obj).workflow_call as Obj)).toEqual(["inputs", "secrets", "outputs"]);
    expect(Object.keys(j)).toEqual(["validate", "plan", "optimize", "bench", "gate", "publish"]);
    expect(j.plan?.needs).toBe("validate");
    expect(j.optimize?.needs).toBe("plan");
    expect(j.bench?.needs).toEqual(["plan", "optimize"]);
    expect(j.gate?.needs).toEqual(["plan", "bench"]);
    expect(j.bench?.strategy).toEqual({ "fail-fast": false, matrix: "${{ fromJSON(needs.plan.outputs.matrix) }}" });
    expect(j.bench?.["runs-on"]).toBe("${{ matrix.runs-on }}");
    // The gate runs after failed or cancelled device jobs too: a missing report fails the verdict.
    expect(j.gate?.if).toMatch(/^always\(\) && /);
  });

  it("gives each job the least permissions: the gate writes to pull requests and checks, and only the publish job writes contents", () => {
    checkPermissions("slmops.yml", workflow);
    for (const name of ["validate", "plan", "optimize", "bench"]) expect(j[name]?.permissions, name).toEqual({ contents: "read" });
    expect(j.gate?.permissions).toEqual({ contents: "read", actions: "read", "pull-requests": "write", checks: "write" });
    expect(j.publish?.permissions).toEqual({ contents: "write", "id-token": "write", attestations: "write" });
  });

  it("publishes only what merged and passed: a push to the default branch, after a passing gate, one run at a time, keys from secrets only", () => {
    const publish = j.publish as Job & { concurrency?: Obj };
    expect(publish.needs).toEqual(["gate"]);
    expect(publish.if).toBe("inputs.publish && github.event_name == 'push' && github.ref == format('refs/heads/{0}', github.event.repository.default_branch) && needs.gate.outputs.verdict == 'pass'");
    expect(publish.concurrency).toMatchObject({ "cancel-in-progress": false });
    const step = publish.steps?.find((s) => s.id === "publish");
    expect(step?.uses).toBe("slmops/slmops/actions/publish-edge-release@v1");
    expect(step?.with).toMatchObject({ verdict: "slmops-gate/slmops-verdict.json", "variants-dir": "build/variants", "repository-dir": "edge-release" });
    for (const role of ["targets", "snapshot", "timestamp"]) expect((step?.with as Obj)[`${role}-key`]).toBe(`\${{ secrets.SLMOPS_${role.toUpperCase()}_KEY }}`);
    // Neither the root key nor the rollout key reaches this job.
    expect(JSON.stringify(publish)).not.toMatch(/ROOT_KEY|ROLLOUT_KEY/);
    // The verdict it publishes on is the gate's of the same run.
    const verdictUpload = (j.gate?.steps ?? []).find((s) => (s.with as Obj | undefined)?.name === "slmops-gate");
    expect(verdictUpload?.if).toBe("inputs.publish && github.event_name == 'push' && steps.gate.outputs.verdict == 'pass'");
    // Scripts see untrusted values only through env.
    for (const s of publish.steps ?? []) if (typeof s.run === "string") expect(s.run).not.toContain("${{");
  });

  it("checks out without persisting credentials, pins third-party actions, and passes only inputs the actions declare", () => {
    for (const step of allSteps(workflow).filter((s) => typeof s.uses === "string" && s.uses.startsWith("actions/checkout@"))) {
      expect((step.with as Obj)["persist-credentials"]).toBe(false);
    }
    checkActionSteps("slmops.yml", workflow);
  });

  it("hands the plan to the gate, keeps the reports as the next baseline, and uploads a fork's verdict for the follow-up", () => {
    const gate = j.gate?.steps?.find((s) => s.id === "gate");
    expect(gate?.uses).toBe("slmops/slmops/actions/gate-model-change@v1");
    expect(gate?.with).toMatchObject({ plan: "${{ needs.plan.outputs.matrix }}", refused: "${{ needs.plan.outputs.refused }}", "reports-dir": "bench-reports", "output-dir": "slmops-gate" });
    const uploads = (j.gate?.steps ?? []).filter((s) => typeof s.uses === "string" && s.uses.startsWith("actions/upload-artifact@"));
    expect(uploads.map((s) => (s.with as Obj).name)).toEqual(["slmops-reports", "slmops-verdict", "slmops-gate"]);
    expect(uploads[1]?.if).toBe("always() && steps.gate.outputs.published == 'artifact'");
    expect((uploads[1]?.with as Obj).path).toBe("slmops-gate");
    const reports = (j.bench?.steps ?? []).find((s) => typeof s.uses === "string" && s.uses.startsWith("actions/upload-artifact@"));
    expect((reports?.with as Obj).name).toBe("slmops-report-${{ matrix.device }}");
    const download = (j.gate?.steps ?? []).find((s) => typeof s.uses === "string" && s.uses.startsWith("actions/download-artifact@"));
    expect(download?.with).toMatchObject({ pattern: "slmops-report-*", "merge-multiple": true });
  });
});

describe("the checks themselves", () => {
  it("catch an input an action does not declare, a missing required input, and an unpinned action", () => {
    const workflow = (step: Obj): Obj => ({ permissions: {}, jobs: { a: { permissions: {}, steps: [step] } } }) as unknown as Obj;
    expect(() => checkActionSteps("t", workflow({ uses: "slmops/slmops/actions/gate-model-change@v1", with: { "report-dir": "x" } }))).toThrow(/inputs of gate-model-change that do not exist/);
    expect(() => checkActionSteps("t", workflow({ uses: "slmops/slmops/actions/bench-on-device-matrix@v1", with: {} }))).toThrow(/required inputs of bench-on-device-matrix/);
    expect(() => checkActionSteps("t", workflow({ uses: "actions/checkout@v4" }))).toThrow(/pinned to a commit/);
  });
});

describe("the follow-up slmops-report.yml", () => {
  const workflow = load(".github", "workflows", "slmops-report.yml");
  const j = jobs(workflow);

  it("only publishes: no checkout, no scripts, no other action, and only the permissions publishing needs", () => {
    checkPermissions("slmops-report.yml", workflow);
    expect(Object.keys(j)).toEqual(["publish"]);
    expect(j.publish?.permissions).toEqual({ actions: "read", "pull-requests": "write", checks: "write" });
    const steps = j.publish?.steps ?? [];
    expect(steps.map((s) => s.uses)).toEqual(["slmops/slmops/actions/gate-model-change@v1"]);
    expect(steps.some((s) => "run" in s)).toBe(false);
    expect((steps[0]?.with as Obj).mode).toBe("publish");
    expect(j.publish?.if).toContain("github.event.workflow_run.event == 'pull_request'");
    checkActionSteps("slmops-report.yml", workflow);
  });
});

describe("the example caller workflows", () => {
  const models = load("examples", "workflows", "models.yml");
  const report = load("examples", "workflows", "models-report.yml");

  it("models.yml calls the reusable workflow with inputs it declares and grants at most what its jobs ask", () => {
    const job = jobs(models).slmops;
    expect(job?.uses).toBe("slmops/slmops/.github/workflows/slmops.yml@v1");
    const declared = Object.keys(((load(".github", "workflows", "slmops.yml").on as Obj).workflow_call as Obj).inputs as Obj);
    expect(Object.keys(job?.with ?? {}).filter((k) => !declared.includes(k))).toEqual([]);
    expect(job?.permissions).toEqual({ contents: "write", actions: "read", "pull-requests": "write", checks: "write", "id-token": "write", attestations: "write" });
    expect(models.permissions).toEqual({});
    const secrets = Object.keys(((load(".github", "workflows", "slmops.yml").on as Obj).workflow_call as Obj).secrets as Obj);
    expect(Object.keys((job as Job & { secrets?: Obj })?.secrets ?? {})).toEqual(secrets);
  });

  it("models-report.yml follows models.yml by name on completion and calls the follow-up", () => {
    expect(report.on).toEqual({ workflow_run: { workflows: [models.name], types: ["completed"] } });
    const job = jobs(report).report;
    expect(job?.uses).toBe("slmops/slmops/.github/workflows/slmops-report.yml@v1");
    expect(job?.permissions).toEqual({ actions: "read", "pull-requests": "write", checks: "write" });
    expect(report.permissions).toEqual({});
  });
});
