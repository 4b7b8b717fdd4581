import { chmod, mkdir, readFile, stat, symlink, lstat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { AtomicWriteError, writeFileAtomic, writeJsonAtomic } from "./index.js";
import { scratchDir } from "./test-support/scratch-dir.js";

let scratch: Awaited<ReturnType<typeof scratchDir>>;
beforeEach(async () => {
  scratch = await scratchDir();
});
afterEach(async () => {
  await scratch.remove();
});

describe("writeFileAtomic", () => {
  test("creates a new file and leaves nothing else in the directory", async () => {
    const target = path.join(scratch.dir, "state.json");
    await writeFileAtomic(target, "hello\n");
    expect(await readFile(target, "utf8")).toBe("hello\n");
    expect(await scratch.entries()).toEqual(["state.json"]);
  });

  test("replaces the content whole: nothing of a longer old content survives", async () => {
    const target = path.join(scratch.dir, "model.bin");
    await writeFile(target, Buffer.alloc(64 * 1024, "x"));
    await writeFileAtomic(target, new Uint8Array([1, 2, 3]));
    expect([...(await readFile(target))]).toEqual([1, 2, 3]);
    expect(await scratch.entries()).toEqual(["model.bin"]);
  });

  test("encodes strings with the given encoding", async () => {
    const target = path.join(scratch.dir, "latin1.txt");
    await writeFileAtomic(target, "é", { encoding: "latin1" });
    expect([...(await readFile(target))]).toEqual([0xe9]);
  });

  test("gives a new file the requested mode, whatever the umask", async () => {
    const target = path.join(scratch.dir, "secret");
    await writeFileAtomic(target, "s", { mode: 0o600 });
    expect((await stat(target)).mode & 0o777).toBe(0o600);
    await writeFileAtomic(target, "s", { mode: 0o664 });
    expect((await stat(target)).mode & 0o777).toBe(0o664);
  });

  test("keeps the mode of the file it replaces when no mode is given", async () => {
    const target = path.join(scratch.dir, "run.sh");
    await writeFile(target, "old");
    await chmod(target, 0o750);
    await writeFileAtomic(target, "new");
    expect((await stat(target)).mode & 0o777).toBe(0o750);
  });

  test("replaces a symbolic link by a regular file, leaving the link's target alone", async () => {
    const real = path.join(scratch.dir, "real.txt");
    const link = path.join(scratch.dir, "link.txt");
    await writeFile(real, "real");
    await symlink(real, link);
    await writeFileAtomic(link, "new");
    expect((await lstat(link)).isFile()).toBe(true);
    expect(await readFile(link, "utf8")).toBe("new");
    expect(await readFile(real, "utf8")).toBe("real");
  });

  test("fails with the path, the step and the code when the directory does not exist", async () => {
    const target = path.join(scratch.dir, "missing", "file.txt");
    const error = await writeFileAtomic(target, "x").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AtomicWriteError);
    expect(error).toMatchObject({ path: target, step: "create", code: "ENOENT" });
    expect((error as Error).message).toContain(target);
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  test("removes the temporary file when the final rename fails, leaving the target untouched", async () => {
    const target = path.join(scratch.dir, "occupied");
    await mkdir(target);
    await writeFile(path.join(target, "inside"), "kept");
    const error = await writeFileAtomic(target, "x").catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: "AtomicWriteError", step: "rename" });
    expect(await scratch.entries()).toEqual(["occupied"]);
    expect(await readFile(path.join(target, "inside"), "utf8")).toBe("kept");
  });
});

describe("writeJsonAtomic", () => {
  test("writes indented JSON with a final newline", async () => {
    const target = path.join(scratch.dir, "release.json");
    await writeJsonAtomic(target, { version: "1.2.3", files: [{ sha256: "ab" }] });
    const text = await readFile(target, "utf8");
    expect(text).toBe('{\n  "version": "1.2.3",\n  "files": [\n    {\n      "sha256": "ab"\n    }\n  ]\n}\n');
  });

  test("writes one line with indent 0", async () => {
    const target = path.join(scratch.dir, "a.json");
    await writeJsonAtomic(target, [1, { a: true }], { indent: 0 });
    expect(await readFile(target, "utf8")).toBe('[1,{"a":true}]\n');
  });

  test("refuses a value without a JSON form before touching the disk", async () => {
    const target = path.join(scratch.dir, "nothing.json");
    await expect(writeJsonAtomic(target, undefined)).rejects.toThrow(TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(writeJsonAtomic(target, cyclic)).rejects.toThrow(TypeError);
    expect(await scratch.entries()).toEqual([]);
  });
});
