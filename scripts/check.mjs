#!/usr/bin/env node
// Type-checks and lints every workspace package in two processes instead of
// two per package (what `turbo run typecheck lint` does), checking exactly the
// same things:
//
// - typecheck: each package whose `typecheck` script is
//   `tsc -p tsconfig.json --noEmit` gets its own TypeScript program, built from
//   its own tsconfig.json with the options and root files tsc would use, and
//   reports the diagnostics tsc would (TypeScript's own emitFilesAndReportErrors).
//   The programs run one after another in this process and share the parsed
//   and bound source files (lib, @types/node, the dependencies' dist .d.ts),
//   as the TypeScript language server shares them between projects.
// - lint: one ESLint process (the root eslint.config.js, as each package's run
//   finds it) over the paths of every package's `eslint <paths>` script.
//
// A package whose script has any other form is run as it is (`npm run <task>`
// in its directory). The packages' dependencies must be built (their dist
// .d.ts are what the type checker reads), as `turbo run typecheck` ensures
// through its ^build dependency: run it through `npm run check`.
//
// Usage: node scripts/check.mjs [typecheck] [lint]   (both when none is given)
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const tasks = process.argv.slice(2);
for (const t of tasks) {
  if (t !== "typecheck" && t !== "lint") {
    console.error(`check: unknown task ${JSON.stringify(t)} (expected typecheck and/or lint)`);
    process.exit(2);
  }
}
const want = (task) => tasks.length === 0 || tasks.includes(task);
const rootRequire = createRequire(join(root, "package.json"));
const resolvesLikeRoot = (dir, name) => {
  try {
    return realpathSync(createRequire(join(dir, "package.json")).resolve(name)) === realpathSync(rootRequire.resolve(name));
  } catch {
    return false;
  }
};

const packages = workspacePackages();
const fallback = []; // [dir, task]: scripts of another form, run as they are
const tscDirs = [];
const lintPaths = [];
for (const { dir, scripts } of packages) {
  if (want("typecheck") && scripts.typecheck !== undefined) {
    if (scripts.typecheck.trim() === "tsc -p tsconfig.json --noEmit" && resolvesLikeRoot(dir, "typescript")) tscDirs.push(dir);
    else fallback.push([dir, "typecheck"]);
  }
  if (want("lint") && scripts.lint !== undefined) {
    const words = scripts.lint.trim().split(/\s+/);
    if (words[0] === "eslint" && words.length > 1 && words.slice(1).every((w) => /^[\w./-]+$/.test(w) && !w.startsWith("-")) && resolvesLikeRoot(dir, "eslint")) {
      lintPaths.push(...words.slice(1).map((w) => relative(root, join(dir, w)) || "."));
    } else fallback.push([dir, "lint"]);
  }
}

const started = Date.now();
// ESLint runs in a child process alongside the type checker; its output goes
// to a file (this process is busy type-checking and would not drain a pipe).
const lintOut = lintPaths.length ? mkdtempSync(join(tmpdir(), "slmops-check-")) : undefined;
const lint = lintPaths.length
  ? runToFile(process.execPath, [join(dirname(rootRequire.resolve("eslint/package.json")), "bin", "eslint.js"), ...lintPaths], root, join(lintOut, "out"))
  : Promise.resolve(0);

let failed = [];
if (tscDirs.length) {
  const errors = await typecheck(tscDirs);
  failed.push(...errors.map((dir) => `typecheck ${relative(root, dir)}`));
  console.log(`» typecheck: ${tscDirs.length} packages in one process, ${errors.length ? `errors in ${errors.length}` : "no errors"} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}
const lintStatus = await lint;
if (lintPaths.length) {
  process.stdout.write(readFileSync(join(lintOut, "out"), "utf8"));
  rmSync(lintOut, { recursive: true, force: true });
  if (lintStatus !== 0) failed.push("lint");
  console.log(`» lint: ${lintPaths.length} paths in one ESLint process, ${lintStatus === 0 ? "no problems" : "problems found"} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}
for (const [dir, task] of fallback) {
  console.log(`» ${task} ${relative(root, dir)} (its own script)`);
  const status = await runToFile("npm", ["run", "--silent", task], dir);
  if (status !== 0) failed.push(`${task} ${relative(root, dir)}`);
}
if (failed.length) {
  console.error(`\ncheck failed: ${failed.join(", ")}`);
  process.exit(1);
}

/** Workspace package directories (pnpm-workspace.yaml's `packages:` list of `dir` and `dir/*`), with their scripts. */
function workspacePackages() {
  const yaml = readFileSync(join(root, "pnpm-workspace.yaml"), "utf8");
  const list = /^packages:\s*\n((?:[ \t]+-.*\n?)+)/m.exec(yaml);
  if (!list) throw new Error("pnpm-workspace.yaml: no packages list");
  const dirs = [];
  for (const line of list[1].split("\n")) {
    const pattern = /^\s+-\s*["']?([^"'#\s]+)["']?/.exec(line)?.[1];
    if (!pattern) continue;
    if (pattern.endsWith("/*")) {
      const parent = join(root, pattern.slice(0, -2));
      if (!existsSync(parent)) continue;
      for (const name of readdirSync(parent).sort()) dirs.push(join(parent, name));
    } else if (!pattern.includes("*")) dirs.push(join(root, pattern));
    else throw new Error(`pnpm-workspace.yaml: pattern ${pattern} is not supported by scripts/check.mjs`);
  }
  return dirs
    .filter((dir) => existsSync(join(dir, "package.json")))
    .map((dir) => ({ dir, scripts: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).scripts ?? {} }));
}

