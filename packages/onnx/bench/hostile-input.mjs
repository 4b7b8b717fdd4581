// Peak memory and time for readModel to refuse the largest hostile model files.
//
// Each input is written to a temp dir, then read in a fresh child process
// that reports its peak resident set (process.resourceUsage().maxRSS) and
// the wall time of readModel from call to refusal. "baseline" is the same
// child reading nothing: the cost of Node and the module alone.
//
//   nodes-10M    20 MB: ten million empty NodeProtos (decoded: ~5 GB)
//   nodes-3M     6 MB: three million empty NodeProtos
//   sparse-2GB   2,000,000,000-byte sparse file of zeros (under the 2 GiB limit: read, then refused)
//   sparse-2GiB  2^31-byte sparse file (over the limit: refused by its size)
//   length-2^40  7 bytes: ModelProto.graph declaring 2^40 bytes
//   length-20MB  20 MB: a graph field declaring 2^31 − 1 bytes over 20 MB of nodes
//
// Usage: pnpm --filter @slmops/onnx bench:hostile   (after a build)
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, ftruncateSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));

function varint(value) {
  const out = [];
  let v = value;
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** ModelProto.graph holding `count` empty nodes; `declared` overrides the graph's length field. */
function emptyNodes(count, declared = 2 * count) {
  const header = [0x3a, ...varint(declared)];
  const bytes = new Uint8Array(header.length + 2 * count);
  bytes.set(header);
  for (let i = header.length; i < bytes.length; i += 2) bytes[i] = 0x0a;
  return bytes;
}

function sparse(path, size) {
  const fd = openSync(path, "w");
  ftruncateSync(fd, size);
  closeSync(fd);
}

const child = `
const { readModel } = await import(${JSON.stringify(dist)});
const path = process.argv[1];
const t0 = performance.now();
let outcome = "read";
if (path !== "") {
  try { await readModel(path); } catch (e) { outcome = e.constructor.name + ": " + e.message; }
}
const ms = performance.now() - t0;
console.log(JSON.stringify({ ms, maxRss: process.resourceUsage().maxRSS * 1024, outcome }));
`;

function measure(path) {
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", child, path], { encoding: "utf8", maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split("\n").at(-1));
}

const dir = mkdtempSync(join(tmpdir(), "slmops-onnx-hostile-"));
try {
  const inputs = [
    ["baseline", ""],
    ["nodes-10M", () => writeFileSync(join(dir, "nodes-10M.onnx"), emptyNodes(10_000_000))],
    ["nodes-3M", () => writeFileSync(join(dir, "nodes-3M.onnx"), emptyNodes(3_000_000))],
    ["sparse-2GB", () => sparse(join(dir, "sparse-2GB.onnx"), 2_000_000_000)],
    ["sparse-2GiB", () => sparse(join(dir, "sparse-2GiB.onnx"), 2 ** 31)],
    ["length-2^40", () => writeFileSync(join(dir, "length-2^40.onnx"), new Uint8Array([0x3a, ...varint(2 ** 40)]))],
    ["length-20MB", () => writeFileSync(join(dir, "length-20MB.onnx"), emptyNodes(10_000_000, 2 ** 31 - 1))],
  ];
  const mib = (b) => (b / 2 ** 20).toFixed(0);
  console.log("input          bytes          peak RSS   time      outcome");
  let baseline = 0;
  for (const [name, make] of inputs) {
    const path = make === "" ? "" : join(dir, `${name}.onnx`);
    if (typeof make === "function") make();
    const { ms, maxRss, outcome } = measure(path);
    if (name === "baseline") baseline = maxRss;
    const size = path === "" ? 0 : Number(execFileSync("stat", ["-c", "%s", path], { encoding: "utf8" }));
    console.log(
      `${name.padEnd(14)} ${String(size).padEnd(14)} ${`${mib(maxRss)} MiB`.padEnd(10)} ${`${ms.toFixed(0)} ms`.padEnd(9)} ${outcome.slice(0, 160).replaceAll(dir + "/", "")}`,
    );
    if (path !== "") rmSync(path, { force: true });
  }
  console.log(`(baseline peak RSS: Node and the module alone, ${mib(baseline)} MiB)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
