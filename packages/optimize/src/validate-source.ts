/**
 * The source model is checked before any pass runs, so a broken model is
 * refused with what is wrong and where instead of being turned into
 * variants: ONNX's structural rules that the passes rely on (a graph, every
 * node input defined, no cycle, one producer per value, declared opset
 * domains), tensor data that matches its shape, finite float weights, the
 * decoder convention for `kind: decoder`, and finally ONNX Runtime loading
 * the model — the arbiter of which operators exist.
 */
import { ConfigurationError } from "@slmops/diagnostics";
import type { ModelKind } from "@slmops/manifest";
import {
  DataLocation,
  DataType,
  InvalidModelError,
  dataTypeName,
  encodeModelWith,
  forEachGraph,
  forEachTensor,
  makeValueInfo,
  tensorElementCount,
  tensorRawBytes,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from "@slmops/onnx";
import { createSession, detectDecoder, ModelLoadError, type Session } from "@slmops/runtime";

export interface SourceCheckOptions {
  /** The manifest's `kind`; `decoder` requires the Optimum decoder inputs and outputs. */
  readonly kind?: ModelKind;
}

const DEFAULT_DOMAINS = new Set(["", "ai.onnx"]);

/**
 * Float weights at or above this size are given to ONNX Runtime as graph
 * inputs of the same type and shape instead of as data, so loading the model
 * to check it costs its structure, not its weights. Smaller tensors (shapes,
 * axes, scales) stay: some kernels require those to be constant.
 */
const SKELETON_THRESHOLD = 64 * 1024;

const FLOAT_TYPES = new Set<number>([DataType.FLOAT, DataType.FLOAT16, DataType.BFLOAT16, DataType.DOUBLE]);

/** Throws InvalidModelError (a ConfigurationError) on the first problem with the source model at `path`. */
export async function validateSourceModel(model: ModelProto, path: string, options: SourceCheckOptions = {}): Promise<void> {
  const fail = (problem: string, fix: string, cause?: unknown): never => {
    throw new InvalidModelError(`${path} is not a valid ONNX model: ${problem}; ${fix}`, cause === undefined ? undefined : { cause });
  };
  const graph = model.graph;
  if (!graph) return fail("it has no graph", "export the model again (an ONNX model holds one graph of nodes)");
  checkDomains(model, fail);
  let graphs = 0;
  forEachGraph(model, () => graphs++);
  const outer = graphs > 1 ? outerNames(model) : new Set<string>();
  forEachGraph(model, (g) => checkGraph(g, g === graph ? new Set() : outer, fail));
  checkTensors(model, fail);
  const session = await loadInRuntime(model, fail);
  try {
    if (options.kind === "decoder") checkDecoder(session, fail);
  } finally {
    await session.release();
  }
}

type Fail = (problem: string, fix: string, cause?: unknown) => never;

function nodeLabel(node: NodeProto, index: number): string {
  return `node ${node.name ? `"${node.name}"` : `#${index}`} (${node.domain ? `${node.domain}.` : ""}${node.opType ?? "?"})`;
}

function checkDomains(model: ModelProto, fail: Fail): void {
  const imported = new Set(model.opsetImport.map((o) => o.domain ?? ""));
  if (!model.opsetImport.some((o) => DEFAULT_DOMAINS.has(o.domain ?? ""))) {
    fail("it imports no version of the default ONNX operator set (opset_import for domain \"\")", "export the model again with an opset version");
  }
  const local = new Set(model.functions.map((f) => `${f.domain ?? ""}\u0000${f.name ?? ""}`));
  forEachGraph(model, (g) =>
    g.node.forEach((node, i) => {
      const domain = node.domain ?? "";
      if (DEFAULT_DOMAINS.has(domain) || imported.has(domain) || local.has(`${domain}\u0000${node.opType ?? ""}`)) return;
      fail(`${nodeLabel(node, i)} uses operator domain "${domain}", which the model does not import`, `add an opset_import for "${domain}" or correct the node's domain`);
    }),
  );
}

/** Every name the main graph defines, visible to subgraphs (If/Loop/Scan bodies). */
function outerNames(model: ModelProto): Set<string> {
  const names = new Set<string>();
  forEachGraph(model, (g) => {
    for (const i of g.input) if (i.name) names.add(i.name);
    for (const t of g.initializer) if (t.name) names.add(t.name);
    for (const n of g.node) for (const o of n.output) if (o) names.add(o);
  });
  return names;
}

/**
 * One graph: each value has one producer, every node input and graph output
 * is defined, and the nodes can be ordered so each runs after its inputs'
 * producers (ONNX Runtime sorts them, so the file's order may differ).
 */
function checkGraph(graph: GraphProto, outer: ReadonlySet<string>, fail: Fail): void {
  const where = graph.name ? ` in graph "${graph.name}"` : "";
  const defined = new Set<string>(outer);
  for (const i of graph.input) if (i.name) defined.add(i.name);
  for (const t of graph.initializer) if (t.name) defined.add(t.name);
  const producer = new Map<string, number>();
  graph.node.forEach((node, i) => {
    for (const o of node.output) {
      if (o === "") continue;
      const earlier = producer.get(o);
      if (earlier !== undefined || graph.input.some((v) => v.name === o)) {
        fail(
          `value "${o}"${where} is produced twice (by ${nodeLabel(node, i)} and ${earlier === undefined ? "a graph input" : nodeLabel(graph.node[earlier]!, earlier)})`,
          "each value must have one producer; rename one of them",
        );
      }
      producer.set(o, i);
    }
  });
  // Kahn's algorithm over producer → consumer edges.
  const pending = new Array<number>(graph.node.length).fill(0);
  const consumers: number[][] = graph.node.map(() => []);
  graph.node.forEach((node, i) => {
    for (const input of node.input) {
      if (input === "") continue; // an omitted optional input
      const from = producer.get(input);
      if (from !== undefined) {
        pending[i]!++;
        consumers[from]!.push(i);
      } else if (!defined.has(input)) {
        fail(
          `${nodeLabel(node, i)}${where} reads "${input}", which no graph input, initializer or node produces`,
          "correct the input's name or add the missing initializer",
        );
      }
    }
  });
  for (const o of graph.output) {
    if (o.name && !producer.has(o.name) && !defined.has(o.name)) {
      fail(`graph output "${o.name}"${where} is produced by no node, input or initializer`, "correct the output's name");
    }
  }
  const ready = pending.flatMap((n, i) => (n === 0 ? [i] : []));
  let done = 0;
  while (ready.length > 0) {
    const i = ready.pop()!;
    done++;
    for (const c of consumers[i]!) if (--pending[c]! === 0) ready.push(c);
  }
  if (done < graph.node.length) {
    const stuck = pending.flatMap((n, i) => (n > 0 ? [nodeLabel(graph.node[i]!, i)] : []));
    fail(
      `its graph${where} has a cycle: ${stuck.slice(0, 5).join(", ")}${stuck.length > 5 ? ` and ${stuck.length - 5} more` : ""} depend on each other's outputs`,
      "an ONNX graph must be acyclic (loops belong in a Loop node's body); export the model again",
    );
  }
}

/** Tensor data matches its shape; float weights are finite. Reads one tensor at a time. */
function checkTensors(model: ModelProto, fail: Fail): void {
  forEachTensor(model, (tensor) => {
    const dataType = tensor.dataType ?? 0;
    const name = tensor.name ? `tensor "${tensor.name}"` : "an unnamed tensor";
    if (dataType === DataType.STRING) {
      const n = tensorElementCount(tensor);
      if (BigInt(tensor.stringData.length) !== n) {
        fail(`${name} declares ${n} strings but holds ${tensor.stringData.length}`, "fix the tensor or export the model again");
      }
      return;
    }
    // External data was checked against its shape when the model was read; only floats need reading.
    if (tensor.dataLocation === DataLocation.EXTERNAL && !FLOAT_TYPES.has(dataType)) return;
    let bytes: Uint8Array;
    try {
      bytes = tensorRawBytes(tensor);
    } catch (error) {
      if (!(error instanceof ConfigurationError)) throw error;
      return fail(error.message, "the tensor's data must be dims × element size; fix the tensor or export the model again", error);
    }
    if (FLOAT_TYPES.has(dataType)) {
      const bad = firstNonFinite(bytes, dataType);
      if (bad) {
        fail(
          `${name} (${dataTypeName(dataType)} [${tensor.dims.join(", ")}]) holds ${bad.value} at element ${bad.index}`,
          "weights must be finite numbers; the training or export diverged — fix the weights and export the model again",
        );
      }
    }
  });
}

/** The first NaN or ±Inf in little-endian float bytes, found by exponent bits (all ones). */
function firstNonFinite(bytes: Uint8Array, dataType: number): { index: number; value: string } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const describe = (nan: boolean, negative: boolean): string => (nan ? "NaN" : negative ? "-Infinity" : "Infinity");
  switch (dataType) {
    case DataType.FLOAT:
      for (let i = 0; i * 4 < bytes.byteLength; i++) {
        const bits = view.getUint32(4 * i, true);
        if ((bits & 0x7f800000) === 0x7f800000) return { index: i, value: describe((bits & 0x7fffff) !== 0, bits >>> 31 === 1) };
      }
      return undefined;
    case DataType.DOUBLE:
      for (let i = 0; i * 8 < bytes.byteLength; i++) {
        const v = view.getFloat64(8 * i, true);
        if (!Number.isFinite(v)) return { index: i, value: describe(Number.isNaN(v), v < 0) };
      }
      return undefined;
    default: {
      // FLOAT16: 5 exponent bits; BFLOAT16: 8.
      const [exponent, mantissa] = dataType === DataType.FLOAT16 ? [0x7c00, 0x03ff] : [0x7f80, 0x007f];
      for (let i = 0; i * 2 < bytes.byteLength; i++) {
        const bits = view.getUint16(2 * i, true);
        if ((bits & exponent) === exponent) return { index: i, value: describe((bits & mantissa) !== 0, bits >>> 15 === 1) };
      }
      return undefined;
    }
  }
}

