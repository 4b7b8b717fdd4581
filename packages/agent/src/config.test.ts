import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigurationError, type Diagnostic } from "@slmops/diagnostics";
import { describe, expect, it } from "vitest";
import { loadAgentConfig } from "./config.js";

/** A valid configuration; every case below changes one thing in it. Line numbers are 1-based. */
const VALID = [
  "version: 1", //                                  1
  "repository: https://models.example.com/edge/", // 2
  "channel: stable", //                             3
  "model: story-lm", //                             4
  "device:", //                                     5
  "  id: kiosk-7", //                               6
  "  class: rpi5", //                               7
  "install-dir: install", //                        8
  "trusted-root: ../keys/1.root.json", //           9
  "poll: 90s", //                                   10
  "",
].join("\n");

/** A directory that is not the working directory, holding `etc/agent.yaml`. */
function place(text: string | Buffer, extra: Record<string, string> = {}): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), "agent-config-"));
  mkdirSync(join(dir, "etc"));
  const file = join(dir, "etc", "agent.yaml");
  writeFileSync(file, text);
  for (const [name, content] of Object.entries(extra)) writeFileSync(join(dir, "etc", name), content);
  return { dir, file };
}

async function refusal(text: string | Buffer, extra: Record<string, string> = {}): Promise<ConfigurationError> {
  const { file } = place(text, extra);
  const error = await loadAgentConfig(file, "agent.yaml").then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "the configuration was accepted").toBeInstanceOf(ConfigurationError);
  return error as ConfigurationError;
}

/** The one diagnostic of a refusal, with its position. */
function only(error: ConfigurationError): Diagnostic & { line: number; column: number } {
  expect(error.diagnostics, error.message).toHaveLength(1);
  const [d] = error.diagnostics;
  expect(d?.file).toBe("agent.yaml");
  expect(d?.severity).toBe("error");
  return d as Diagnostic & { line: number; column: number };
}

describe("loadAgentConfig: a valid configuration", () => {
  it("loads with durations in milliseconds, defaults filled in, and paths resolved relative to the file, not the working directory", async () => {
    const { dir, file } = place(VALID);
    expect(process.cwd()).not.toBe(join(dir, "etc"));
    const config = await loadAgentConfig(file);
    expect(config).toEqual({
      file,
      repository: "https://models.example.com/edge",
      channel: "stable",
      model: "story-lm",
      device: { id: "kiosk-7", class: "rpi5" },
      installDir: join(dir, "etc", "install"),
      trustedRoot: join(dir, "keys", "1.root.json"),
      pollMs: 90_000,
      healthCheck: { budgetMs: undefined, timeoutMs: 120_000 },
      download: { readTimeoutMs: 30_000 },
      backoff: { initialMs: 30_000, maxMs: 3_600_000 },
      collector: undefined,
      events: "-",
    });
  });

  it("reads every setting, the id from an id file (trimmed), and keeps absolute paths as they are", async () => {
    const text = [
      "version: 1",
      "repository: http://10.0.0.2:8080",
      "channel: beta",
      "model: story-lm",
      "device: { id-file: machine-id, class: jetson-orin }",
      "install-dir: /var/lib/slmops",
      "trusted-root: /etc/slmops/1.root.json",
      "poll: 1h30m",
      "health-check: { budget: 250ms, timeout: 45s }",
      "download: { read-timeout: 1m }",
      "backoff: { initial: 5s, max: 2h }",
      "collector: { url: https://collector.example.com/, token-file: secrets/token }",
      "events: log/events.jsonl",
      "",
    ].join("\n");
    const { dir, file } = place(text, { "machine-id": "  3f2a9c1e0b7d4c55\n\n" });
    const config = await loadAgentConfig(file);
    expect(config.device).toEqual({ id: "3f2a9c1e0b7d4c55", class: "jetson-orin" });
    expect(config.installDir).toBe("/var/lib/slmops");
    expect(config.trustedRoot).toBe("/etc/slmops/1.root.json");
    expect(config.pollMs).toBe(5_400_000);
    expect(config.healthCheck).toEqual({ budgetMs: 250, timeoutMs: 45_000 });
    expect(config.download).toEqual({ readTimeoutMs: 60_000 });
    expect(config.backoff).toEqual({ initialMs: 5_000, maxMs: 7_200_000 });
    expect(config.collector).toEqual({ url: "https://collector.example.com", tokenFile: join(dir, "etc", "secrets", "token") });
    expect(config.events).toBe(join(dir, "etc", "log", "events.jsonl"));
  });
});

