// Peak memory of reading and rewriting a model whose external weights exceed 2 GiB.
//
// Builds a synthetic model (~2.5 GB of float weights in an external data file,
// size set by SLMOPS_BENCH_ONNX_BYTES) in a temp dir, then runs each step in
// a fresh child process and reports its peak resident set
// (process.resourceUsage().maxRSS) against the weight bytes:
//   baseline   read every tensor's bytes into memory once (the floor: 1× weights)
//   copy       fs.copyFile of the data file + fsync (time baseline: the same bytes made durable)
//   load       readModel (weights loaded) → writeModel with external data
//   lazy       readModel (externalData: "lazy") → writeModel, streaming per tensor
//
// Usage: pnpm --filter @slmops/onnx bench   (after a build)
import { execFileSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { closeSync, copyFileSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DataLocation, DataType, encodeModel, makeGraph, makeModel, makeNode, makeValueInfo, readModel, writeModel } from "../dist/index.js";

const TENSOR_BYTES = 64 * 1024 * 1024;

function modelOf(count) {
  const initializers = [];
  for (let i = 0; i < count; i++) {
    initializers.push({
      name: `w${i}`,
      dataType: DataType.FLOAT,
      dims: [TENSOR_BYTES / 4 / 1024, 1024],
      floatData: [],
      int32Data: [],
      stringData: [],
      int64Data: [],
      doubleData: [],
      uint64Data: [],
      metadataProps: [],
      dataLocation: DataLocation.EXTERNAL,
      externalData: [
        { key: "location", value: "model.onnx.data" },
        { key: "offset", value: String(i * TENSOR_BYTES) },
        { key: "length", value: String(TENSOR_BYTES) },
      ],
    });
  }
  const graph = makeGraph(
    [makeNode("Identity", ["x"], ["y"])],
    "synthetic",
    [makeValueInfo("x", DataType.FLOAT, [1])],
    [makeValueInfo("y", DataType.FLOAT, [1])],
    initializers,
  );
  return makeModel({ graph });
}

async function child(mode, dir) {
  const source = join(dir, "src", "model.onnx");
  const out = join(dir, `out-${mode}`);
  const started = process.hrtime.bigint();
  if (mode === "baseline") {
    const size = statSync(join(dir, "src", "model.onnx.data")).size;
    const fd = openSync(join(dir, "src", "model.onnx.data"), "r");
    const held = [];
    for (let offset = 0; offset < size; offset += TENSOR_BYTES) {
      const buf = new Uint8Array(TENSOR_BYTES);
      readSync(fd, buf, 0, TENSOR_BYTES, offset);
      held.push(buf);
    }
    closeSync(fd);
    if (held.length === 0) throw new Error("no data");
  } else if (mode === "copy") {
    copyFileSync(join(dir, "src", "model.onnx.data"), join(dir, "copy.data"));
    const copied = openSync(join(dir, "copy.data"), "r+");
    fsyncSync(copied);
    closeSync(copied);
  } else {
    const model = await readModel(source, { externalData: mode === "lazy" ? "lazy" : "load" });
    mkdirSync(out, { recursive: true });
    await writeModel(join(out, "model.onnx"), model, { externalData: { threshold: 1024 } });
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(JSON.stringify({ mode, seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
}

async function main() {
  const target = Number(process.env.SLMOPS_BENCH_ONNX_BYTES ?? 2.5e9);
  const count = Math.max(1, Math.round(target / TENSOR_BYTES));
  const weightBytes = count * TENSOR_BYTES;
  const dir = mkdtempSync(join(tmpdir(), "slmops-onnx-bench-"));
  try {
    mkdirSync(join(dir, "src"), { recursive: true });
    // The data file, written in 64 MiB chunks of random bytes.
    const fd = openSync(join(dir, "src", "model.onnx.data"), "w");
    const chunk = new Uint8Array(TENSOR_BYTES);
    for (let i = 0; i < count; i++) {
      randomFillSync(chunk);
      writeSync(fd, chunk, 0, chunk.length, i * TENSOR_BYTES);
    }
    closeSync(fd);
    writeFileSync(join(dir, "src", "model.onnx"), encodeModel(modelOf(count)));

    const self = fileURLToPath(import.meta.url);
    const results = {};
    for (const mode of ["baseline", "copy", "load", "lazy"]) {
      const output = execFileSync(process.execPath, [self, "child", mode, dir], { maxBuffer: 1 << 20 });
      results[mode] = JSON.parse(output.toString());
    }
    // The rewritten models hold the same bytes as the source.
    for (const mode of ["load", "lazy"]) {
      const written = statSync(join(dir, `out-${mode}`, "model.onnx.data")).size;
      if (written !== weightBytes) throw new Error(`${mode}: wrote ${written} data bytes, expected ${weightBytes}`);
      const check = await readModel(join(dir, `out-${mode}`, "model.onnx"), { externalData: "lazy" });
      if (check.graph.initializer.length !== count) throw new Error(`${mode}: lost tensors`);
    }
    const gib = (b) => (b / 2 ** 30).toFixed(2);
    const base = results.baseline.maxRssBytes;
    console.log(`external weights: ${gib(weightBytes)} GiB in ${count} tensors of 64 MiB (node ${process.version})`);
    console.log("| step | peak RSS (GiB) | peak RSS / weight bytes | peak RSS / baseline | seconds | time / file copy |");
    console.log("| --- | --- | --- | --- | --- | --- |");
    for (const mode of ["baseline", "copy", "load", "lazy"]) {
      const r = results[mode];
      console.log(
        `| ${mode} | ${gib(r.maxRssBytes)} | ${(r.maxRssBytes / weightBytes).toFixed(2)} | ${(r.maxRssBytes / base).toFixed(2)} | ${r.seconds.toFixed(1)} | ${(r.seconds / results.copy.seconds).toFixed(2)} |`,
      );
    }
    for (const mode of ["load", "lazy"]) {
      if (results[mode].maxRssBytes > 2 * weightBytes) {
        throw new Error(`${mode}: peak RSS ${results[mode].maxRssBytes} exceeds twice the weight bytes ${weightBytes}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "child") await child(process.argv[3], process.argv[4]);
else await main();
