import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { changeRange, readChangeEvent } from "./event.js";
import { planDevices } from "./plan.js";
import type { PlanInput } from "./plan.js";
import { asFork, edit, manifestOf, MULTI_DEVICE, webhookExample } from "./test-support/manifests.js";

const ALL_VARIANTS = ["story-lm/int4", "story-lm/int8", "classifier/int8"];
const devicesOf = (plan: ReturnType<typeof planDevices>) => plan.matrix.include.map((e) => e.device);

/** Plans a change from the multi-device manifest (base) to `headText`, touching `files`. */
async function planChange(headText: string, files: readonly string[], extra: Partial<PlanInput> = {}) {
  const [manifest, baseManifest] = await Promise.all([manifestOf(headText), manifestOf(MULTI_DEVICE)]);
  return planDevices({ manifest, change: { files, baseManifest }, ...extra });
}

describe("planDevices on a multi-device manifest", () => {
  it("plans every device and variant when there is nothing to compare with, one job per device", async () => {
    const plan = planDevices({ manifest: await manifestOf(MULTI_DEVICE) });
    expect(plan.matrix).toEqual({
      include: [
        { device: "hosted", "runs-on": ["ubuntu-24.04"], models: ["story-lm", "classifier"], variants: ALL_VARIANTS },
        { device: "rpi5", "runs-on": ["self-hosted", "linux", "arm64", "rpi5"], models: ["story-lm", "classifier"], variants: ALL_VARIANTS },
        { device: "nuc", "runs-on": ["self-hosted", "linux", "x64", "nuc"], models: ["story-lm", "classifier"], variants: ALL_VARIANTS },
        { device: "sandbox", "runs-on": ["self-hosted", "linux", "x64", "sandbox"], models: ["story-lm", "classifier"], variants: ALL_VARIANTS },
      ],
    });
    expect(plan.refused).toEqual([]);
    expect(plan.reasons.rpi5).toEqual(["there is no earlier state to compare with"]);
    // The matrix survives the trip through a step output.
    expect(JSON.parse(JSON.stringify(plan.matrix))).toEqual(plan.matrix);
  });

  it("plans nothing when the change touches no model, variant, device, setting or gate", async () => {
    const plan = await planChange(MULTI_DEVICE, ["README.md", "slmops.yaml", "models/story-lm/config.json"]);
    expect(plan.matrix.include).toEqual([]);
    expect(plan.untouched).toEqual(["hosted", "rpi5", "nuc", "sandbox"]);
    expect(plan.refused).toEqual([]);
  });

  it("plans every device on request, whatever the change", async () => {
    const plan = await planChange(MULTI_DEVICE, [], { all: true });
    expect(devicesOf(plan)).toEqual(["hosted", "rpi5", "nuc", "sandbox"]);
    expect(plan.reasons.hosted).toEqual(["every device was requested"]);
  });

  it("plans everything when the manifest is new in the change", async () => {
    const manifest = await manifestOf(MULTI_DEVICE);
    const plan = planDevices({ manifest, change: { files: ["slmops.yaml"] } });
    expect(devicesOf(plan)).toEqual(["hosted", "rpi5", "nuc", "sandbox"]);
    expect(plan.matrix.include.every((e) => e.variants.length === 3)).toBe(true);
    expect(plan.reasons.nuc).toEqual(["the manifest is new in this change"]);
  });

  it("a changed source model touches its variants on every device, and only those", async () => {
    const plan = await planChange(MULTI_DEVICE, ["models/classifier/model.onnx"]);
    expect(devicesOf(plan)).toEqual(["hosted", "rpi5", "nuc", "sandbox"]);
    for (const entry of plan.matrix.include) {
      expect(entry.models).toEqual(["classifier"]);
      expect(entry.variants).toEqual(["classifier/int8"]);
    }
    expect(plan.reasons.rpi5).toEqual(["models/classifier/model.onnx changed (model `classifier`)"]);
  });

  it("the source's external data counts as the source; another file beside it does not", async () => {
    const data = await planChange(MULTI_DEVICE, ["models/story-lm/model.onnx_data"]);
    expect(data.matrix.include[0]?.variants).toEqual(["story-lm/int4", "story-lm/int8"]);
    const other = await planChange(MULTI_DEVICE, ["models/story-lm/other.onnx", "models/story-lm/generation_config.json"]);
    expect(other.matrix.include).toEqual([]);
  });

  it("a changed eval set or tokenizer touches the model's variants", async () => {
    for (const file of ["data/eval.jsonl", "models/story-lm/tokenizer.json"]) {
      const plan = await planChange(MULTI_DEVICE, [file]);
      expect(plan.matrix.include.map((e) => e.variants)).toEqual(Array(4).fill(["story-lm/int4", "story-lm/int8"]));
    }
  });

  it("changed passes touch that variant alone, on every device", async () => {
    const head = edit(MULTI_DEVICE, "quantize: { weights: int4, block-size: 32 }", "quantize: { weights: int4, block-size: 64 }");
    const plan = await planChange(head, ["slmops.yaml"]);
    expect(plan.matrix.include.map((e) => [e.device, e.models, e.variants])).toEqual([
      ["hosted", ["story-lm"], ["story-lm/int4"]],
      ["rpi5", ["story-lm"], ["story-lm/int4"]],
      ["nuc", ["story-lm"], ["story-lm/int4"]],
      ["sandbox", ["story-lm"], ["story-lm/int4"]],
    ]);
    expect(plan.reasons.hosted).toEqual(["the passes of `story-lm/int4` changed"]);
  });

  it("a new variant is touched; removing one touches nothing", async () => {
    const added = edit(MULTI_DEVICE, "  - id: classifier\n", "      - id: fp16\n        passes: [ { convert: { to: fp16 } } ]\n  - id: classifier\n");
    const plan = await planChange(added, ["slmops.yaml"]);
    expect(plan.matrix.include[0]?.variants).toEqual(["story-lm/fp16"]);
    const removed = edit(MULTI_DEVICE, "      - id: int8\n        passes: [ { quantize: { weights: int8 } } ]\n  - id: classifier", "  - id: classifier");
    expect((await planChange(removed, ["slmops.yaml"])).matrix.include).toEqual([]);
  });

  it("a changed device entry touches that device with every variant; a new description does not", async () => {
    const threads = edit(MULTI_DEVICE, "threads: 4", "threads: 2");
    const plan = await planChange(threads, ["slmops.yaml"]);
    expect(plan.matrix.include).toEqual([
      { device: "rpi5", "runs-on": ["self-hosted", "linux", "arm64", "rpi5"], models: ["story-lm", "classifier"], variants: ALL_VARIANTS },
    ]);
    expect(plan.reasons.rpi5).toEqual(["device `rpi5` changed"]);
    expect(plan.untouched).toEqual(["hosted", "nuc", "sandbox"]);

    const described = edit(MULTI_DEVICE, "description: Raspberry Pi 5", "description: Raspberry Pi 5, 8 GB");
    expect((await planChange(described, ["slmops.yaml"])).matrix.include).toEqual([]);

    const added = `${MULTI_DEVICE.replace(/bench:[\s\S]*$/, "")}  - id: jetson\n    runs-on: [self-hosted, jetson]\n${MULTI_DEVICE.slice(MULTI_DEVICE.indexOf("bench:"))}`;
    const withNew = await planChange(added, ["slmops.yaml"]);
    expect(devicesOf(withNew)).toEqual(["jetson"]);
    expect(withNew.reasons.jetson).toEqual(["device `jetson` was added"]);
  });

  it("changed bench settings or gates touch everything", async () => {
    const bench = await planChange(edit(MULTI_DEVICE, "min-duration: 10s", "min-duration: 20s"), ["slmops.yaml"]);
    expect(devicesOf(bench)).toEqual(["hosted", "rpi5", "nuc", "sandbox"]);
    expect(bench.reasons.hosted).toEqual(["the bench settings changed"]);
    const gates = await planChange(edit(MULTI_DEVICE, "max: 40ms", "max: 30ms"), ["slmops.yaml"]);
    expect(gates.matrix.include.map((e) => e.variants)).toEqual(Array(4).fill(ALL_VARIANTS));
    expect(gates.reasons.nuc).toEqual(["the gates changed"]);
  });

  it("matches the manifest's paths under its root inside the repository", async () => {
    const plan = await planChange(MULTI_DEVICE, ["models/story-lm/model.onnx", "project/models/classifier/model.onnx"], { rootInRepository: "project" });
    expect(plan.matrix.include[0]?.variants).toEqual(["classifier/int8"]);
  });
});

