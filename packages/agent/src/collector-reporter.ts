/**
 * Reports to the fleet collector, when one is configured: the events of each
 * check are written to an outbox in the state directory as one report (a
 * UUID that stays with it across retries, so the collector counts it once),
 * and every pending report is sent oldest first after the check. A report
 * the collector stored (202), already had (200), or refuses for good (its
 * content, 4xx other than auth and rate limits) leaves the outbox; anything
 * else — the network, 5xx, 429, a token not yet accepted — keeps it for the
 * next check. The outbox is bounded: past {@link MAX_PENDING_REPORTS} the
 * oldest are dropped. Only {@link agentEvent}'s allow-listed fields are ever
 * in a report.
 *
 * The application's field figures ({@link FieldRecorder}'s files in
 * `state/field/`) go the same way: each file becomes one report under the
 * file's own id and time, moved into the outbox before the file is removed,
 * so a crash between the two sends the same report twice, which the
 * collector counts once.
 */
import { randomUUID } from "node:crypto";
import { mkdir, readdir, rm } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import { join } from "node:path";
import { writeJsonAtomic } from "@slmops/atomic-file";
import { readRegularFile } from "@slmops/contained-fs";
import { ConfigurationError } from "@slmops/diagnostics";
import type { AgentConfig } from "./config.js";
import type { AgentEvent } from "./events.js";
import { readFieldFiles, removeFieldFile } from "./field-figures.js";
import type { AgentLayout } from "./layout.js";

/** Events per report, as the collector's schema allows. */
export const MAX_EVENTS_PER_REPORT = 100;
/** Reports kept while the collector cannot be reached. */
export const MAX_PENDING_REPORTS = 500;
const REQUEST_TIMEOUT_MS = 10_000;

export interface FlushResult {
  readonly sent: number;
  readonly dropped: number;
  readonly pending: number;
  /** Why the last attempt stopped, when reports are still pending. */
  readonly problem?: string;
}

function post(url: string, token: string, body: string): Promise<{ status: number; text: string }> {
  const target = new URL(url);
  const client = target.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(target, {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), authorization: `Bearer ${token}` },
      timeout: REQUEST_TIMEOUT_MS,
    });
    request.on("timeout", () => request.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    request.on("error", reject);
    request.on("response", (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        if (text.length < 4096) text += chunk;
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, text }));
      response.on("error", reject);
    });
    request.end(body);
  });
}

export class CollectorReporter {
  readonly #config: AgentConfig;
  readonly #collector: { readonly url: string; readonly tokenFile: string };
  readonly #dir: string;
  readonly #field: string;
  #events: AgentEvent[] = [];

  constructor(config: AgentConfig, layout: AgentLayout) {
    if (!config.collector) throw new Error("CollectorReporter needs a configured collector");
    this.#config = config;
    this.#collector = config.collector;
    this.#dir = layout.outbox;
    this.#field = layout.field;
  }

  /** An event of the current check (already allow-listed by agentEvent). */
  record(event: AgentEvent): void {
    this.#events.push(event);
  }

  /** Writes the check's events and the application's field figures to the outbox as reports, then sends what is pending. */
  async flush(): Promise<FlushResult> {
    await mkdir(this.#dir, { recursive: true });
    const c = this.#config;
    const device = { device: c.device.id, deviceClass: c.device.class, model: c.model, channel: c.channel };
    // Named by time, so the outbox sends oldest first.
    const put = (report: { readonly id: string; readonly sentAt: string; readonly [field: string]: unknown }) => writeJsonAtomic(join(this.#dir, `${report.sentAt.replace(/[:.]/g, "-")}-${report.id}.json`), report, { indent: 0 });
    while (this.#events.length > 0) {
      const events = this.#events.splice(0, MAX_EVENTS_PER_REPORT);
      await put({ id: randomUUID(), ...device, sentAt: new Date().toISOString(), events });
    }
    let refused = 0;
    for (const found of await readFieldFiles(this.#field)) {
      if ("figures" in found) {
        const { id, recordedAt, ...figures } = found.figures;
        await put({ id, ...device, sentAt: new Date(recordedAt).toISOString(), events: [], figures });
      } else {
        refused++; // not figures the recorder wrote: never sendable
      }
      await removeFieldFile(found.file);
    }
    let names = (await readdir(this.#dir)).filter((n) => n.endsWith(".json")).sort();
    let dropped = refused;
    while (names.length > MAX_PENDING_REPORTS) {
      await rm(join(this.#dir, names.shift() as string), { force: true });
      dropped++;
    }
    if (names.length === 0) return { sent: 0, dropped, pending: 0 };
    const token = await this.#token();
    let sent = 0;
    for (const name of [...names]) {
      const file = join(this.#dir, name);
      const body = (await readRegularFile(file, { maxBytes: 1024 * 1024, what: "pending report" })).toString("utf8");
      let answer: { status: number; text: string };
      try {
        answer = await post(`${this.#collector.url}/v1/reports`, token, body);
      } catch (error) {
        return { sent, dropped, pending: names.length, problem: `the collector ${this.#collector.url} did not answer: ${error instanceof Error ? error.message : String(error)}` };
      }
      const { status } = answer;
      if (status === 200 || status === 201 || status === 202) {
        sent++;
      } else if (status >= 400 && status < 500 && ![401, 403, 408, 429].includes(status)) {
        dropped++; // the collector will never take this one (malformed, too large, conflicting)
      } else {
        return { sent, dropped, pending: names.length, problem: `the collector answered ${status}: ${answer.text.slice(0, 200)}` };
      }
      await rm(file, { force: true });
      names = names.filter((n) => n !== name);
    }
    return { sent, dropped, pending: names.length };
  }

  async #token(): Promise<string> {
    const token = (await readRegularFile(this.#collector.tokenFile, { maxBytes: 4096, what: "collector token file" })).toString("utf8").trim();
    if (token === "") throw new ConfigurationError(`the collector token file ${this.#collector.tokenFile} is empty; write the device's token into it (slmops collector token add)`);
    return token;
  }
}
