/**
 * Against a suite no one here wrote: the ONNX backend test data shipped by
 * Debian's `libonnx-testdata` (node, simple and PyTorch-exported models, each
 * with input_*.pb and expected output_*.pb).
 *
 * 1. Every model round-trips: decode → encode → decode gives a deep-equal
 *    ModelProto.
 * 2. Where ONNX Runtime runs the original model to the expected outputs, it
 *    must run the re-encoded model to the expected outputs too, within the
 *    ONNX backend tests' default tolerance (rtol 1e-3, atol 1e-7).
 *
 * The data is found at $SLMOPS_ONNX_TESTDATA or Debian's install location.
 * When it is missing the suite fails in CI (CI=true) and is skipped locally.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createSession, type ElementType, type TensorData, type TensorValues } from "@slmops/runtime";
import { describe, expect, it } from "vitest";
import {
  DataType,
  decodeModel,
  decodeTensor,
  encodeModel,
  float16ToFloat32,
  tensorRawBytes,
  tensorToArray,
  type ModelProto,
  type TensorProto,
  type ValueInfoProto,
} from "./index.js";

const DATA_ROOT = process.env["SLMOPS_ONNX_TESTDATA"] ?? "/usr/share/libonnx-testdata/data";
const SUITES = ["node", "simple", "pytorch-converted", "pytorch-operator"] as const;
const INSTALL = "sudo apt-get update && sudo apt-get install -y libonnx-testdata";
const available = existsSync(join(DATA_ROOT, "node"));
const inCI = process.env["CI"] === "true";
const RTOL = 1e-3;
const ATOL = 1e-7;

const RUNTIME_TYPES: Readonly<Record<number, ElementType>> = {
  [DataType.FLOAT]: "float32",
  [DataType.FLOAT16]: "float16",
  [DataType.DOUBLE]: "float64",
  [DataType.INT8]: "int8",
  [DataType.UINT8]: "uint8",
  [DataType.INT16]: "int16",
  [DataType.UINT16]: "uint16",
  [DataType.INT32]: "int32",
  [DataType.UINT32]: "uint32",
  [DataType.INT64]: "int64",
  [DataType.UINT64]: "uint64",
  [DataType.BOOL]: "bool",
  [DataType.STRING]: "string",
};

interface Case {
  readonly suite: string;
  readonly name: string;
  readonly dir: string;
}

function cases(suite: string): Case[] {
  const root = join(DATA_ROOT, suite);
  return readdirSync(root)
    .sort()
    .filter((name) => existsSync(join(root, name, "model.onnx")))
    .map((name) => ({ suite, name, dir: join(root, name) }));
}

function dataSets(dir: string): { inputs: string[]; outputs: string[] }[] {
  const byIndex = (files: string[], prefix: string): string[] =>
    files
      .filter((f) => f.startsWith(prefix) && f.endsWith(".pb"))
      .sort((a, b) => Number(a.slice(prefix.length, -3)) - Number(b.slice(prefix.length, -3)));
  return readdirSync(dir)
    .filter((d) => d.startsWith("test_data_set_"))
    .sort()
    .map((d) => {
      const files = readdirSync(join(dir, d));
      return {
        inputs: byIndex(files, "input_").map((f) => join(dir, d, f)),
        outputs: byIndex(files, "output_").map((f) => join(dir, d, f)),
      };
    });
}

/** Why a value cannot go through @slmops/runtime, or undefined when it can. */
function unsupported(info: ValueInfoProto): string | undefined {
  const tensorType = info.type?.tensorType;
  if (!tensorType) return `non-tensor value "${info.name}" (sequence, map or optional)`;
  if (RUNTIME_TYPES[tensorType.elemType ?? 0] === undefined) return `element type ${tensorType.elemType} of "${info.name}"`;
  return undefined;
}

function toRuntime(tensor: TensorProto): TensorData {
  const type = RUNTIME_TYPES[tensor.dataType ?? 0]!;
  let data: TensorValues;
  if (type === "float16") {
    const raw = tensorRawBytes(tensor);
    data = new Uint16Array(raw.slice().buffer);
  } else {
    data = tensorToArray(tensor) as TensorValues;
  }
  return { type, dims: tensor.dims, data };
}

function asComparable(type: string, data: TensorValues | readonly string[]): (number | bigint | string)[] {
  if (type === "float16") return Array.from(data as Uint16Array, float16ToFloat32);
  return Array.from(data as ArrayLike<number | bigint | string>);
}

