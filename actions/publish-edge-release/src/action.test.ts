import { mkdtempSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot, runActionAsync, type ActionRun } from "@slmops/action-kit/testing";
import { startGitHubTestServer, type GitHubTestServer } from "@slmops/github-test-server";
import { startNginx } from "@slmops/test-nginx";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TargetOutput } from "./main.js";
import { cli, freshKeys, keyInputs, makeProject, writeVerdict, type Project } from "./test-support/project.js";

const bundle = join(import.meta.dirname, "..", "dist", "index.js");
const TOKEN = "ghs_publishtesttoken000000000000000000";
const OWNER = "octo";
const REPO = "models";
/** The onnxruntime-node the workspace installed, standing in for one preinstalled on the runner. */
const installedRuntime = realpathSync(join(repoRoot, "packages", "runtime", "node_modules", "onnxruntime-node"));
const hasStack = (text: string) => /^\s+at .+:\d+:\d+\)?$/m.test(text);
const errors = (r: ActionRun) => r.stdout.split("\n").filter((l) => l.startsWith("::error"));

/** Every file under `dir`, as text (binary files too: a key would show in either). */
function filesUnder(dir: string): { path: string; text: string }[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => ({ path: join(e.parentPath, e.name), text: readFileSync(join(e.parentPath, e.name), "latin1") }));
}

let server: GitHubTestServer;
let project: Project;

beforeAll(async () => {
  server = await startGitHubTestServer({ token: TOKEN });
  project = makeProject();
}, 240_000);
afterAll(async () => {
  await server.close();
});

function publish(inputs: Record<string, string>, env: Record<string, string> = {}): Promise<ActionRun> {
  return runActionAsync(
    bundle,
    project.dir,
    // The runner passes every input, with action.yml's defaults for those the step leaves out.
    { manifest: "slmops.yaml", verdict: "slmops-gate/slmops-verdict.json", "repository-dir": "edge-release", attest: "auto", "github-release": "true", force: "false", token: TOKEN, "onnxruntime-path": installedRuntime, ...inputs },
    {
      timeout: 180_000,
      event: { name: "push", payload: { ref: "refs/heads/main", after: project.commit, repository: { name: REPO, owner: { login: OWNER } } } },
      env: { GITHUB_API_URL: server.url, GITHUB_REPOSITORY: `${OWNER}/${REPO}`, GITHUB_SHA: project.commit, GITHUB_REF: "refs/heads/main", GITHUB_SERVER_URL: "https://github.com", ...env },
    },
  );
}

