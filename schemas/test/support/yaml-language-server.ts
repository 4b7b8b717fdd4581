/**
 * A minimal LSP client that drives the real `yaml-language-server` (npm) over
 * stdio, the way an editor does: initialize, answer the server's
 * `workspace/configuration` pulls, open documents, ask for completions and
 * collect `textDocument/publishDiagnostics`.
 *
 * Every wait is bounded by a timeout, and `close()` always ends the child
 * process (LSP shutdown/exit first, SIGKILL if it lingers).
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import type { Readable, Writable } from "node:stream";
import lsp from "vscode-languageserver-protocol/node.js";
import type {
  CompletionItem,
  CompletionList,
  Diagnostic,
  InitializeResult,
  Position,
  ProtocolConnection,
  PublishDiagnosticsParams,
} from "vscode-languageserver-protocol/node.js";

const require = createRequire(import.meta.url);

/** Settings of the `yaml` section the client hands the server. */
export interface YamlSettings {
  [key: string]: unknown;
}

/** Options of {@link YamlLanguageServer.start}. */
export interface StartOptions {
  /** Workspace root as a `file:` URI (what an editor sends as `rootUri`). */
  rootUri: string;
  /** Settings of the `yaml` section; merged over {@link offlineSettings}. */
  yamlSettings?: YamlSettings;
  /** `http.proxy` handed to the server; every HTTP(S) request it makes goes there. */
  httpProxy?: string;
  /** Upper bound of start-up (spawn, initialize, settings applied). Default 90 s. */
  startTimeoutMs?: number;
  /** Upper bound of every later wait (a request, diagnostics). Default 30 s. */
  timeoutMs?: number;
}

/** One schema the server associates with a document (`yaml/get/jsonSchema`). */
export interface DocumentSchema {
  uri: string;
  name?: string;
  description?: string;
}

/** Settings that keep the server off the network: no schema store, no CRD catalogue. */
export const offlineSettings: YamlSettings = {
  validate: true,
  completion: true,
  hover: true,
  schemaStore: { enable: false },
  kubernetesCRDStore: { enable: false },
  schemas: {},
};

/** Path of the installed server's entry script. */
export function yamlLanguageServerBin(): string {
  const packageJson = require.resolve("yaml-language-server/package.json");
  return path.join(path.dirname(packageJson), "bin", "yaml-language-server");
}

/** Rejects with a named message when `promise` does not settle within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

type Waiter = (params: PublishDiagnosticsParams) => void;

/** A running `yaml-language-server --stdio` child and the client connection to it. */
export class YamlLanguageServer {
  /** What the server answered to `initialize`. */
  initializeResult: InitializeResult | undefined;
  /** Every `window/logMessage` text, for failure messages. */
  readonly log: string[] = [];

  private readonly waiters = new Map<string, Waiter[]>();
  private readonly versions = new Map<string, number>();
  private readonly exited: Promise<void>;
  private closed = false;