describe("planDevices for pull requests (real webhook payloads)", () => {
  const opened = webhookExample("pull_request", "opened");
  const synchronize = webhookExample("pull_request", "synchronize");

  it("plans self-hosted devices for a pull request from a branch of the same repository", async () => {
    const event = readChangeEvent("pull_request", opened);
    expect(event.kind === "pull-request" && event.fromFork).toBe(false);
    const plan = await planChange(MULTI_DEVICE, ["models/story-lm/model.onnx"], { requester: { fromFork: event.kind === "pull-request" && event.fromFork } });
    expect(devicesOf(plan)).toEqual(["hosted", "rpi5", "nuc", "sandbox"]);
    expect(plan.refused).toEqual([]);
  });

  it("refuses self-hosted devices for a fork's pull request, listing each with the reason", async () => {
    const event = readChangeEvent("pull_request", asFork(synchronize));
    expect(event).toMatchObject({ kind: "pull-request", fromFork: true, headRepo: "forker/Hello-World", baseRepo: "Codertocat/Hello-World" });
    const plan = await planChange(MULTI_DEVICE, ["models/story-lm/model.onnx"], { requester: { fromFork: true } });
    // GitHub-hosted, and the self-hosted device that allows forks, still run.
    expect(devicesOf(plan)).toEqual(["hosted", "sandbox"]);
    expect(plan.refused.map((r) => [r.device, r.variants])).toEqual([
      ["rpi5", ["story-lm/int4", "story-lm/int8"]],
      ["nuc", ["story-lm/int4", "story-lm/int8"]],
    ]);
    for (const refused of plan.refused) {
      expect(refused.reason).toMatch(/^self-hosted runner \(self-hosted, linux, .+\) refused for a pull request from a fork: .*allow-from-forks: true.*allow-forks: true/);
    }
    // Untouched devices are neither planned nor refused.
    const none = await planChange(MULTI_DEVICE, ["README.md"], { requester: { fromFork: true } });
    expect(none.refused).toEqual([]);
  });

  it("a fork cannot allow itself: allow-from-forks counts only as the base branch has it", async () => {
    const head = edit(MULTI_DEVICE, "    threads: 4\n", "    threads: 4\n    allow-from-forks: true\n");
    expect((await manifestOf(head)).devices.find((d) => d.id === "rpi5")?.allowFromForks).toBe(true);
    const plan = await planChange(head, ["models/story-lm/model.onnx"], { requester: { fromFork: true } });
    expect(plan.refused.map((r) => r.device)).toEqual(["rpi5", "nuc"]);

    const newDevice = `${MULTI_DEVICE.replace(/bench:[\s\S]*$/, "")}  - id: mine\n    runs-on: [self-hosted, mine]\n    allow-from-forks: true\n${MULTI_DEVICE.slice(MULTI_DEVICE.indexOf("bench:"))}`;
    const mine = await planChange(newDevice, ["slmops.yaml"], { requester: { fromFork: true } });
    expect(mine.refused.map((r) => r.device)).toEqual(["mine"]);
    expect(mine.refused[0]?.reason).toContain("the device is new in this pull request");
  });

  it("the call may allow forks on every device", async () => {
    const plan = await planChange(MULTI_DEVICE, ["data/eval.jsonl"], { requester: { fromFork: true, allowForks: true } });
    expect(devicesOf(plan)).toEqual(["hosted", "rpi5", "nuc", "sandbox"]);
    expect(plan.refused).toEqual([]);
  });

  it("a pull request whose fork was deleted counts as a fork", () => {
    const payload = structuredClone(opened) as { pull_request: { head: { repo: unknown } } };
    payload.pull_request.head.repo = null;
    expect(readChangeEvent("pull_request", payload)).toMatchObject({ fromFork: true, headRepo: null });
  });

  it("the payload's base and head are the commits to compare", () => {
    const event = readChangeEvent("pull_request", synchronize);
    const pr = synchronize.pull_request as { base: { sha: string }; head: { sha: string } };
    expect(changeRange(event)).toEqual({ base: pr.base.sha, head: pr.head.sha });
  });
});

describe("planDevices on the example project", () => {
  it("a fork's pull request to the example may use none of its self-hosted devices; a branch's may use all", async () => {
    const text = readFileSync(join(import.meta.dirname, "..", "..", "..", "examples", "story-lm", "slmops.yaml"), "utf8");
    const manifest = await manifestOf(text);
    const change = { files: ["examples/story-lm/data/eval.jsonl"], baseManifest: manifest };
    const branch = planDevices({ manifest, change, rootInRepository: "examples/story-lm", requester: { fromFork: false } });
    expect(devicesOf(branch)).toEqual(["local", "rpi5", "jetson-orin-nano", "nuc"]);
    expect(branch.matrix.include[0]?.variants).toEqual(["story-lm/int4", "story-lm/int4-rtn", "story-lm/int8", "story-lm/fp16", "story-lm/pruned-int8"]);
    const fork = planDevices({ manifest, change, rootInRepository: "examples/story-lm", requester: { fromFork: true } });
    expect(fork.matrix.include).toEqual([]);
    expect(fork.refused.map((r) => r.device)).toEqual(["local", "rpi5", "jetson-orin-nano", "nuc"]);
  });
});
