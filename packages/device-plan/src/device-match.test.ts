import { describe, expect, it } from "vitest";
import { deviceMismatchWarning, labelRequirements, matchDevice } from "./device-match.js";

const x64Linux = { os: "linux", arch: "x64", executionProviders: ["cpu"], memoryBytes: 8 * 2 ** 30 };
const rpi5 = { id: "rpi5", runsOn: ["self-hosted", "linux", "arm64", "rpi5"], executionProviders: ["cpu" as const], memoryBudgetBytes: 2 * 2 ** 30 };

describe("matchDevice", () => {
  it("refuses an arm64 device on an x64 machine, saying which label asks for what", () => {
    const match = matchDevice(rpi5, x64Linux);
    expect(match.ok).toBe(false);
    expect(match.checks.map((c) => [c.check, c.ok])).toEqual([
      ["os", true],
      ["arch", false],
      ["execution-providers", true],
      ["memory", true],
    ]);
    expect(match.checks[1]?.reason).toBe("this machine is x64; `arm64` asks for arm64");
    expect(deviceMismatchWarning(match)).toMatch(/^this machine does not match device `rpi5`: this machine is x64; `arm64` asks for arm64\. /);
  });

  it("fails on missing execution providers and on memory below the budget", () => {
    const jetson = { id: "jetson", runsOn: ["self-hosted", "linux", "x64"], executionProviders: ["cuda" as const, "cpu" as const], memoryBudgetBytes: 16 * 2 ** 30 };
    const match = matchDevice(jetson, x64Linux);
    expect(match.checks.filter((c) => !c.ok).map((c) => c.check)).toEqual(["execution-providers", "memory"]);
    expect(match.checks[2]?.reason).toBe("ONNX Runtime here lacks cuda (available: cpu)");
    expect(match.checks[3]?.reason).toBe("this machine has 8.0 GiB, less than the budget of 16.0 GiB");
  });

  it("passes a device whose labels name no platform, and has no warning", () => {
    const match = matchDevice({ id: "any", runsOn: ["self-hosted", "bench"], executionProviders: ["cpu"] }, x64Linux);
    expect(match.ok).toBe(true);
    expect(deviceMismatchWarning(match)).toBeUndefined();
  });

  it("reads GitHub-hosted runner labels as their machines", () => {
    expect(labelRequirements(["ubuntu-latest"])).toEqual({ os: { value: "linux", label: "ubuntu-latest" }, arch: { value: "x64", label: "ubuntu-latest" } });
    expect(labelRequirements(["ubuntu-24.04-arm"]).arch?.value).toBe("arm64");
    expect(labelRequirements(["macos-15"])).toEqual({ os: { value: "darwin", label: "macos-15" }, arch: { value: "arm64", label: "macos-15" } });
    expect(labelRequirements(["self-hosted", "Linux", "ARM64"])).toEqual({ os: { value: "linux", label: "Linux" }, arch: { value: "arm64", label: "ARM64" } });
    expect(matchDevice({ id: "mac", runsOn: ["macos-latest"], executionProviders: ["cpu"] }, x64Linux).checks.filter((c) => !c.ok).map((c) => c.check)).toEqual(["os", "arch"]);
  });
});