  private constructor(
    private readonly child: ChildProcessByStdio<Writable, Readable, Readable>,
    private readonly connection: ProtocolConnection,
    private readonly timeoutMs: number,
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once("exit", () => resolve());
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => this.log.push(`stderr: ${chunk}`));
    connection.onNotification(lsp.PublishDiagnosticsNotification.type, (params) => {
      const queue = this.waiters.get(params.uri);
      const next = queue?.shift();
      if (next) next(params);
    });
    connection.onNotification(lsp.LogMessageNotification.type, (params) => this.log.push(params.message));
    connection.onNotification(lsp.TelemetryEventNotification.type, () => undefined);
  }

  /**
   * Starts the server, initializes it as an editor would and waits until it has
   * applied the client's settings (signalled by `yaml/schema/store/initialized`).
   */
  static async start(options: StartOptions): Promise<YamlLanguageServer> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const child = spawn(process.execPath, [yamlLanguageServerBin(), "--stdio"], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    const connection = lsp.createProtocolConnection(
      new lsp.StreamMessageReader(child.stdout),
      new lsp.StreamMessageWriter(child.stdin),
    );
    const server = new YamlLanguageServer(child, connection, timeoutMs);
    try {
      await server.initialize(options, options.startTimeoutMs ?? 90_000);
      return server;
    } catch (error) {
      await server.close();
      throw error;
    }
  }

  private async initialize(options: StartOptions, startTimeoutMs: number): Promise<void> {
    const yaml = { ...offlineSettings, ...options.yamlSettings };
    const sections: Record<string, unknown> = {
      yaml,
      http: { proxy: options.httpProxy ?? "", proxyStrictSSL: false },
      "[yaml]": null,
      editor: null,
    };
    this.connection.onRequest(lsp.ConfigurationRequest.type, (params) =>
      params.items.map((item) => (item.section !== undefined ? (sections[item.section] ?? null) : null)),
    );
    this.connection.onRequest(lsp.RegistrationRequest.type, () => undefined);
    this.connection.onRequest(lsp.UnregistrationRequest.type, () => undefined);
    const settingsApplied = new Promise<void>((resolve) =>
      this.connection.onNotification("yaml/schema/store/initialized", () => resolve()),
    );
    this.connection.onClose(() => this.log.push("connection closed"));
    this.connection.listen();

    this.initializeResult = await withTimeout(
      this.connection.sendRequest(lsp.InitializeRequest.type, {
        processId: process.pid,
        rootUri: options.rootUri,
        workspaceFolders: [{ uri: options.rootUri, name: "workspace" }],
        locale: "en",
        capabilities: {
          workspace: { configuration: true, workspaceFolders: true },
          textDocument: {
            synchronization: { dynamicRegistration: false },
            publishDiagnostics: { relatedInformation: true },
            completion: {
              completionItem: {
                snippetSupport: true,
                documentationFormat: ["markdown", "plaintext"],
              },
            },
            hover: { contentFormat: ["markdown", "plaintext"] },
          },
        },
      }),
      startTimeoutMs,
      "initialize",
    );
    // Ask for the "settings applied" signal before the server pulls its settings.
    await this.connection.sendNotification("yaml/supportSchemaSelection", {});
    await this.connection.sendNotification(lsp.InitializedNotification.type, {});
    await withTimeout(settingsApplied, startTimeoutMs, "the server to apply its settings");
  }

  /** Opens a document and resolves with the diagnostics the server publishes for it. */
  async open(uri: string, text: string): Promise<Diagnostic[]> {
    this.versions.set(uri, 1);
    return this.diagnosticsAfter(uri, () =>
      this.connection.sendNotification(lsp.DidOpenTextDocumentNotification.type, {
        textDocument: { uri, languageId: "yaml", version: 1, text },
      }),
    );
  }

  /** Replaces the whole text of an open document (as typing does) and resolves with the new diagnostics. */
  async change(uri: string, text: string): Promise<Diagnostic[]> {
    const version = (this.versions.get(uri) ?? 0) + 1;
    this.versions.set(uri, version);
    return this.diagnosticsAfter(uri, () =>
      this.connection.sendNotification(lsp.DidChangeTextDocumentNotification.type, {
        textDocument: { uri, version },
        contentChanges: [{ text }],
      }),
    );
  }

  /** Closes a document the client opened. */
  async closeDocument(uri: string): Promise<void> {
    this.versions.delete(uri);
    await this.connection.sendNotification(lsp.DidCloseTextDocumentNotification.type, { textDocument: { uri } });
  }

  private async diagnosticsAfter(uri: string, send: () => Promise<void>): Promise<Diagnostic[]> {
    const published = new Promise<PublishDiagnosticsParams>((resolve) => {
      const queue = this.waiters.get(uri) ?? [];
      queue.push(resolve);
      this.waiters.set(uri, queue);
    });
    await send();
    const params = await withTimeout(published, this.timeoutMs, `diagnostics of ${uri}\n${this.log.join("\n")}`);
    return params.diagnostics;
  }

  /** Completion items offered at `position` of an open document. */
  async completion(uri: string, position: Position): Promise<CompletionItem[]> {
    const result: CompletionItem[] | CompletionList | null = await this.request(
      this.connection.sendRequest(lsp.CompletionRequest.type, { textDocument: { uri }, position }),
      `completion at ${uri}:${position.line + 1}:${position.character + 1}`,
    );
    if (result === null) return [];
    return Array.isArray(result) ? result : result.items;
  }

  /** The schemas the server associates with an open document. */
  async schemasOf(uri: string): Promise<DocumentSchema[]> {
    return this.request(this.connection.sendRequest<DocumentSchema[]>("yaml/get/jsonSchema", uri), `schemas of ${uri}`);
  }

  private request<T>(promise: Promise<T>, what: string): Promise<T> {
    return withTimeout(promise, this.timeoutMs, what);
  }

  /** Shuts the server down (LSP shutdown + exit), killing it if it does not exit in time. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await withTimeout(this.connection.sendRequest(lsp.ShutdownRequest.type), 2_000, "shutdown");
      await this.connection.sendNotification(lsp.ExitNotification.type);
      await withTimeout(this.exited, 2_000, "exit");
    } catch {
      // Fall through to the kill below.
    } finally {
      if (this.child.exitCode === null && this.child.signalCode === null) {
        this.child.kill("SIGKILL");
        await withTimeout(this.exited, 5_000, "the killed server to exit").catch(() => undefined);
      }
      this.connection.dispose();
    }
  }
}