/**
 * Opens the model's structure in ONNX Runtime with optimizations off: large
 * float weights become graph inputs (see SKELETON_THRESHOLD), the rest is
 * given inline, so the check costs little memory even for a large model.
 */
async function loadInRuntime(model: ModelProto, fail: Fail): Promise<Session> {
  const graph = model.graph!;
  const inputs = new Set(graph.input.map((i) => i.name));
  const kept: TensorProto[] = [];
  const added: ValueInfoProto[] = [];
  for (const t of graph.initializer) {
    const bytes = tensorByteLengthOrZero(t);
    if (!FLOAT_TYPES.has(t.dataType ?? 0) || bytes < SKELETON_THRESHOLD) {
      kept.push(t);
      continue;
    }
    // An initializer that is also a graph input is already declared there.
    if (!inputs.has(t.name)) added.push(makeValueInfo(t.name ?? "", (t.dataType ?? 0) as DataType, t.dims));
  }
  const skeleton: ModelProto = { ...model, graph: { ...graph, initializer: kept, input: [...graph.input, ...added] } };
  // Tensors still external (small ones, subgraph constants) are given inline.
  const bytes = encodeModelWith(skeleton, (t) =>
    t.dataLocation === DataLocation.EXTERNAL ? { ...t, rawData: tensorRawBytes(t), dataLocation: DataLocation.DEFAULT, externalData: [] } : t,
  );
  try {
    return await createSession(bytes, { graphOptimizationLevel: "disabled", intraOpThreads: 1, interOpThreads: 1 });
  } catch (error) {
    if (!(error instanceof ModelLoadError)) throw error;
    return fail(
      `ONNX Runtime cannot load it: ${error.reason}`,
      "check that every operator exists in its declared opset version and its inputs have the types the operator takes, or export the model again",
      error,
    );
  }
}

function tensorByteLengthOrZero(t: TensorProto): number {
  if (t.dataLocation === DataLocation.EXTERNAL) {
    const length = t.externalData.find((e) => e.key === "length")?.value;
    if (length !== undefined) return Number(length);
  }
  return t.rawData?.byteLength ?? 0;
}

function checkDecoder(session: Session, fail: Fail): void {
  let layout;
  try {
    layout = detectDecoder(session);
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    return fail(error.message, "a decoder follows the Optimum export convention (SPEC: ONNX conventions)", error);
  }
  if (!layout) {
    fail(
      "it is declared `kind: decoder` but lacks the Optimum decoder inputs (input_ids, past_key_values.{i}.key|value) and outputs (logits, present.{i}.key|value)",
      "export it with its KV cache (optimum-cli export onnx --task text-generation-with-past), or declare its `kind` as `encoder` or `generic`",
    );
  }
}
