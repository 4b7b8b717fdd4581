// How long making a model takes, against the time ONNX Runtime takes to open
// the same file (measured in the same run), and the maker's peak memory
// against the model's size. Each preset runs in its own child process so its
// peak resident set is its own.
//
//   node bench/make-model.bench.mjs                 all presets
//   SLMOPS_BENCH_PRESETS=nano,story-lm node bench/… some of them (story-lm: the
//                                                    example's nano, untied, fit: bigram)
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const self = fileURLToPath(import.meta.url);

/** Named option sets: the presets, and the example project's model. */
const CASES = {
  nano: { preset: "nano" },
  tiny: { preset: "tiny" },
  small: { preset: "small" },
  medium: { preset: "medium" },
  large: { preset: "large" },
  "story-lm": { preset: "nano", tied: false, fit: "bigram" },
};

async function one(name) {
  const options = CASES[name];
  if (!options) throw new Error(`no bench case ${name}; use one of ${Object.keys(CASES).join(", ")}`);
  const { makeModel, resolveConfig, parameterCount, trainByteLevelBpe, trainingCorpus, tokenizerJson, writeModelProject } =
    await import("../dist/index.js");
  const { encodeModel } = await import("@slmops/onnx");
  const { createSession } = await import("@slmops/runtime");
  const config = resolveConfig(options);
  const dir = await mkdtemp(join(tmpdir(), "slmops-make-bench-"));
  try {
    // The whole project written as the CLI does; the peak resident set is read right after it.
    let t = performance.now();
    const written = await writeModelProject(dir, options);
    const projectMs = performance.now() - t;
    const makerRss = process.resourceUsage().maxRSS * 1024;
    // Then each phase alone, in memory.
    t = performance.now();
    const model = makeModel(config);
    const weightsMs = performance.now() - t;
    t = performance.now();
    const bytes = encodeModel(model);
    const encodeMs = performance.now() - t;
    t = performance.now();
    tokenizerJson(trainByteLevelBpe(trainingCorpus(config.seed), config.vocab));
    const tokenizerMs = performance.now() - t;
    t = performance.now();
    const session = await createSession(written.paths.model);
    const sessionMs = performance.now() - t;
    await session.release();
    const fileBytes = (await stat(written.paths.model)).size;
    return { preset: name, parameters: parameterCount(config), fileBytes, encodedBytes: bytes.byteLength, weightsMs, encodeMs, tokenizerMs, projectMs, sessionMs, makerRss };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--one") {
  process.stdout.write(JSON.stringify(await one(process.argv[3])) + "\n");
} else {
  const presets = (process.env.SLMOPS_BENCH_PRESETS ?? Object.keys(CASES).join(",")).split(",").filter(Boolean);
  const rows = [];
  for (const preset of presets) {
    const child = spawnSync(process.execPath, ["--max-old-space-size=8192", self, "--one", preset], { encoding: "utf8", maxBuffer: 1 << 20 });
    if (child.status !== 0) {
      console.error(child.stderr);
      process.exit(1);
    }
    rows.push(JSON.parse(child.stdout.trim().split("\n").at(-1)));
  }
  const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
  const ms = (v) => `${v.toFixed(0)} ms`;
  console.log(`Node ${process.version}, ${process.platform}/${process.arch}`);
  console.log("| preset | parameters | model.onnx | weights | encode | tokenizer | whole project (written) | ORT session creation | project / session | maker peak RSS | peak RSS / model.onnx |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of rows) {
    console.log(
      `| ${r.preset} | ${r.parameters.toLocaleString("en-US")} | ${mb(r.fileBytes)} | ${ms(r.weightsMs)} | ${ms(r.encodeMs)} | ${ms(r.tokenizerMs)} | ${ms(r.projectMs)} | ${ms(r.sessionMs)} | ${(r.projectMs / r.sessionMs).toFixed(2)}× | ${mb(r.makerRss)} | ${(r.makerRss / r.fileBytes).toFixed(2)}× |`,
    );
  }
}
