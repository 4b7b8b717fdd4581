/**
 * Every command the READMEs show works as written for someone with only
 * Node.js and npm. The fenced `sh`, `bash` and `console` blocks of README.md,
 * packages/cli/README.md and actions/*\/README.md are read, and each command
 * in them is run, in order, where its reader would run it:
 *
 * - `npx slmops …` (a user of the published package) in a scratch project
 *   where the packed `@slmops/cli` is installed with plain npm, with the
 *   README's `slmops.yaml` at its root;
 * - `npm run slmops -- …` (a contributor in a clone) in a clean copy of the
 *   repository's root: its package.json, `examples/` and `schemas/`, with the
 *   built CLI;
 * - `npm install --save-dev @slmops/cli` is what the scratch project was made
 *   with (the packed tarball in place of the registry's copy).
 *
 * `bench` runs with short run rules (its run-rule flags replaced). A
 * `console` block's command is expected to exit as its shown output says (a
 * top-level `✗` line: exit 1 and a `✗` line; otherwise exit 0). Outputs are
 * not compared: the commands' wording may change.
 *
 * Not run (each still checked to exist in the root package.json):
 * NOT_RUN below, with the reason for each. `yaml` blocks are workflow files
 * and manifests, not commands: workflows need GitHub Actions runners and
 * self-hosted devices; the manifest snippet is checked by its own test.
 * A command of any other form fails this test until it is classified here.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "./test-support/run-cli.js";
import { installTarball, npxSlmops, packCli, run, type Run } from "./test-support/packed-cli.js";

/** Root scripts a README shows that this test does not run, and why. */
const NOT_RUN: Record<string, string> = {
  test: "the whole test suite, of which this test is one file",
  example: "the example job (scripts/example.mjs): validate, optimize, bench and gate on examples/story-lm under the manifest's run rules, minutes; the `npm run slmops --` commands run the same steps here",
  setup: "installs the workspace with the pinned pnpm and builds it: what made the checkout this test runs in",
  typecheck: "tsc over every package; CI runs it itself (.ci/run)",
  lint: "eslint over every package; CI runs it itself (.ci/run)",
  bench: "the repository's benchmark scripts (minutes), not an example of the CLI",
  changeset: "interactive: asks which packages a change touches",
};

/** The run-rule flags of `bench`, replaced by short ones. */
const RUN_RULES = ["--warmup", "--min-iterations", "--min-duration", "--prompt-tokens", "--generate-tokens", "--timeout"];
const SHORT_RUN_RULES = ["--warmup", "1", "--min-iterations", "2", "--min-duration", "1ms", "--prompt-tokens", "8", "--generate-tokens", "4"];

const READMES = [
  "README.md",
  join("packages", "cli", "README.md"),
  ...readdirSync(join(repoRoot, "actions"), { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(repoRoot, "actions", e.name, "README.md")))
    .map((e) => join("actions", e.name, "README.md"))
    .sort(),
];

interface Block {
  readonly file: string;
  readonly line: number;
  readonly lang: string;
  readonly lines: readonly string[];
}

