/**
 * Walks over every graph, node and tensor of a model: the main graph,
 * subgraphs in attributes (If/Loop/Scan bodies), local functions and
 * training graphs.
 */
import type { AttributeProto, GraphProto, ModelProto, NodeProto, SparseTensorProto, TensorProto } from "./proto.js";

/** Where a tensor sits, for messages: `initializer`, `attribute "value" of node "c0"`, … */
export interface TensorPlace {
  readonly kind: "initializer" | "sparse-initializer" | "attribute";
  /** Name of the graph (or function) holding it. */
  readonly graph: string;
  readonly node?: string;
}

export type TensorVisitor = (tensor: TensorProto, place: TensorPlace) => void;

function visitSparse(sparse: SparseTensorProto, place: TensorPlace, visit: TensorVisitor): void {
  if (sparse.values) visit(sparse.values, place);
  if (sparse.indices) visit(sparse.indices, place);
}

function visitAttribute(a: AttributeProto, graphName: string, nodeLabel: string, visit: TensorVisitor, depth: number): void {
  const place: TensorPlace = { kind: "attribute", graph: graphName, node: nodeLabel };
  if (a.t) visit(a.t, place);
  for (const t of a.tensors) visit(t, place);
  if (a.sparseTensor) visitSparse(a.sparseTensor, place, visit);
  for (const s of a.sparseTensors) visitSparse(s, place, visit);
  if (a.g) visitGraphTensors(a.g, visit, depth + 1);
  for (const g of a.graphs) visitGraphTensors(g, visit, depth + 1);
}

function visitNodes(nodes: readonly NodeProto[], graphName: string, visit: TensorVisitor, depth: number): void {
  for (const node of nodes) {
    const label = node.name || node.opType || "";
    for (const a of node.attribute) visitAttribute(a, graphName, label, visit, depth);
  }
}

/** Every tensor of one graph and its subgraphs. */
export function visitGraphTensors(graph: GraphProto, visit: TensorVisitor, depth = 0): void {
  if (depth > 1000) throw new RangeError("graphs nested more than 1000 deep");
  const name = graph.name ?? "";
  for (const t of graph.initializer) visit(t, { kind: "initializer", graph: name });
  for (const s of graph.sparseInitializer) visitSparse(s, { kind: "sparse-initializer", graph: name }, visit);
  visitNodes(graph.node, name, visit, depth);
}

/** Every tensor in a model, wherever it is. */
export function forEachTensor(model: ModelProto, visit: TensorVisitor): void {
  if (model.graph) visitGraphTensors(model.graph, visit);
  for (const f of model.functions) {
    const name = f.name ?? "";
    visitNodes(f.node, name, visit, 0);
    for (const a of f.attributeProto) visitAttribute(a, name, "", visit, 0);
  }
  for (const info of model.trainingInfo) {
    if (info.initialization) visitGraphTensors(info.initialization, visit);
    if (info.algorithm) visitGraphTensors(info.algorithm, visit);
  }
}

/** Every graph in a model: the main graph first, then subgraphs depth-first, then training graphs. */
export function forEachGraph(model: ModelProto, visit: (graph: GraphProto) => void): void {
  const walk = (g: GraphProto, depth: number): void => {
    if (depth > 1000) throw new RangeError("graphs nested more than 1000 deep");
    visit(g);
    for (const node of g.node) {
      for (const a of node.attribute) {
        if (a.g) walk(a.g, depth + 1);
        for (const sub of a.graphs) walk(sub, depth + 1);
      }
    }
  };
  if (model.graph) walk(model.graph, 0);
  for (const info of model.trainingInfo) {
    if (info.initialization) walk(info.initialization, 0);
    if (info.algorithm) walk(info.algorithm, 0);
  }
}
