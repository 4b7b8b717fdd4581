/** HTTP helpers for the service tests: JSON posts, a raw socket for requests fetch cannot make, metrics parsing. */
import { connect } from "node:net";

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

export async function post(url: string, body: string | Uint8Array, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${url}/v1/reports`, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

export function sendReport(url: string, token: string | undefined, report: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return post(url, JSON.stringify(report), { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers });
}

/**
 * Writes `head` (request line and headers) and then `body` chunks on a raw
 * socket, stopping as soon as an answer arrives; returns the answer's status
 * line and how many body bytes were written before it came.
 */
export async function rawRequest(url: string, head: string, chunks: Iterable<Buffer>, pauseMs = 5): Promise<{ statusLine: string; text: string; bytesWritten: number }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  let received = "";
  let answered = false;
  const done = new Promise<void>((resolve) => {
    socket.on("data", (data: Buffer) => {
      received += data.toString("latin1");
      answered = true;
    });
    socket.on("close", () => resolve());
    socket.on("error", () => resolve());
  });
  socket.write(head);
  let bytesWritten = 0;
  for (const chunk of chunks) {
    if (answered || socket.destroyed) break;
    await new Promise<void>((resolve) => socket.write(chunk, () => resolve()));
    bytesWritten += chunk.length;
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  const timeout = setTimeout(() => socket.destroy(), 5000);
  await done;
  clearTimeout(timeout);
  return { statusLine: received.split("\r\n")[0] ?? "", text: received, bytesWritten };
}

/** The value of one sample of the Prometheus text format (0 when absent). */
export function sample(metrics: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of metrics.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? "").matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return 0;
}

export async function metricsOf(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  return response.text();
}