/** What `tsc -p tsconfig.json --noEmit` does in each directory; returns the directories with errors. */
async function typecheck(dirs) {
  const ts = rootRequire("typescript");
  const pretty = process.stdout.isTTY;
  // Parsed (and, once a program has bound them, bound) source files, shared by
  // the programs. The key holds everything a SourceFile depends on: its path,
  // the language version, module format and JSDoc mode the program asks for,
  // and the compiler options that affect parsing and binding.
  const shared = new Map();
  const affecting = ts.sourceFileAffectingCompilerOptions.map((o) => o.name);
  const withErrors = [];
  for (const dir of dirs) {
    const cwd = dir;
    const sys = { ...ts.sys, getCurrentDirectory: () => cwd };
    const formatHost = { getCurrentDirectory: () => root, getCanonicalFileName: (f) => f, getNewLine: () => ts.sys.newLine };
    let count = 0;
    const report = (diagnostic) => {
      if (diagnostic.category === ts.DiagnosticCategory.Error) count++;
      process.stdout.write(pretty ? ts.formatDiagnosticsWithColorAndContext([diagnostic], formatHost) : ts.formatDiagnostic(diagnostic, formatHost));
    };
    const config = ts.getParsedCommandLineOfConfigFile(join(dir, "tsconfig.json"), { noEmit: true }, { ...sys, onUnRecoverableConfigFileDiagnostic: report });
    if (!config) {
      withErrors.push(dir);
      continue;
    }
    const { fileNames, options, projectReferences } = config;
    const host = ts.createCompilerHost(options);
    host.getCurrentDirectory = () => cwd;
    host.jsDocParsingMode = ts.JSDocParsingMode.ParseForTypeErrors; // as tsc sets it
    const optionsKey = JSON.stringify(affecting.map((name) => options[name]));
    const read = host.getSourceFile;
    host.getSourceFile = (fileName, languageVersionOrOptions, onError, shouldCreate) => {
      const o = typeof languageVersionOrOptions === "object" ? languageVersionOrOptions : { languageVersion: languageVersionOrOptions };
      const key = `${fileName}\0${o.languageVersion}\0${o.impliedNodeFormat}\0${o.jsDocParsingMode ?? host.jsDocParsingMode}\0${optionsKey}`;
      let file = shared.get(key);
      if (file === undefined || shouldCreate) {
        file = read.call(host, fileName, languageVersionOrOptions, onError, shouldCreate);
        if (file) shared.set(key, file);
      }
      return file;
    };
    const program = ts.createProgram({
      rootNames: fileNames,
      options,
      projectReferences,
      host,
      configFileParsingDiagnostics: ts.getConfigFileParsingDiagnostics(config),
    });
    // tsc's exit status is non-zero when there is any diagnostic at all.
    const { diagnostics } = ts.emitFilesAndReportErrors(program, report);
    if (diagnostics.length > 0 || count > 0) withErrors.push(dir);
  }
  return withErrors;
}

/** Runs a command with its output going to a file (or inherited when none is given); resolves to its exit status. */
function runToFile(command, args, cwd, file) {
  return new Promise((resolve) => {
    const out = file ? openSync(file, "w") : "inherit";
    const child = spawn(command, args, { cwd, stdio: ["ignore", out, out], env: { ...process.env, FORCE_COLOR: process.stdout.isTTY ? "1" : "0" } });
    child.on("error", (error) => {
      console.error(`check: ${command}: ${error.message}`);
      resolve(1);
    });
    child.on("close", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}
