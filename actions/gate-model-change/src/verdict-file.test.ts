import { evaluateGates, type Verdict } from "@slmops/gate";
import { ConfigurationError } from "@slmops/diagnostics";
import { describe, expect, it } from "vitest";
import { choosePublishTarget, parsePublishInput } from "./publish-target.js";
import { planFromInputs } from "./plan-input.js";
import { MAX_VERDICT_FILE_BYTES, parseVerdictFile, serializeVerdictFile, VERDICT_FORMAT, VERDICT_FORMAT_VERSION, type VerdictFile } from "./verdict-file.js";
import { completedRun } from "./workflow-run-event.js";

const fingerprint = { os: "linux" };
const verdict: Verdict = evaluateGates({
  plan: [
    { device: "rpi5", variant: "story-lm/int8" },
    { device: "nuc", variant: "story-lm/int8" },
  ],
  results: [{ device: "rpi5", variant: "story-lm/int8", fingerprint, metrics: { "peak-memory": 600 * 1024 ** 2 } }],
  baseline: { status: "missing", reason: "none given" },
  gates: [{ name: "memory", limits: { "peak-memory": { max: 512 * 1024 ** 2 } }, location: { file: "slmops.yaml", line: 20, column: 7 } }],
});
const file: VerdictFile = { format: VERDICT_FORMAT, version: VERDICT_FORMAT_VERSION, repository: "acme/models", pullRequest: 7, headSha: "a".repeat(40), verdict };
const bytes = (value: unknown) => new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));

describe("verdict file", () => {
  it("reads back what the gate writes", () => {
    expect(verdict.outcome).toBe("fail");
    expect(parseVerdictFile(bytes(serializeVerdictFile(file)), "f")).toEqual(file);
  });

  it("refuses damaged, oversized, non-UTF-8 and foreign files with a message naming the file", () => {
    expect(() => parseVerdictFile(bytes("{"), "art: v.json")).toThrow(/^art: v\.json is not valid JSON/);
    expect(() => parseVerdictFile(new Uint8Array([0x7b, 0xff, 0x7d]), "f")).toThrow(/not valid JSON/);
    expect(() => parseVerdictFile(new Uint8Array(MAX_VERDICT_FILE_BYTES + 1), "f")).toThrow(/more than the 4194304 accepted/);
    expect(() => parseVerdictFile(bytes({ ...file, version: 2 }), "f")).toThrow(ConfigurationError);
    expect(() => parseVerdictFile(bytes({ ...file, headSha: "HEAD" }), "f")).toThrow(/headSha must match pattern/);
    expect(() => parseVerdictFile(bytes({ ...file, verdict: { ...verdict, pairs: [] } }), "f")).toThrow(/says "fail" but its device results give "pass"/);
    expect(() => parseVerdictFile(bytes({ ...file, verdict: { ...verdict, counts: { pass: 0, fail: 0, inconclusive: 0 } } }), "f")).toThrow(/counts 0 fail but lists 2/);
    expect(() => parseVerdictFile(bytes({ ...file, verdict: { ...verdict, checks: verdict.checks.slice(1) } }), "f")).toThrow(/lists 1 checks but its device results hold 2/);
    const long = structuredClone(file) as unknown as { verdict: { checks: { message: string }[] } };
    long.verdict.checks[0]!.message = "x".repeat(5000);
    expect(() => parseVerdictFile(bytes(long), "f")).toThrow(/must NOT have more than 4000 characters/);
  });
});

describe("publish target", () => {
  it("auto: an artifact for a fork's pull request, the comment and check run otherwise", () => {
    expect(choosePublishTarget("auto", { fromFork: true })).toBe("artifact");
    expect(choosePublishTarget("auto", { fromFork: false })).toBe("comment-and-check");
    expect(choosePublishTarget("auto", undefined)).toBe("comment-and-check");
    expect(choosePublishTarget("summary-only", { fromFork: false })).toBe("summary-only");
    expect(parsePublishInput("")).toBe("auto");
    expect(() => parsePublishInput("comment")).toThrow("Input `publish` must be one of `auto`, `comment-and-check`, `summary-only`, `artifact`; got `comment`.");
  });
});

describe("plan input", () => {
  it("takes the matrix's pairs, adds refused pairs as failures, and falls back to the manifest's plan", () => {
    const fallback = [{ device: "a", variant: "m/v" }];
    expect(planFromInputs(undefined, undefined, fallback)).toEqual({ plan: fallback, failures: [] });
    const r = planFromInputs({ include: [{ device: "rpi5", variants: ["m/int4", "m/int8"] }] }, [{ device: "nuc", variants: ["m/int8"], reason: "fork" }], fallback);
    expect(r.plan).toEqual([
      { device: "rpi5", variant: "m/int4" },
      { device: "rpi5", variant: "m/int8" },
      { device: "nuc", variant: "m/int8" },
    ]);
    expect(r.failures).toEqual([{ device: "nuc", variant: "m/int8", message: "not benchmarked: fork" }]);
    expect(() => planFromInputs({ include: [{ device: "rpi5", variants: "m/int4" }] }, undefined, fallback)).toThrow(/every entry needs a `device` id/);
    expect(() => planFromInputs([], undefined, fallback)).toThrow(/Input `plan` must be/);
  });
});

describe("workflow_run event", () => {
  const run = { id: 9, head_sha: "b".repeat(40), event: "pull_request", conclusion: "success", html_url: "https://github.com/acme/models/actions/runs/9", pull_requests: [{ number: 3 }, { number: "x" }], head_repository: { full_name: "forker/models" } };
  it("reads the run and keeps only what checks out", () => {
    expect(completedRun("workflow_run", { workflow_run: run }, {})).toEqual({ id: 9, headSha: "b".repeat(40), headRepository: "forker/models", pullRequests: [3], event: "pull_request", conclusion: "success", url: run.html_url });
    expect(completedRun("workflow_run", { workflow_run: { ...run, html_url: "https://evil.example/x" } }, {}).url).toBeUndefined();
    expect(() => completedRun("workflow_run", { workflow_run: { ...run, head_sha: "main" } }, {})).toThrow(/no valid head commit/);
    expect(() => completedRun("push", {}, {})).toThrow(/triggered by `push`/);
  });
});
