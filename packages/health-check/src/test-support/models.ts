/**
 * Real model files for the tests: the maker's Llama-style decoder (nano
 * preset, seeded), its int8 and int4 variants built by the optimizer, an
 * encoder-like generic model, and a copy of a model with some of its weight
 * bytes overwritten in place.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PRESETS, makeModel } from "@slmops/model-maker";
import { DataType, decodeModel, encodeModel, makeGraph, makeModel as makeOnnxModel, makeNode, makeTensor, makeValueInfo } from "@slmops/onnx";
import { optimizeModel } from "@slmops/optimize";

/** The maker's nano decoder (vocab 1024, 4 layers) made from `seed`, at `dir/model.onnx`. */
export async function makerDecoder(dir: string, seed = 1234): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, "model.onnx");
  await writeFile(path, encodeModel(makeModel({ ...PRESETS.nano, seed })));
  return path;
}

export const INT8 = [{ quantize: { weights: "int8" } }];
export const INT4 = [{ quantize: { weights: "int4", "block-size": 32 } }];

/** A variant of `source` built by the optimizer into `dir`; its model's path. */
export async function variant(source: string, dir: string, passes: readonly unknown[]): Promise<string> {
  const record = await optimizeModel({ source, passes, outDir: dir, kind: "decoder" });
  return record.output.path;
}

function seededFloats(seed: number, count: number, scale: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return ((s / 4294967296) * 2 - 1) * scale;
  });
}

/**
 * An encoder-like model: input_ids and attention_mask [batch, sequence] →
 * last_hidden_state = tanh(embed[input_ids] · mask · W) [batch, sequence, 16]
 * and label = argmax over the hidden dimension [batch, sequence] (int64).
 */
export async function encoderModel(dir: string, seed = 1): Promise<string> {
  const vocab = 128;
  const hidden = 16;
  const model = makeOnnxModel({
    graph: makeGraph(
      [
        makeNode("Gather", ["embed", "input_ids"], ["tok"], { axis: 0 }),
        makeNode("Cast", ["attention_mask"], ["mask_f"], { to: DataType.FLOAT }),
        makeNode("Unsqueeze", ["mask_f", "last_axis"], ["mask_3d"]),
        makeNode("Mul", ["tok", "mask_3d"], ["masked"]),
        makeNode("MatMul", ["masked", "W"], ["projected"]),
        makeNode("Tanh", ["projected"], ["last_hidden_state"]),
        makeNode("ArgMax", ["last_hidden_state"], ["label"], { axis: -1, keepdims: 0 }),
      ],
      "encoder",
      [makeValueInfo("input_ids", DataType.INT64, ["batch", "sequence"]), makeValueInfo("attention_mask", DataType.INT64, ["batch", "sequence"])],
      [makeValueInfo("last_hidden_state", DataType.FLOAT, ["batch", "sequence", hidden]), makeValueInfo("label", DataType.INT64, ["batch", "sequence"])],
      [
        makeTensor("embed", DataType.FLOAT, [vocab, hidden], seededFloats(seed, vocab * hidden, 1)),
        makeTensor("W", DataType.FLOAT, [hidden, hidden], seededFloats(seed + 1000, hidden * hidden, 0.5)),
        makeTensor("last_axis", DataType.INT64, [1], [-1]),
      ],
    ),
    opsetImports: [{ domain: "", version: 17 }],
  });
  await mkdir(dir, { recursive: true });
  const path = join(dir, "model.onnx");
  await writeFile(path, encodeModel(model));
  return path;
}

/**
 * A copy of the model at `path` whose largest initializer of `dataType`
 * has its bytes overwritten in place with seeded noise, as bit rot or a bad
 * write would leave it: the file still parses and loads (with packed int4
 * or int8 codes, every byte is a valid weight), its weights are not the ones.
 */
export async function corruptLargestWeight(path: string, out: string, dataType: DataType): Promise<string> {
  const bytes = await readFile(path);
  const model = decodeModel(new Uint8Array(bytes));
  const largest = [...(model.graph?.initializer ?? [])]
    .filter((t) => t.dataType === dataType && t.rawData !== undefined && t.rawData.length >= 64)
    .sort((a, b) => (b.rawData?.length ?? 0) - (a.rawData?.length ?? 0))[0];
  if (!largest?.rawData) throw new Error(`${path} has no raw initializer to corrupt`);
  const at = bytes.indexOf(Buffer.from(largest.rawData));
  if (at < 0) throw new Error(`the bytes of ${largest.name} are not found in ${path}`);
  const noise = seededFloats(77, largest.rawData.length, 1);
  for (let i = 0; i < largest.rawData.length; i++) bytes[at + i] = Math.floor((noise[i]! + 1) * 127.5) & 0xff;
  await writeFile(out, bytes);
  return out;
}

/** Y = A · W, A float32 [M, 8] with M symbolic, W [8, 4] from `seed`. */
export async function matmulModel(dir: string, seed = 1): Promise<string> {
  const model = makeOnnxModel({
    graph: makeGraph(
      [makeNode("MatMul", ["A", "W"], ["Y"])],
      "matmul",
      [makeValueInfo("A", DataType.FLOAT, ["M", 8])],
      [makeValueInfo("Y", DataType.FLOAT, ["M", 4])],
      [makeTensor("W", DataType.FLOAT, [8, 4], seededFloats(seed, 32, 1))],
    ),
    opsetImports: [{ domain: "", version: 17 }],
  });
  await mkdir(dir, { recursive: true });
  const path = join(dir, "model.onnx");
  await writeFile(path, encodeModel(model));
  return path;
}
