import { mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseManifest } from "@slmops/manifest";
import type { Manifest } from "@slmops/manifest";

let root: string | undefined;
function defaultRoot(): string {
  root ??= mkdtempSync(join(tmpdir(), "device-plan-"));
  return root;
}

/** Parses manifest text (files are not checked: they need not exist for planning). */
export async function manifestOf(text: string, root: string = defaultRoot()): Promise<Manifest> {
  const result = await parseManifest(text, { file: join(root, "slmops.yaml"), root, checkFiles: false, displayPath: "slmops.yaml" });
  if (!result.ok) throw new Error(`test manifest does not load: ${result.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`).join("; ")}`);
  return result.manifest;
}

/** A multi-device manifest: two models, GitHub-hosted and self-hosted devices, one allowing forks. */
export const MULTI_DEVICE = `version: 1
models:
  - id: story-lm
    source: models/story-lm/model.onnx
    kind: decoder
    eval: { dataset: data/eval.jsonl, tokenizer: models/story-lm/tokenizer.json }
    variants:
      - id: int4
        passes:
          - quantize: { weights: int4, block-size: 32 }
      - id: int8
        passes: [ { quantize: { weights: int8 } } ]
  - id: classifier
    source: models/classifier/model.onnx
    kind: encoder
    variants:
      - id: int8
        passes: [ { quantize: { weights: int8 } } ]
devices:
  - id: hosted
    runs-on: [ubuntu-24.04]
    execution-providers: [cpu]
  - id: rpi5
    description: Raspberry Pi 5
    runs-on: [self-hosted, linux, arm64, rpi5]
    execution-providers: [cpu]
    threads: 4
    memory-budget: 2GiB
  - id: nuc
    runs-on: [self-hosted, linux, x64, nuc]
    execution-providers: [cpu]
  - id: sandbox
    runs-on: [self-hosted, linux, x64, sandbox]
    execution-providers: [cpu]
    allow-from-forks: true
bench: { warmup: 5, min-iterations: 50, min-duration: 10s, prompt-tokens: 128, generate-tokens: 64 }
gates:
  - devices: [rpi5]
    variants: [int4]
    require:
      decode-latency-p90: { max: 40ms }
`;

/** The manifest text with one substring replaced; fails loudly when it is not there. */
export function edit(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`test edit: ${JSON.stringify(from)} is not in the manifest`);
  return text.replace(from, to);
}

interface WebhookExample {
  readonly name: string;
  readonly examples: readonly Record<string, unknown>[];
}

/** A real webhook payload collected by @octokit/webhooks-examples: the first `event` example with `action`. */
export function webhookExample(event: string, action?: string): Record<string, unknown> {
  const all = createRequire(import.meta.url)("@octokit/webhooks-examples") as readonly WebhookExample[];
  const examples = all.find((e) => e.name === event)?.examples ?? [];
  const found = examples.find((e) => action === undefined || e.action === action);
  if (!found) throw new Error(`no ${event}${action ? `.${action}` : ""} example in @octokit/webhooks-examples`);
  return structuredClone(found);
}

/** The payload as a fork's pull request: its head lives in another repository, as GitHub sends it. */
export function asFork(payload: Record<string, unknown>, forkOwner = "forker"): Record<string, unknown> {
  const copy = structuredClone(payload);
  const pr = copy.pull_request as { head: { repo: { full_name: string; name: string; owner: { login: string }; fork: boolean }; label: string } };
  pr.head.repo.full_name = `${forkOwner}/${pr.head.repo.name}`;
  pr.head.repo.owner.login = forkOwner;
  pr.head.repo.fork = true;
  pr.head.label = `${forkOwner}:${pr.head.label.split(":")[1] ?? "main"}`;
  return copy;
}
