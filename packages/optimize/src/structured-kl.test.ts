/**
 * int4 methods on decoders with structured weights: the example project's
 * committed model and maker decoders fitted the same way (`fit: bigram`:
 * embedding and LM head fitted to corpus bigram statistics, low-rank like a
 * trained model's), each measured over its own eval text.
 *
 * On these models nearly all of the int4 KL comes from the LM head, and most
 * of that from a few (context, next token) pairs: the KL of one model is one
 * draw whose spread between seeds (0.12–0.44 for round-to-nearest at block
 * 32) is far larger than the difference between the methods. On the example
 * model's own seed, round-to-nearest draws low (one column, token 260,
 * accounts for 0.095 of the 0.11 gap; swapping the search's result into any
 * other of the 40 most probable columns alone is a wash). So the comparison
 * is over eight models (the committed one and seeds 1–7): the search must
 * have the lower mean KL, and the lower KL on most of them. Every KL must
 * stay below 0.5 (a mis-packed weight gives several nats).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareLogits } from "./metrics.js";
import { optimizeModel } from "./pipeline.js";
import { prefillLogits } from "./test-support/decoder.js";
import { exampleDecoder, fittedDecoder, type StructuredDecoder } from "./test-support/structured.js";

const SEQUENCES = 12;
const TOKENS = 128;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "slmops-optimize-structured-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function logitsOf(path: string, decoder: StructuredDecoder): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  for (const seq of decoder.sequences) parts.push(await prefillLogits(path, decoder.config, seq));
  const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  parts.reduce((offset, p) => (all.set(p, offset), offset + p.length), 0);
  return all;
}

async function klOfMethods(decoder: StructuredDecoder, name: string): Promise<{ rtn: number; search: number }> {
  const reference = await logitsOf(decoder.path, decoder);
  const kl = async (method: "rtn" | "minimize-error") => {
    const record = await optimizeModel({
      source: decoder.path,
      outDir: join(dir, `${name}-${method}`),
      passes: [{ quantize: { weights: "int4", "block-size": 32, method, symmetric: false } }],
    });
    return compareLogits(reference, await logitsOf(record.output.path, decoder), decoder.config.vocab).klDivergence;
  };
  return { rtn: await kl("rtn"), search: await kl("minimize-error") };
}

describe("int4 methods on decoders with structured weights", () => {
  it("error-minimizing has the lower mean KL over the example model and fitted maker models, and the lower KL on most", async () => {
    const results: { label: string; rtn: number; search: number }[] = [];
    const example = await exampleDecoder(SEQUENCES, TOKENS);
    results.push({ label: example.label, ...(await klOfMethods(example, "example")) });
    for (let seed = 1; seed <= 7; seed++) {
      const decoder = await fittedDecoder(join(dir, `seed-${seed}`), seed, SEQUENCES, TOKENS);
      results.push({ label: decoder.label, ...(await klOfMethods(decoder, `seed-${seed}`)) });
    }
    const table = results.map((r) => `${r.label}: rtn ${r.rtn.toFixed(4)}, minimize-error ${r.search.toFixed(4)}`).join("\n");
    for (const r of results) {
      expect(r.rtn, table).toBeLessThan(0.5);
      expect(r.search, table).toBeLessThan(0.5);
    }
    const mean = (key: "rtn" | "search") => results.reduce((a, r) => a + r[key], 0) / results.length;
    expect(mean("search"), table).toBeLessThan(mean("rtn") * 0.95);
    expect(results.filter((r) => r.search < r.rtn).length, table).toBeGreaterThanOrEqual(5);
  }, 600_000);
});
