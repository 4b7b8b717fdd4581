import { spawn } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { COMPLETE_MARKER, discardBuild, publishBuild, publishedBuild, recoverBuilds, startBuild, UnsafeOutputError } from "./index.js";

let scratch: string;
let root: string;
let parent: string;
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), "contained-fs-publish-"));
  root = join(scratch, "repo");
  parent = join(root, ".slmops", "variants", "story-lm");
  mkdirSync(root);
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

async function build(name: string, content: string): Promise<string> {
  const b = await startBuild(root, parent, name);
  writeFileSync(join(b.path, "model.onnx"), content);
  await publishBuild(b);
  return b.path;
}

const read = (name: string) => readFileSync(join(parent, name, "model.onnx"), "utf8");

describe("published directories", () => {
  it("publishes a build as a link and replaces it with the next, removing the old build", async () => {
    const first = await build("int4", "one");
    expect(read("int4")).toBe("one");
    expect(lstatSync(join(parent, "int4")).isSymbolicLink()).toBe(true);
    const second = await build("int4", "two");
    expect(read("int4")).toBe("two");
    expect(existsSync(first)).toBe(false);
    expect(await publishedBuild(root, parent, "int4")).toBe(second);
    expect(readdirSync(parent).sort()).toEqual([".int4.build-" + second.split(".int4.build-")[1], "int4"].sort());
  });

  it("never replaces a file, a directory or a link slmops did not make", async () => {
    mkdirSync(parent, { recursive: true });
    writeFileSync(join(parent, "tokenizer.json"), "{}");
    mkdirSync(join(parent, "int8"));
    writeFileSync(join(parent, "int8", "notes.txt"), "mine");
    symlinkSync("/", join(parent, "fp16"));
    for (const name of ["tokenizer.json", "int8", "fp16"]) {
      const error = await startBuild(root, parent, name).catch((e: unknown) => e);
      expect(error, name).toBeInstanceOf(UnsafeOutputError);
      expect((error as UnsafeOutputError).reason).toBe("not-ours");
      expect((error as Error).message).toMatch(/slmops did not make/);
    }
    expect(readFileSync(join(parent, "tokenizer.json"), "utf8")).toBe("{}");
    expect(readFileSync(join(parent, "int8", "notes.txt"), "utf8")).toBe("mine");
    expect(readlinkSync(join(parent, "fp16"))).toBe("/");
  });

  it("a discarded build leaves the published one as it was", async () => {
    await build("int4", "one");
    const b = await startBuild(root, parent, "int4");
    writeFileSync(join(b.path, "model.onnx"), "half");
    await discardBuild(b);
    expect(read("int4")).toBe("one");
    expect(readdirSync(parent)).toHaveLength(2);
  });

  it("recovery after a kill between finishing a build and publishing it keeps the newer, complete build", async () => {
    await build("int4", "old");
    // What a process killed after marking its build complete, before the rename, leaves:
    const finished = await startBuild(root, parent, "int4");
    writeFileSync(join(finished.path, "model.onnx"), "new");
    writeFileSync(join(finished.path, COMPLETE_MARKER), "{}");
    // …and one killed mid-write, newer still but incomplete:
    const partial = join(parent, ".int4.build-zzzzzzzzz-00000000");
    mkdirSync(partial);
    writeFileSync(join(partial, "model.onnx"), "ha");
    expect(read("int4")).toBe("old");
    await recoverBuilds(root, parent, "int4");
    expect(read("int4")).toBe("new");
    expect(readdirSync(parent)).toHaveLength(2);
  });

  it("recovery with the link missing publishes the newest complete build", async () => {
    const path = await build("int4", "only");
    rmSync(join(parent, "int4"));
    await recoverBuilds(root, parent, "int4");
    expect(await publishedBuild(root, parent, "int4")).toBe(path);
  });

  it("a publisher killed at arbitrary moments always leaves a complete build published", async () => {
    const script = join(dirname(fileURLToPath(import.meta.url)), "test-support", "publisher-child.mjs");
    let kills = 0;
    for (let round = 0; round < 12; round++) {
      const child = spawn(process.execPath, [script, root, parent, "int4"], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString()));
      child.stderr.on("data", (c: Buffer) => (err += c.toString()));
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      // Let it publish at least once, then kill it at a moment that varies from round to round.
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => {
          if (out.includes("published")) {
            clearInterval(timer);
            setTimeout(resolve, (round * 7) % 23);
          }
          if (child.exitCode !== null) {
            clearInterval(timer);
            reject(new Error(`publisher exited: ${err}`));
          }
        }, 1);
      });
      child.kill("SIGKILL");
      await exited;
      kills++;
      const published = await publishedBuild(root, parent, "int4");
      expect(published, `round ${round}: a build is published`).toBeDefined();
      const a = readFileSync(join(parent, "int4", "a"), "utf8");
      expect(readFileSync(join(parent, "int4", "b"), "utf8"), "both files of one build").toBe(a);
      expect(a.length).toBe(256 * 1024);
      const newestRound = Math.max(...out.split("\n").filter((l) => l.startsWith("published ")).map((l) => Number(l.slice(10))));
      await recoverBuilds(root, parent, "int4");
      // Recovery never goes back past what the child said it published.
      expect(Number.parseInt(readFileSync(join(parent, "int4", "a"), "utf8"), 10)).toBeGreaterThanOrEqual(newestRound);
      expect(readdirSync(parent).filter((n) => n.startsWith(".int4.build-"))).toHaveLength(1);
    }
    expect(kills).toBe(12);
  });
});