/** The fenced blocks of a Markdown file, with the line their first content line is on. */
function blocksOf(file: string): Block[] {
  const text = readFileSync(join(repoRoot, file), "utf8").split("\n");
  const blocks: Block[] = [];
  let open: { line: number; lang: string; lines: string[] } | undefined;
  text.forEach((line, i) => {
    const fence = /^```\s*([\w-]*)/.exec(line);
    if (fence && !open) open = { line: i + 2, lang: fence[1] ?? "", lines: [] };
    else if (fence && open) {
      blocks.push({ file, ...open });
      open = undefined;
    } else open?.lines.push(line);
  });
  return blocks;
}

type Kind =
  | { readonly kind: "install" }
  | { readonly kind: "user"; readonly args: readonly string[] }
  | { readonly kind: "contributor"; readonly args: readonly string[] }
  | { readonly kind: "script"; readonly script: string };

interface Command {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  readonly kind: Kind;
  /** The output a `console` block shows under the command. */
  readonly shown?: readonly string[];
}

function classify(text: string): Kind | undefined {
  const words = text.split(/\s+/);
  if (/^npm (install|i) --save-dev @slmops\/cli$/.test(text)) return { kind: "install" };
  if (words[0] === "npx" && words[1] === "slmops") return { kind: "user", args: words.slice(2) };
  if (words[0] === "npm" && words[1] === "run" && words[2] === "slmops" && words[3] === "--") return { kind: "contributor", args: words.slice(4) };
  if (words[0] === "npm" && words[1] === "run" && words[2] && words.length === 3) return { kind: "script", script: words[2] };
  if (text === "npm test") return { kind: "script", script: "test" };
  return undefined;
}

/** The commands of a block: each line of a shell block (comments dropped, `&&` split), each `$ ` line of a console block. */
function commandsOf(block: Block): { line: number; text: string; shown?: string[] }[] {
  const out: { line: number; text: string; shown?: string[] }[] = [];
  block.lines.forEach((raw, i) => {
    const line = block.line + i;
    if (block.lang === "console") {
      if (raw.startsWith("$ ")) out.push({ line, text: raw.slice(2).trim(), shown: [] });
      else out.at(-1)?.shown?.push(raw);
      return;
    }
    const text = raw.replace(/(^|\s)#.*$/, "").trim();
    if (text) for (const part of text.split(/\s*&&\s*/)) out.push({ line, text: part });
  });
  return out;
}

const blocks = READMES.flatMap(blocksOf);
const shellBlocks = blocks.filter((b) => ["sh", "bash", "console", "shell"].includes(b.lang));
const unclassified: string[] = [];
const commands: Command[] = shellBlocks.flatMap((block) =>
  commandsOf(block).flatMap(({ line, text, shown }) => {
    const kind = classify(text);
    if (!kind) {
      unclassified.push(`${block.file}:${line}: ${text}`);
      return [];
    }
    return [{ file: block.file, line, text, kind, ...(shown ? { shown } : {}) }];
  }),
);

/** The README's manifest snippet: its yaml block that is a whole slmops.yaml. */
function manifestSnippet(): string {
  const snippet = blocks.find((b) => b.file === "README.md" && b.lang === "yaml" && b.lines[0] === "version: 1");
  if (!snippet) throw new Error("README.md has no yaml block starting with `version: 1` (the slmops.yaml snippet)");
  return `${snippet.lines.join("\n")}\n`;
}

function withShortRunRules(args: readonly string[]): string[] {
  if (args[0] !== "bench" || args.includes("--help")) return [...args];
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const flag = arg.split("=")[0] as string;
    if (RUN_RULES.includes(flag)) {
      if (!arg.includes("=")) i++;
      continue;
    }
    kept.push(arg);
  }
  return [...kept, ...SHORT_RUN_RULES];
}

let work: string;
let userProject: string;
let clone: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "slmops-readme-"));
  const { tarball } = packCli(join(work, "tarball"));
  userProject = join(work, "my-project");
  installTarball(userProject, tarball);
  writeFileSync(join(userProject, "slmops.yaml"), manifestSnippet());

  clone = join(work, "clone");
  mkdirSync(join(clone, "packages"), { recursive: true });
  cpSync(join(repoRoot, "package.json"), join(clone, "package.json"));
  for (const dir of ["examples", "schemas"]) cpSync(join(repoRoot, dir), join(clone, dir), { recursive: true, filter: (src) => !/[\\/](\.slmops|out|node_modules)$/.test(src) });
  symlinkSync(join(repoRoot, "packages", "cli"), join(clone, "packages", "cli"), "dir");
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("README command blocks", () => {
  it("are all of a form this test knows (user, contributor, or a root script)", () => {
    expect(unclassified).toEqual([]);
    expect(commands.filter((c) => c.kind.kind === "user").length).toBeGreaterThan(10);
    expect(commands.filter((c) => c.kind.kind === "contributor").length).toBeGreaterThan(3);
  });

  it("name no package the project does not own, and no pnpm", () => {
    const problems: string[] = [];
    for (const file of READMES) {
      const text = readFileSync(join(repoRoot, file), "utf8");
      text.split("\n").forEach((line, i) => {
        const where = `${file}:${i + 1}`;
        // pnpm is not on a user's PATH: no command line or inline command starts with it.
        if (/(^|`|\$ |run: )pnpm\s/.test(line.trimStart())) problems.push(`${where}: pnpm command: ${line.trim()}`);
        for (const m of line.matchAll(/(?:^\s*|\$ |run: |`)npx((?:\s+-[-\w]+(?:=\S+)?)*)\s+([^\s`-][^\s`]*)/g)) {
          const pkg = /--package=(\S+)|-p\s+(\S+)/.exec(m[1] ?? "");
          const named = pkg ? (pkg[1] ?? pkg[2]) : undefined;
          if (named !== undefined) {
            if (!named.startsWith("@slmops/")) problems.push(`${where}: npx --package names ${named}`);
          } else if (m[2] !== "slmops") problems.push(`${where}: npx ${m[2]} names a package the project does not own`);
          else if (!text.includes("npm install --save-dev @slmops/cli")) problems.push(`${where}: \`npx slmops\` without \`npm install --save-dev @slmops/cli\` in the same README would fetch an unrelated package named slmops`);
        }
        for (const m of line.matchAll(/(?:^\s*|\$ |run: |`)npm\s+(?:install|i|add)((?:\s+-[-\w]+)*)\s+([^\s`-][^\s`]*)/g)) {
          if (!m[2]?.startsWith("@slmops/")) problems.push(`${where}: npm install ${m[2]} names a package the project does not own`);
        }
      });
    }
    expect(problems).toEqual([]);
  });

  it("name only root scripts that exist", () => {
    const scripts = (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    for (const c of commands) {
      if (c.kind.kind !== "script") continue;
      expect(scripts[c.kind.script], `${c.file}:${c.line}: npm run ${c.kind.script}`).toBeDefined();
      expect(NOT_RUN[c.kind.script], `${c.file}:${c.line}: \`${c.text}\` is neither run here nor listed in NOT_RUN with a reason`).toBeDefined();
    }
    expect(scripts.slmops).toBeDefined();
  });
});

