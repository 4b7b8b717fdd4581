import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's example project. */
export const exampleDir = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../examples/story-lm");

/** The files the example's manifest refers to. */
export const EXAMPLE_FILES = ["models/story-lm/model.onnx", "models/story-lm/tokenizer.json", "data/eval.jsonl"] as const;

/** A temporary repository root holding the example's files (real, small files; the manifest only checks they exist). */
export function makeRepo(prefix = "slmops-manifest-"): { root: string; write(path: string, text: string | Uint8Array): string; cleanup(): void } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const write = (path: string, text: string | Uint8Array): string => {
    const file = join(root, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    return file;
  };
  for (const file of EXAMPLE_FILES) write(file, "placeholder\n");
  return { root, write, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** A temporary copy of the example project, with its data files created if the repository does not hold them yet. */
export function copyExample(): { root: string; manifest: string; cleanup(): void } {
  const repo = makeRepo("slmops-example-");
  cpSync(exampleDir, repo.root, { recursive: true, force: true });
  return { root: repo.root, manifest: join(repo.root, "slmops.yaml"), cleanup: repo.cleanup };
}
