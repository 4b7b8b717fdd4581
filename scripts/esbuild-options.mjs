// esbuild options every bundle the project ships shares (the actions' and the
// CLI's): one ES module for Node, licenses at the end.

// Bundled CommonJS dependencies call `require` for Node's built-ins; an ES
// module has none, so give it one.
const banner = [
  "import { createRequire as __slmopsCreateRequire } from 'node:module';",
  "const require = __slmopsCreateRequire(import.meta.url);",
].join("\n");

/** The shared options, for a bundle that runs on `target` (e.g. "node24"). */
export function esbuildOptions(target) {
  return {
    bundle: true,
    platform: "node",
    target,
    format: "esm",
    banner: { js: banner },
    legalComments: "eof",
    sourcemap: false,
    logLevel: "warning",
  };
}