describe("loadAgentConfig: each mistake refused with a ConfigurationError at its line:column", () => {
  it("a missing key: named, at the mapping that needs it", async () => {
    const top = only(await refusal(VALID.replace("model: story-lm\n", "")));
    expect(top).toMatchObject({ code: "agent-config/required", line: 1, column: 1 });
    expect(top.message).toContain("`model`");
    const nested = only(await refusal(VALID.replace("  class: rpi5\n", "")));
    expect(nested).toMatchObject({ code: "agent-config/required", line: 6, column: 3 });
    expect(nested.message).toBe("`device` needs `class`");
  });

  it("an unknown key: named, with a hint to the complete example", async () => {
    const top = only(await refusal(`${VALID}colour: blue\n`));
    expect(top.code).toBe("agent-config/additionalProperties");
    expect(top.message).toBe("the file has an unknown setting `colour`");
    expect(top.hint).toContain("slmops agent init --help");
    const nested = only(await refusal(VALID.replace("  class: rpi5\n", "  class: rpi5\n  name: lobby\n")));
    expect(nested.message).toBe("`device` has an unknown setting `name`");
    // At the unknown key itself (line 8).
    expect(nested).toMatchObject({ line: 8, column: 3 });
  });

  it("an unknown key is placed at its own line, not at the start of the mapping holding it", async () => {
    expect(only(await refusal(`${VALID}colour: blue\n`))).toMatchObject({ line: 11, column: 1 });
  });

  it("a URL that is not http(s): at the value", async () => {
    const d = only(await refusal(VALID.replace("https://models.example.com/edge/", "ftp://models.example.com")));
    expect(d).toMatchObject({ code: "agent-config/pattern", line: 2, column: 13 });
    expect(d.message).toContain("an http(s) URL");
    const collector = only(await refusal(`${VALID}collector: { url: "models.example.com", token-file: t }\n`));
    expect(collector).toMatchObject({ line: 11, column: 19 });
    expect(collector.message).toContain("`collector.url`");
  });

  it("a duration written `5 minutes` (or `2 s`, or parts out of order): at the value", async () => {
    const words = only(await refusal(VALID.replace("poll: 90s", "poll: 5 minutes")));
    expect(words).toMatchObject({ code: "agent-config/pattern", line: 10, column: 7 });
    expect(words.message).toBe("`poll` is not valid here (expected a duration such as 30s, 5m or 250ms)");
    const nested = only(await refusal(`${VALID}health-check: { budget: 2 s }\n`));
    expect(nested).toMatchObject({ line: 11, column: 25 });
    expect(nested.message).toContain("`health-check.budget`");
    // The schema's pattern admits `5m1h`; parsing it refuses it, at its line too.
    const order = await refusal(VALID.replace("poll: 90s", "poll: 5m1h"));
    expect(order.message).toMatch(/^agent\.yaml:10:7: .*out of order/);
  });

  it("both, or neither, of device.id and device.id-file: at the device mapping", async () => {
    for (const text of [VALID.replace("  id: kiosk-7\n", "  id: kiosk-7\n  id-file: machine-id\n"), VALID.replace("  id: kiosk-7\n", "")]) {
      const error = await refusal(text, { "machine-id": "abc\n" });
      const d = only(error);
      expect(d).toMatchObject({ code: "agent-config/device-id", line: 6, column: 3 });
      expect(d.message).toBe("`device` needs exactly one of `id` and `id-file`");
      expect(error.message).toBe("agent.yaml:6:3: `device` needs exactly one of `id` and `id-file`");
    }
  });

  it("an empty device id file: refused, naming the file and both ways out", async () => {
    const { dir, file } = place(VALID.replace("  id: kiosk-7\n", "  id-file: machine-id\n"), { "machine-id": " \n\n" });
    const error = await loadAgentConfig(file, "agent.yaml").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toBe(`the device id file ${join(dir, "etc", "machine-id")} is empty; write the device's id into it, or set \`device.id\` in agent.yaml`);
  });

  it("an empty device id file is reported at `device.id-file`", async () => {
    const error = await refusal(VALID.replace("  id: kiosk-7\n", "  id-file: machine-id\n"), { "machine-id": "\n" });
    expect(only(error)).toMatchObject({ line: 6, column: 12 });
  });

  it("a file that is not UTF-8: at the first bad byte", async () => {
    const bytes = Buffer.concat([Buffer.from(`${VALID}# caf`), Buffer.from([0xe9]), Buffer.from(" au lait\n")]);
    const error = await refusal(bytes);
    expect(error.message).toBe("agent.yaml:11:6: the file is not UTF-8 text; save it as UTF-8");
  });

  it("YAML that does not parse, a duplicate key, a tab as indentation: each at its line:column", async () => {
    const colon = only(await refusal(VALID.replace("channel: stable", "channel: stable: beta")));
    expect(colon).toMatchObject({ code: "yaml/block_as_implicit_key", line: 3, column: 10 });
    const duplicate = only(await refusal(`${VALID}poll: 5m\n`));
    expect(duplicate).toMatchObject({ code: "yaml/duplicate_key", line: 11, column: 1 });
    const tab = await refusal(VALID.replace("  class: rpi5", "\tclass: rpi5"));
    expect(tab.message).toBe("agent.yaml is not valid YAML: fix the problem below");
    expect(only(tab)).toMatchObject({ code: "yaml/tab_as_indent", line: 7, column: 1 });
  });

  it("a YAML alias is refused with a ConfigurationError", async () => {
    await refusal(VALID.replace("channel: stable", "channel: &c stable").replace("model: story-lm", "model: *c"));
  });

  it("several mistakes at once: every one reported, each at its own place", async () => {
    const text = VALID.replace("version: 1", "version: 2").replace("poll: 90s", "poll: soon").replace("  class: rpi5", "  class: RPi 5");
    const error = await refusal(text);
    expect(error.message).toBe("agent.yaml is not a valid agent configuration: fix the 3 problems below");
    const at = error.diagnostics.map((d) => [d.line, d.column, d.message]).sort((a, b) => Number(a[0]) - Number(b[0]));
    expect(at).toEqual([
      [1, 10, "`version` must be 1"],
      [7, 10, "`device.class` is not valid here (expected lowercase letters, digits, '.', '_' and '-')"],
      [10, 7, "`poll` is not valid here (expected a duration such as 30s, 5m or 250ms)"],
    ]);
  });

  it("an empty file or a list instead of settings", async () => {
    for (const text of ["", "- repository\n- channel\n"]) {
      const d = only(await refusal(text));
      expect(d).toMatchObject({ code: "agent-config/type", line: 1, column: 1 });
    }
  });
});
