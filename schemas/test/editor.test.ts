/**
 * Editor support, shown with the real yaml-language-server (the server behind
 * the YAML extensions of VS Code, Neovim, Helix, Zed …): the example manifest's
 * `# yaml-language-server: $schema=` line makes the server check the file and
 * complete it from schemas/slmops.schema.json, resolved relative to the
 * document's own file URI, without touching the network.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { CompletionItem } from "vscode-languageserver-protocol";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { breakFirstDevice, completionProbe, newEntryProbe, type CompletionProbe } from "./support/manifest-edits.js";
import { startNetworkTrap, type NetworkTrap } from "./support/network-trap.js";
import { exampleManifestPath, manifestSchemaPath, repoRoot } from "./support/paths.js";
import { descriptionOf, objectSchemaOf, type SchemaNode } from "./support/schema-walk.js";
import { YamlLanguageServer } from "./support/yaml-language-server.js";

const PROPERTY_KIND = 10; // CompletionItemKind.Property

const exampleText = readFileSync(exampleManifestPath, "utf8");
const exampleUri = pathToFileURL(exampleManifestPath).href;
const schema = JSON.parse(readFileSync(manifestSchemaPath, "utf8")) as SchemaNode;

/** The properties the schema declares for the object at a path of property names (`*` = array items). */
function schemaPropertiesAt(pathInSchema: readonly string[]): Map<string, string | undefined> {
  let node: SchemaNode | undefined = schema;
  for (const step of pathInSchema) {
    if (step === "*") {
      const items: unknown = typeof node === "object" ? node.items : undefined;
      node = items as SchemaNode | undefined;
    } else {
      const object = node === undefined ? undefined : objectSchemaOf(schema, node);
      node = (object?.properties as Record<string, SchemaNode> | undefined)?.[step];
    }
    if (node === undefined) throw new Error(`the schema has nothing at ${pathInSchema.join(".")}`);
  }
  const object = objectSchemaOf(schema, node);
  const properties = (object?.properties ?? {}) as Record<string, SchemaNode>;
  return new Map(Object.entries(properties).map(([name, property]) => [name, descriptionOf(schema, property)]));
}

function documentationText(item: CompletionItem): string {
  const documentation = item.documentation;
  if (documentation === undefined) return "";
  return typeof documentation === "string" ? documentation : documentation.value;
}

const squash = (text: string): string => text.replace(/\s+/g, " ").trim();

// Each test talks to a child process; leave room for a heavily loaded machine
// (the server's own waits are bounded below these).
describe("yaml-language-server over the example slmops.yaml", { timeout: 45_000 }, () => {
  let server: YamlLanguageServer;
  let trap: NetworkTrap;

  beforeAll(async () => {
    trap = await startNetworkTrap();
    server = await YamlLanguageServer.start({ rootUri: pathToFileURL(repoRoot).href, httpProxy: trap.url });
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await trap?.close();
  }, 30_000);

  test("the example's first line points at the schema by a path relative to the example", () => {
    const modeline = /^# yaml-language-server: \$schema=(\S+)\s*$/.exec(exampleText.split("\n")[0] ?? "");
    expect(modeline, "first line of the example").not.toBeNull();
    const reference = modeline?.[1] ?? "";
    expect(path.isAbsolute(reference) || /^[a-z]+:/i.test(reference)).toBe(false);
    expect(path.resolve(path.dirname(exampleManifestPath), reference)).toBe(manifestSchemaPath);
  });

  test("checks the example against the schema found through the document's file URI, and finds no problem", async () => {
    const diagnostics = await server.open(exampleUri, exampleText);
    expect(diagnostics).toEqual([]);
    const schemas = await server.schemasOf(exampleUri);
    expect(schemas.map((entry) => fileURLToPath(entry.uri))).toEqual([manifestSchemaPath]);
  });

  // Each probe adds an empty key line where a user would start typing; the
  // server must offer exactly the properties the schema declares there that
  // the mapping does not have yet. Mappings are cut to their first entry so
  // that something is always left to offer, whatever the example uses.
  const probes: { name: string; schemaPath: string[]; probe: () => CompletionProbe }[] = [
    {
      name: "the first device entry",
      schemaPath: ["devices", "*"],
      probe: () => completionProbe(exampleText, ["devices", 0], { keep: 1 }),
    },
    {
      name: "a device entry being added",
      schemaPath: ["devices", "*"],
      probe: () => newEntryProbe(exampleText, ["devices"], "id", "probe-device"),
    },
    { name: "the bench mapping", schemaPath: ["bench"], probe: () => completionProbe(exampleText, ["bench"], { keep: 1 }) },
    { name: "the top level", schemaPath: [], probe: () => completionProbe(exampleText, [], { keep: 1 }) },
  ];

  test.each(probes)("completes the schema's property names, with their descriptions, in $name", async ({ schemaPath, probe }) => {
    const { text, position, presentKeys } = probe();
    await server.change(exampleUri, text);
    const items = await server.completion(exampleUri, position);

    const declared = schemaPropertiesAt(schemaPath);
    const expected = [...declared.keys()].filter((name) => !presentKeys.includes(name)).sort();
    expect(expected.length).toBeGreaterThan(0);
    const offered = items.filter((item) => item.kind === PROPERTY_KIND);
    expect(offered.map((item) => item.label).sort()).toEqual(expected);
    for (const item of offered) {
      const description = declared.get(item.label);
      expect(description, `schema description of ${item.label}`).toBeTruthy();
      expect(squash(documentationText(item)), `documentation of ${item.label}`).toContain(squash(description ?? ""));
    }
  });

  test("reports each mistake of a broken copy on its own line, and nothing else", async () => {
    const broken = breakFirstDevice(exampleText);
    const diagnostics = await server.change(exampleUri, broken.text);
    const found = diagnostics.map((d) => ({ line: d.range.start.line, character: d.range.start.character, message: d.message }));
    for (const breakage of broken.breakages) {
      const here = found.filter((d) => d.line === breakage.line);
      expect(here, `diagnostics on line ${breakage.line + 1}: ${breakage.source}`).toHaveLength(1);
      expect(here[0]?.message).toMatch(breakage.message);
      if (breakage.character !== undefined) expect(here[0]?.character).toBe(breakage.character);
    }
    const expectedLines = new Set(broken.breakages.map((breakage) => breakage.line));
    expect(found.filter((d) => !expectedLines.has(d.line))).toEqual([]);
  });

  test("clears the diagnostics once the file is fixed again", async () => {
    expect((await server.change(exampleUri, breakFirstDevice(exampleText).text)).length).toBeGreaterThan(0);
    expect(await server.change(exampleUri, exampleText)).toEqual([]);
  });

  test("never tried to reach the network", () => {
    expect(trap.attempts).toEqual([]);
  });
});

describe("the network trap", () => {
  test("sees a schema download the server attempts (so its silence above means something)", async () => {
    const trap = await startNetworkTrap();
    const server = await YamlLanguageServer.start({ rootUri: pathToFileURL(repoRoot).href, httpProxy: trap.url });
    try {
      const uri = pathToFileURL(path.join(path.dirname(exampleManifestPath), "remote-schema.yaml")).href;
      const text = "# yaml-language-server: $schema=https://schemas.example.invalid/slmops.schema.json\nversion: 1\n";
      await server.open(uri, text);
      expect(trap.attempts.some((attempt) => attempt.includes("schemas.example.invalid"))).toBe(true);
    } finally {
      await server.close();
      await trap.close();
    }
  }, 150_000);
});
