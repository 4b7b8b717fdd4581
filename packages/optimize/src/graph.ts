/**
 * Small graph-editing helpers shared by the passes: lookups by name, unique
 * names, opset imports and node construction.
 */
import { makeNode, type AttributeValue, type GraphProto, type ModelProto, type NodeProto, type TensorProto } from "@slmops/onnx";

export const MS_DOMAIN = "com.microsoft";

/** The graph of a model, or an error naming what is missing. */
export function graphOf(model: ModelProto): GraphProto {
  if (!model.graph) throw new Error("the model has no graph");
  return model.graph;
}

export function initializerMap(graph: GraphProto): Map<string, TensorProto> {
  const map = new Map<string, TensorProto>();
  for (const t of graph.initializer) if (t.name) map.set(t.name, t);
  return map;
}

/** How many node inputs (and graph outputs) use each value name, including in subgraphs. */
export function useCounts(graph: GraphProto): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (name: string) => {
    if (name !== "") counts.set(name, (counts.get(name) ?? 0) + 1);
  };
  for (const g of allGraphs(graph)) {
    for (const node of g.node) node.input.forEach(add);
    for (const o of g.output) if (o.name) add(o.name);
  }
  return counts;
}

/**
 * The graph and every graph nested in it (the branches of an `If`, the
 * bodies of `Loop` and `Scan`), outermost first. A nested graph reads the
 * values of the graphs around it, such as the weights a merged decoder's two
 * branches share from its main graph.
 */
export function allGraphs(graph: GraphProto): GraphProto[] {
  const out: GraphProto[] = [];
  const visit = (g: GraphProto) => {
    out.push(g);
    for (const node of g.node) {
      for (const a of node.attribute) {
        if (a.g) visit(a.g);
        a.graphs.forEach(visit);
      }
    }
  };
  visit(graph);
  return out;
}

/** A MatMul of a graph or of a graph nested in it, with the initializer its B input names, where there is one. */
export interface MatMulSite {
  readonly node: NodeProto;
  /** The graph the node is in, its place in {@link allGraphs} (0: the model's own), and its index there. */
  readonly graph: GraphProto;
  readonly graphIndex: number;
  readonly index: number;
  /** B's initializer: the node's own graph's, else the model's (weights a merged decoder's branches share). */
  readonly weight: TensorProto | undefined;
  /** The graph whose initializer `weight` is. */
  readonly owner: GraphProto;
}

/** Every MatMul of `main` and the graphs nested in it, in order, each with its weight (see {@link MatMulSite}). */
export function matmulSites(main: GraphProto): MatMulSite[] {
  const mainInitializers = initializerMap(main);
  const sites: MatMulSite[] = [];
  for (const [graphIndex, graph] of allGraphs(main).entries()) {
    const own = graph === main ? mainInitializers : initializerMap(graph);
    graph.node.forEach((node, index) => {
      if (!isOnnxOp(node, "MatMul")) return;
      const input = node.input[1] ?? "";
      const local = own.get(input);
      sites.push({ node, graph, graphIndex, index, weight: local ?? mainInitializers.get(input), owner: local ? graph : main });
    });
  }
  return sites;
}

/** Hands out names not used anywhere in the graph (or a graph nested in it) yet. */
export class NameScope {
  readonly #taken = new Set<string>();

  constructor(root: GraphProto) {
    for (const graph of allGraphs(root)) {
      for (const t of graph.initializer) if (t.name) this.#taken.add(t.name);
      for (const v of [...graph.input, ...graph.output, ...graph.valueInfo]) if (v.name) this.#taken.add(v.name);
      for (const n of graph.node) {
        for (const x of [...n.input, ...n.output]) this.#taken.add(x);
        if (n.name) this.#taken.add(n.name);
      }
    }
  }

  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.#taken.has(name); i++) name = `${base}_${i}`;
    this.#taken.add(name);
    return name;
  }
}

/** Adds an opset import for `domain` if the model has none. */
export function ensureOpset(model: ModelProto, domain: string, version: number): void {
  const has = model.opsetImport.some((o) => (o.domain ?? "") === domain);
  if (!has) model.opsetImport.push({ domain, version });
}

/** The default-domain opset version the model imports (0 if none). */
export function defaultOpset(model: ModelProto): number {
  const entry = model.opsetImport.find((o) => (o.domain ?? "") === "" || o.domain === "ai.onnx");
  return entry?.version ?? 0;
}

/** A node in `domain` (default ONNX domain when omitted), named `name`. */
export function node(
  opType: string,
  name: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attributes: Readonly<Record<string, AttributeValue>> = {},
  domain?: string,
): NodeProto {
  return makeNode(opType, inputs, outputs, attributes, domain ? { name, domain } : { name });
}

/** Reads an INT attribute. */
export function intAttribute(n: NodeProto, name: string): number | undefined {
  const a = n.attribute.find((x) => x.name === name);
  return a?.i === undefined ? undefined : Number(a.i);
}

/** True when a node is in the default ONNX domain. */
export function isOnnxOp(n: NodeProto, opType: string): boolean {
  return n.opType === opType && (n.domain === undefined || n.domain === "" || n.domain === "ai.onnx");
}