describe("publish-edge-release action (bundled, runner's Node 24, OpenAPI-checking GitHub server)", { timeout: 300_000 }, () => {
  it("signs the release, keeps every key out of every output, attaches it to a GitHub Release, and a second run publishes nothing", async () => {
    const keys = freshKeys();
    writeVerdict(project.dir, "pass");
    const first = await publish({ ...keyInputs(keys), version: "1.2.0", "repository-dir": "site/edge" });
    expect(first.node, "the runner's Node 24 (npm run setup unpacks it)").toMatch(/node-v24\.\d+\.\d+/);
    expect(first.stderr).toBe("");
    expect(errors(first)).toEqual([]);
    expect(first.status, first.stdout).toBe(0);
    expect(server.violations, server.describeViolations()).toEqual([]);

    // Outputs.
    expect(first.outputs.version).toBe("1.2.0");
    expect(first.outputs.channel).toBe("beta");
    expect(first.outputs.published).toBe("true");
    expect(first.outputs["repository-path"]).toBe("site/edge");
    expect(first.outputs["root-path"]).toBe("site/edge/metadata/1.root.json");
    expect(first.outputs["release-tag"]).toBe("slmops-beta-v1.2.0");
    const targets = JSON.parse(first.outputs.targets ?? "") as TargetOutput[];
    expect(targets.map((t) => [t.model, t["device-class"], t.variant, t.verdict])).toEqual([["story-lm", "local", "int8", "pass"]]);
    expect(targets[0]?.paths).toEqual(["beta/story-lm/1.2.0/local/model.onnx"]);
    expect(first.outputs["attestation-url"]).toBe("");
    expect(first.summary).toContain("Edge release 1.2.0 (beta)");
    expect(first.summary).toContain("Attestation: not made (the job has no `id-token: write` permission)");

    // A device verifies the repository end to end with tuf-js's client.
    const verified = cli(["release", "verify", "--repo", "site/edge", "--root", "site/edge/metadata/1.root.json"], project.dir);
    expect(verified.stderr).toBe("");
    expect(verified.stdout).toContain("the repository verifies as a device sees it");

    // The GitHub Release: tagged at the commit, every asset's bytes those of the repository's files.
    const [release] = server.state.releases(OWNER, REPO);
    expect(release?.tagName).toBe("slmops-beta-v1.2.0");
    expect(release?.targetCommitish).toBe(project.commit);
    expect(release?.prerelease).toBe(true); // channel beta
    expect(first.outputs["release-url"]).toMatch(/\/releases\/tag\/slmops-beta-v1\.2\.0$/);
    const names = (release?.assets ?? []).map((a) => a.name).sort();
    expect(names).toEqual(["1.rollout.json", "1.root.json", "2.snapshot.json", "2.targets.json", "story-lm-1.2.0.provenance.intoto.json", "story-lm-local-model.onnx", "timestamp.json"].sort());
    const targetFile = filesUnder(join(project.dir, "site/edge/targets")).find((f) => f.path.endsWith(".model.onnx"));
    expect(Buffer.from(release?.assets.find((a) => a.name === "story-lm-local-model.onnx")?.data ?? []).equals(readFileSync(targetFile?.path ?? ""))).toBe(true);
    expect(Buffer.from(release?.assets.find((a) => a.name === "timestamp.json")?.data ?? []).equals(readFileSync(join(project.dir, "site/edge/metadata/timestamp.json")))).toBe(true);

    // No key in any output, log, summary, file the action wrote, asset or request — only in the runner's mask commands.
    const masks = first.stdout.split("\n").filter((l) => l.startsWith("::add-mask::"));
    for (const key of Object.values(keys)) expect(masks).toContain(`::add-mask::${key}`);
    const shown = [first.stdout.split("\n").filter((l) => !l.startsWith("::add-mask::")).join("\n"), first.stderr, first.summary, first.outputFile, JSON.stringify(server.requests)];
    const written = [...filesUnder(join(project.dir, "site")), ...filesUnder(first.runnerTemp)].map((f) => f.text);
    const assets = (release?.assets ?? []).map((a) => Buffer.from(a.data).toString("latin1"));
    for (const key of Object.values(keys)) {
      const raw = Buffer.from(key, "base64").toString("latin1");
      for (const text of [...shown, ...written, ...assets]) {
        expect(text.includes(key)).toBe(false);
        expect(text.includes(raw)).toBe(false);
      }
    }

    // Again: nothing signed, the release kept as it was; no root key needed now.
    const requestsBefore = server.requests.length;
    const { root: _root, rollout: _rollout, ...publishKeys } = keys;
    const second = await publish({ ...keyInputs(publishKeys), version: "1.2.0", "repository-dir": "site/edge" });
    expect(second.status, second.stdout).toBe(0);
    expect(second.outputs.published).toBe("false");
    expect(second.stdout).toContain("story-lm 1.2.0 on beta is already published; nothing written");
    expect(second.summary).toContain("assets 0 uploaded, 0 replaced, 7 unchanged");
    const uploads = server.requests.slice(requestsBefore).filter((r) => r.operationId === "repos/upload-release-asset");
    expect(uploads).toEqual([]);
    expect(server.violations, server.describeViolations()).toEqual([]);

    // A device takes the release up from Debian's nginx serving the directory the action wrote, once the promote job starts the rollout.
    const promoted = cli(["release", "promote", "--repo", "site/edge"], project.dir, { SLMOPS_ROLLOUT_KEY: keys.rollout, SLMOPS_SNAPSHOT_KEY: keys.snapshot, SLMOPS_TIMESTAMP_KEY: keys.timestamp });
    expect(promoted.status, promoted.stderr).toBe(0);
    const host = await startNginx({ root: join(project.dir, "site", "edge") });
    try {
      const device = mkdtempSync(join(tmpdir(), "publish-device-"));
      writeFileSync(
        join(device, "agent.yaml"),
        `version: 1\nrepository: ${host.url}\nchannel: beta\nmodel: story-lm\ndevice: { id: kiosk-1, class: local }\ninstall-dir: install\ntrusted-root: ${join(project.dir, "site/edge/metadata/1.root.json")}\n`,
      );
      const agent = cli(["agent", "once", "--config", join(device, "agent.yaml")], device);
      expect(agent.status, agent.stderr).toBe(0);
      const events = agent.stdout.trim().split("\n").map((line) => JSON.parse(line) as { event: string; version?: string });
      expect(events.at(-1)).toMatchObject({ event: "active", version: "1.2.0" });
      expect(JSON.parse(readFileSync(join(device, "install", "active", "release.json"), "utf8"))).toMatchObject({ version: "1.2.0", variant: "int8", deviceClass: "local" });
    } finally {
      await host.stop();
    }

  });

  it("refuses a gate that did not pass, unless forced — and the force is in the signed metadata", async () => {
    const keys = freshKeys();
    writeVerdict(project.dir, "fail", "gate/failed.json");
    const refused = await publish({ ...keyInputs(keys), version: "2.0.0", verdict: "gate/failed.json", "repository-dir": "forced", "github-release": "false" });
    expect(refused.status).toBe(1);
    expect(errors(refused)).toEqual(["::error::the gate did not pass on local (fail); the release is refused. Pass the gate's verdict with input `verdict`, or set input `force` to true to publish anyway (recorded in the signed metadata)"]);
    expect(hasStack(refused.stdout + refused.stderr)).toBe(false);
    expect(() => statSync(join(project.dir, "forced", "metadata"))).toThrow();

    const forced = await publish({ ...keyInputs(keys), version: "2.0.0", verdict: "gate/failed.json", "repository-dir": "forced", "github-release": "false", force: "true" });
    expect(forced.status, forced.stdout).toBe(0);
    expect(forced.stdout).toContain("::warning::Publishing although the gate did not pass on local (fail)");
    expect(forced.outputs["release-url"]).toBe("");
    const signed = JSON.parse(readFileSync(join(project.dir, "forced", "metadata", "2.targets.json"), "utf8")) as { signed: { targets: Record<string, { custom: { forced?: unknown; verdict: { outcome: string } } }> } };
    const custom = signed.signed.targets["beta/story-lm/2.0.0/local/model.onnx"]?.custom;
    expect(custom?.forced).toEqual({ deviceClasses: ["local"] });
    expect(custom?.verdict.outcome).toBe("fail");
  });

  it("says what to do when the repository was not restored, a key is malformed, or a version is reused", async () => {
    const keys = freshKeys();
    writeVerdict(project.dir, "pass");
    const { root: _root, ...withoutRoot } = keys;
    const fresh = await publish({ ...keyInputs(withoutRoot), version: "3.0.0", "repository-dir": "not-restored", "github-release": "false" });
    expect(fresh.status).toBe(1);
    expect(errors(fresh)[0]).toContain("`not-restored` holds no release repository, and creating one needs the root key. Restore the repository the static host serves");

    // An attestation demanded where the job may not request an OIDC token.
    const attest = await publish({ ...keyInputs(keys), version: "3.0.0", "repository-dir": "attest", "github-release": "false", attest: "true" });
    expect(attest.status).toBe(1);
    expect(errors(attest)[0]).toContain("Input `attest` is `true` but the job has no `id-token: write` permission");

    // A malformed key: the refusal names the variable, never the value.
    const canary = Buffer.from("canary-secret-value-0123456789abcdef").toString("base64");
    const bad = await publish({ ...keyInputs({ ...keys, targets: canary }), version: "3.0.0", "repository-dir": "bad-key", "github-release": "false" });
    expect(bad.status).toBe(1);
    expect(errors(bad)[0]).toContain("SLMOPS_TARGETS_KEY is not a PKCS#8 private key");
    const visible = bad.stdout.split("\n").filter((l) => !l.startsWith("::add-mask::")).join("\n") + bad.stderr + bad.summary + bad.outputFile;
    expect(visible).not.toContain(canary);
    expect(bad.stdout).toContain(`::add-mask::${canary}`);

    // The same version with other content is refused.
    const ok = await publish({ ...keyInputs(keys), version: "3.0.0", "repository-dir": "reuse", "github-release": "false" });
    expect(ok.status, ok.stdout).toBe(0);
    // Other content under the same version: the manifest it is built from changed (its digest is signed).
    const manifestFile = join(project.dir, "slmops.yaml");
    const original = readFileSync(manifestFile);
    try {
      writeFileSync(manifestFile, Buffer.concat([original, Buffer.from("# an edit after the release\n")]));
      const reused = await publish({ ...keyInputs(keys), version: "3.0.0", "repository-dir": "reuse", "github-release": "false" });
      expect(reused.status).toBe(1);
      expect(errors(reused).join("\n")).toContain("version 3.0.0 of story-lm is already published on channel beta with other content; a version is never reused");
      expect(hasStack(reused.stdout + reused.stderr)).toBe(false);
    } finally {
      writeFileSync(manifestFile, original);
    }
  });
});