describe("the README's slmops.yaml", () => {
  it("validates as written against what `make-model --out models/story-lm` writes", () => {
    const dir = join(userProject, "snippet-check");
    mkdirSync(dir);
    writeFileSync(join(dir, "slmops.yaml"), manifestSnippet());
    const made = npxSlmops(["make-model", "--out", "models/story-lm"], dir);
    expect(made.status, made.stderr).toBe(0);
    const validated = npxSlmops(["validate", "--json"], dir);
    expect(validated.status, validated.stdout + validated.stderr).toBe(0);
    expect(JSON.parse(validated.stdout)).toMatchObject({ valid: true, diagnostics: [] });
  }, 60_000);
});

describe("README commands, run as written", () => {
  for (const command of commands) {
    if (command.kind.kind === "script") continue;
    const { kind } = command;
    it(`${command.file}:${command.line}  ${command.text}`, () => {
      if (kind.kind === "install") {
        // Done in beforeAll with the packed tarball in place of the registry's copy.
        expect(existsSync(join(userProject, "node_modules", ".bin", "slmops"))).toBe(true);
        return;
      }
      let result: Run;
      if (kind.kind === "user") result = npxSlmops(withShortRunRules(kind.args), userProject);
      else result = run("npm", ["run", "slmops", "--", ...withShortRunRules(kind.args)], { cwd: clone });
      const said = `${result.stdout}\n${result.stderr}`;
      const shown = command.shown ?? [];
      if (shown.some((l) => l.startsWith("✗ "))) {
        expect(result.status, said).toBe(1);
        expect(result.stdout).toMatch(/^✗ /m);
      } else {
        expect(result.status, said).toBe(0);
        if (shown.some((l) => l.startsWith("✓ "))) expect(result.stdout).toMatch(/^✓ /m);
      }
    }, 180_000);
  }
});
