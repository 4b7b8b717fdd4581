import { ConfigurationError } from "@slmops/diagnostics";
import { describe, expect, it } from "vitest";
import { getBooleanInput, getInput, getJsonInput, getListInput, getPathInput, getStringInput, readRawInput } from "./inputs.js";

describe("inputs", () => {
  it("reads kebab-case names from INPUT_ variables with hyphens kept, trimmed", () => {
    const env = { "INPUT_FAIL-ON-INVALID": "  false \n" };
    expect(readRawInput("fail-on-invalid", env)).toBe("false");
    expect(getBooleanInput("fail-on-invalid", { env })).toBe(false);
  });

  it("refuses a name that is not kebab-case (a bug in the action, not a user mistake)", () => {
    expect(() => readRawInput("failOnInvalid", {})).toThrow(TypeError);
    expect(() => readRawInput("fail_on_invalid", {})).toThrow(/kebab-case/);
  });

  it("uses fallbacks for empty inputs and names a missing required one", () => {
    expect(getStringInput("manifest", { env: {}, fallback: "slmops.yaml" })).toBe("slmops.yaml");
    expect(getBooleanInput("fail-on-invalid", { env: {}, fallback: true })).toBe(true);
    expect(() => getStringInput("token", { env: {}, required: true })).toThrow(ConfigurationError);
    expect(() => getStringInput("token", { env: {}, required: true })).toThrow(/Input `token` is required/);
  });

  it("accepts GitHub's boolean spellings and rejects others with the input's name", () => {
    for (const [raw, want] of [["true", true], ["True", true], ["TRUE", true], ["false", false], ["False", false]] as const) {
      expect(getBooleanInput("x", { env: { INPUT_X: raw } })).toBe(want);
    }
    expect(() => getBooleanInput("fail-on-invalid", { env: { "INPUT_FAIL-ON-INVALID": "yes" } })).toThrow(
      "Input `fail-on-invalid` must be `true` or `false`; got `yes`.",
    );
  });

  it("resolves paths inside the workspace and refuses ones that leave it", () => {
    const env = { INPUT_MANIFEST: "examples/../slmops.yaml", GITHUB_WORKSPACE: "/repo" };
    expect(getPathInput("manifest", { env })).toEqual({ absolute: "/repo/slmops.yaml", relative: "slmops.yaml" });
    expect(getPathInput("root", { env: { GITHUB_WORKSPACE: "/repo" } })).toBeUndefined();
    expect(() => getPathInput("manifest", { env: { INPUT_MANIFEST: "../etc/passwd", GITHUB_WORKSPACE: "/repo" } })).toThrow(
      /points outside the workspace/,
    );
    expect(() => getPathInput("manifest", { env: { INPUT_MANIFEST: "/etc/passwd", GITHUB_WORKSPACE: "/repo" } })).toThrow(
      ConfigurationError,
    );
    expect(getPathInput("cache", { env: { INPUT_CACHE: "/tmp/x", GITHUB_WORKSPACE: "/repo" }, withinBase: false })?.absolute).toBe(
      "/tmp/x",
    );
  });

  it("reads lists as JSON arrays or one item per line or comma", () => {
    expect(getListInput("devices", { env: { INPUT_DEVICES: '["rpi5", " jetson "]' } })).toEqual(["rpi5", "jetson"]);
    expect(getListInput("devices", { env: { INPUT_DEVICES: "rpi5\n jetson, pixel8\n\n" } })).toEqual(["rpi5", "jetson", "pixel8"]);
    expect(getListInput("devices", { env: {} })).toEqual([]);
    expect(() => getListInput("devices", { env: { INPUT_DEVICES: "[1, 2]" } })).toThrow(/JSON array of strings/);
    expect(() => getListInput("devices", { env: { INPUT_DEVICES: '["a",' } })).toThrow(/Input `devices` is not valid JSON/);
  });

  it("parses JSON inputs and explains bad JSON", () => {
    expect(getJsonInput("matrix", { env: { INPUT_MATRIX: '{"a":[1]}' } })).toEqual({ a: [1] });
    expect(getJsonInput("matrix", { env: {} })).toBeUndefined();
    const error = (() => {
      try {
        getJsonInput("matrix", { env: { INPUT_MATRIX: "{nope}" } });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/^Input `matrix` is not valid JSON: /);
  });

  it("reads any type through getInput", () => {
    const env = { INPUT_NAME: "x", "INPUT_FAIL-ON-INVALID": "False", INPUT_LIST: "a,b", INPUT_DATA: "[1]", INPUT_DIR: "sub", GITHUB_WORKSPACE: "/ws" };
    const name: string = getInput("name", { type: "string", env });
    const fail: boolean = getInput("fail-on-invalid", { type: "boolean", env, fallback: true });
    const list: string[] = getInput("list", { type: "list", env });
    expect([name, fail, list, getInput("data", { type: "json", env })]).toEqual(["x", false, ["a", "b"], [1]]);
    expect(getInput("dir", { type: "path", env })).toEqual({ absolute: "/ws/sub", relative: "sub" });
    expect(getInput("missing", { type: "boolean", env, fallback: true })).toBe(true);
  });
});