/** undefined when `actual` matches `expected` within the tolerance, else the first difference. */
function compare(expected: TensorProto, actual: TensorData): string | undefined {
  if (actual.dims.length !== expected.dims.length || actual.dims.some((d, i) => d !== expected.dims[i])) {
    return `shape [${actual.dims.join(",")}] instead of [${expected.dims.join(",")}]`;
  }
  const want = Array.from(tensorToArray(expected) as ArrayLike<number | bigint | string>);
  const got = asComparable(actual.type, actual.data);
  if (want.length !== got.length) return `${got.length} values instead of ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (typeof w === "number" && typeof g === "number") {
      if (Number.isNaN(w) && Number.isNaN(g)) continue;
      if (w === g) continue;
      if (Math.abs(g - w) <= ATOL + RTOL * Math.abs(w)) continue;
      return `value ${i}: ${g} instead of ${w}`;
    }
    if (String(w) !== String(g)) return `value ${i}: ${String(g)} instead of ${String(w)}`;
  }
  return undefined;
}

type RunOutcome = { ok: true } | { ok: false; reason: string };

async function runAll(model: string | Uint8Array, graph: ModelProto, sets: ReturnType<typeof dataSets>): Promise<RunOutcome> {
  const initializers = new Set(graph.graph!.initializer.map((t) => t.name));
  const inputs = graph.graph!.input.filter((i) => !initializers.has(i.name));
  const outputs = graph.graph!.output;
  let session;
  try {
    session = await createSession(model);
  } catch (error) {
    return { ok: false, reason: `load: ${(error as Error).message.split("\n")[0]}` };
  }
  try {
    for (const set of sets) {
      const feeds: Record<string, TensorData> = {};
      set.inputs.forEach((file, i) => {
        feeds[inputs[i]!.name!] = toRuntime(decodeTensor(readFileSync(file), { name: file }));
      });
      let results: Record<string, TensorData>;
      try {
        results = await session.run(feeds);
      } catch (error) {
        return { ok: false, reason: `run: ${(error as Error).message.split("\n")[0]}` };
      }
      for (let i = 0; i < set.outputs.length; i++) {
        const name = outputs[i]!.name!;
        const actual = results[name];
        if (!actual) return { ok: false, reason: `no output "${name}"` };
        const difference = compare(decodeTensor(readFileSync(set.outputs[i]!)), actual);
        if (difference) return { ok: false, reason: `output "${name}" ${difference}` };
      }
    }
    return { ok: true };
  } finally {
    await session.release();
  }
}

describe("libonnx-testdata (ONNX backend test models)", () => {
  if (!available) {
    const message = `Debian's libonnx-testdata is not installed (looked in ${DATA_ROOT}); install it with: ${INSTALL}`;
    if (inCI) {
      it("is installed", () => {
        throw new Error(message);
      });
    } else {
      it.skip(message, () => {});
      console.warn(`skipped: ${message}`);
    }
    return;
  }

  it("every model round-trips through decode → encode → decode with the same meaning", () => {
    const counts = { models: 0, roundTripped: 0, byteIdentical: 0 };
    const failures: string[] = [];
    for (const suite of SUITES) {
      for (const c of cases(suite)) {
        counts.models++;
        const original = readFileSync(join(c.dir, "model.onnx"));
        try {
          const decoded = decodeModel(original, { name: `${c.suite}/${c.name}/model.onnx` });
          const encoded = encodeModel(decoded);
          const again = decodeModel(encoded);
          expect(again).toEqual(decoded);
          expect(encodeModel(again)).toEqual(encoded);
          counts.roundTripped++;
          if (Buffer.compare(Buffer.from(encoded), original) === 0) counts.byteIdentical++;
        } catch (error) {
          failures.push(`${c.suite}/${c.name}: ${(error as Error).message.split("\n")[0]}`);
        }
      }
    }
    console.log(
      `libonnx-testdata round trip: ${counts.models} models, ${counts.roundTripped} round-tripped ` +
        `(${counts.byteIdentical} byte-identical to the original file), ${failures.length} failed`,
    );
    expect(failures).toEqual([]);
    expect(counts.models).toBeGreaterThan(1000);
  }, 600_000);

  it("re-encoded models give ONNX Runtime the expected outputs wherever it supports the model", async () => {
    const counts = { models: 0, run: 0 };
    const skipped = new Map<string, string[]>();
    const failures: string[] = [];
    const skip = (category: string, what: string): void => {
      skipped.set(category, [...(skipped.get(category) ?? []), what]);
    };
    for (const suite of SUITES) {
      for (const c of cases(suite)) {
        counts.models++;
        const id = `${c.suite}/${c.name}`;
        const original = readFileSync(join(c.dir, "model.onnx"));
        const model = decodeModel(original, { name: `${id}/model.onnx` });
        const reencoded = encodeModel(model);
        const sets = dataSets(c.dir);
        if (sets.length === 0) {
          skip("no test data set", id);
          continue;
        }
        const initializers = new Set(model.graph!.initializer.map((t) => t.name));
        const why = [...model.graph!.input.filter((i) => !initializers.has(i.name)), ...model.graph!.output]
          .map(unsupported)
          .find((r) => r !== undefined);
        if (why) {
          skip("value type not supported by @slmops/runtime", `${id} (${why})`);
          continue;
        }
        const baseline = await runAll(new Uint8Array(original), model, sets);
        if (!baseline.ok) {
          const category = baseline.reason.startsWith("load")
            ? "ONNX Runtime cannot load the original model"
            : baseline.reason.startsWith("run")
              ? "ONNX Runtime cannot run the original model"
              : "ONNX Runtime's outputs on the original model differ from the expected ones";
          skip(category, `${id} (${baseline.reason})`);
          continue;
        }
        const outcome = await runAll(reencoded, model, sets);
        if (outcome.ok) counts.run++;
        else failures.push(`${id}: ${outcome.reason}`);
      }
    }
    const skippedCount = [...skipped.values()].reduce((n, l) => n + l.length, 0);
    const lines = [
      `libonnx-testdata in ONNX Runtime: ${counts.models} models, ${counts.run} re-encoded models run to the expected outputs, ` +
        `${failures.length} failed, ${skippedCount} skipped:`,
      ...[...skipped].map(([reason, list]) => `  ${list.length} — ${reason}: ${list.slice(0, 6).join(", ")}${list.length > 6 ? ", …" : ""}`),
    ];
    console.log(lines.join("\n"));
    expect(failures).toEqual([]);
    expect(counts.run).toBeGreaterThan(counts.models / 2);
  }, 1_200_000);
});
