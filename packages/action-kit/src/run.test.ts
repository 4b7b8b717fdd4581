import { describe, expect, it } from "vitest";
import { runScript } from "./test-support/run-script.js";

const diag = (i: number, severity = "error") =>
  `{severity: ${JSON.stringify(severity)}, code: "schema/x", message: "problem " + ${i}, file: process.cwd() + "/slmops.yaml", line: ${i}, column: 3, endLine: ${i}, endColumn: 9}`;

describe("run", { timeout: 60_000 }, () => {
  it("fails a step on a user's mistake with its message alone, no stack trace", () => {
    const r = runScript(`
      await kit.run(() => { throw new kit.ConfigurationError("Input \`manifest\` names a missing file."); });
    `);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("::error::Input `manifest` names a missing file.\n");
    expect(r.stderr).toBe("");
  });

  it("annotates a ConfigurationError's diagnostics on their files", () => {
    const r = runScript(`
      await kit.run(() => { throw new kit.ConfigurationError("slmops.yaml is invalid", { diagnostics: [${diag(4)}] }); });
    `);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("::error title=schema/x,file=slmops.yaml,line=4,endLine=4,col=3,endColumn=9::problem 4\n");
    expect(r.stdout).toContain("::error::slmops.yaml is invalid\n");
  });

  it("shows an internal error's cause chain in the log and a short failure", () => {
    const r = runScript(`
      await kit.run(async () => {
        throw new Error("could not bundle", { cause: new RangeError("offset out of range") });
      });
    `);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("::group::Internal error details");
    expect(r.stdout).toContain("Error: could not bundle");
    expect(r.stdout).toContain("Caused by: RangeError: offset out of range");
    expect(r.stdout).toMatch(/::error::Internal error: could not bundle \(details in the log above; please report it\)/);
  });

  it("leaves a successful step alone", () => {
    const r = runScript(`await kit.run(() => { kit.setOutputs({ valid: true, "problem-count": 0, name: "a\\nb" }); });`);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("");
    const blocks = [...r.output.matchAll(/^(\S+)<<(ghadelimiter_[\w-]+)\n([\s\S]*?)\n\2$/gm)].map((m) => [m[1], m[3]]);
    expect(blocks).toEqual([
      ["valid", "true"],
      ["problem-count", "0"],
      ["name", "a\nb"],
    ]);
  });
});

describe("annotate", { timeout: 60_000 }, () => {
  it("annotates within GitHub's per-step limits, keeping a slot for the failure, and logs the rest", () => {
    const errors = Array.from({ length: 25 }, (_, i) => diag(i + 1)).join(",");
    const warnings = Array.from({ length: 12 }, (_, i) => diag(100 + i, "warning")).join(",");
    const r = runScript(`
      const result = kit.annotate([${errors}, ${warnings}]);
      console.log("RESULT " + result.annotated.length + " " + result.omitted.length);
    `);
    expect(r.status).toBe(0);
    const errorLines = r.stdout.split("\n").filter((l) => l.startsWith("::error "));
    const warningLines = r.stdout.split("\n").filter((l) => l.startsWith("::warning "));
    expect(errorLines).toHaveLength(9);
    expect(warningLines).toHaveLength(10);
    expect(errorLines[0]).toBe("::error title=schema/x,file=slmops.yaml,line=1,endLine=1,col=3,endColumn=9::problem 1");
    expect(r.stdout).toContain("RESULT 19 18");
    expect(r.stdout).toContain("18 more problems were not annotated");
    for (const line of [10, 25]) expect(r.stdout).toContain(`slmops.yaml:${line}:3: error: problem ${line}\n`);
    expect(r.stdout).toContain("slmops.yaml:111:3: warning: problem 111\n");
  });

  it("respects a smaller job budget", () => {
    const errors = Array.from({ length: 5 }, (_, i) => diag(i + 1)).join(",");
    const r = runScript(`kit.annotate([${errors}], { jobBudget: 2 });`);
    expect(r.stdout.split("\n").filter((l) => l.startsWith("::error "))).toHaveLength(2);
    expect(r.stdout).toContain("3 more problems were not annotated");
  });

  it("drops columns on multi-line spans and escapes hints, newlines and commas", () => {
    const r = runScript(`
      kit.annotate([
        { severity: "error", code: "a,b", message: "bad: 100%", file: "dir/x,y.yaml", line: 2, column: 5, endLine: 4, endColumn: 1, hint: "use \`rpi5\`" },
      ]);
    `);
    expect(r.stdout).toBe("::error title=a%2Cb,file=dir/x%2Cy.yaml,line=2,endLine=4::bad: 100%25%0AHint: use `rpi5`\n");
  });
});
