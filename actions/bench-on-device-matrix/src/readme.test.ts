import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { actionDir } from "./test-support/paths.js";

interface Step {
  uses?: string;
  run?: string;
  id?: string;
  with?: Record<string, unknown>;
}
interface Job {
  steps: Step[];
  strategy?: { matrix?: unknown };
  "runs-on": unknown;
}

const readme = readFileSync(join(actionDir, "README.md"), "utf8");
const action = parse(readFileSync(join(actionDir, "action.yml"), "utf8")) as { inputs: Record<string, unknown>; outputs: Record<string, unknown> };

function workflow(): { jobs: Record<string, Job> } {
  const block = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error("README has no yaml example");
  return parse(block) as { jobs: Record<string, Job> };
}

describe("README workflow example", () => {
  it("plans, fans out over the matrix with the device's labels, and uploads a report per device", () => {
    const { jobs } = workflow();
    expect(Object.keys(jobs)).toEqual(["plan", "optimize", "bench", "gate"]);
    expect(jobs.bench?.strategy?.matrix).toBe("${{ fromJSON(needs.plan.outputs.matrix) }}");
    expect(jobs.bench?.["runs-on"]).toBe("${{ matrix.runs-on }}");
    const upload = jobs.bench?.steps.find((s) => s.uses?.startsWith("actions/upload-artifact"));
    expect(upload?.with?.path).toBe("${{ steps.bench.outputs.report }}");
  });

  it("uses only the action's inputs and outputs, and no expression inside a run script", () => {
    const { jobs } = workflow();
    for (const [name, job] of Object.entries(jobs)) {
      for (const step of job.steps) {
        if (step.run) expect(step.run, `${name}: run`).not.toContain("${{");
        if (!step.uses?.includes("/actions/bench-on-device-matrix@")) continue;
        for (const input of Object.keys(step.with ?? {})) expect(Object.keys(action.inputs), `${name}: ${input}`).toContain(input);
      }
    }
    for (const output of readme.matchAll(/steps\.(?:plan|bench)\.outputs\.([\w-]+)/g)) {
      expect(Object.keys(action.outputs)).toContain(output[1]);
    }
  });
});
