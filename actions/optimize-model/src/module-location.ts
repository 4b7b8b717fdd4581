/**
 * Points a bare module specifier at a package directory chosen at run time.
 * The optimize bundle imports `onnxruntime-node` by name; the action decides
 * where that package is (preinstalled or in the tool cache) and registers it
 * here before loading the bundle.
 */
import module, { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

interface ResolveResult {
  readonly url: string;
  readonly format?: string;
  readonly shortCircuit?: boolean;
}
type NextResolve = (specifier: string, context?: unknown) => ResolveResult;
type ResolveHook = (specifier: string, context: unknown, nextResolve: NextResolve) => ResolveResult;
type RegisterHooks = (hooks: { resolve: ResolveHook }) => unknown;

/**
 * Makes `import … from "<name>"` load the package in `packageDir` (its main
 * entry, as `require` would pick it). Needs `module.registerHooks` (Node.js
 * 22.15 and later; actions run on Node 24).
 */
export function resolvePackageFrom(name: string, packageDir: string): string {
  const registerHooks = (module as unknown as { registerHooks?: RegisterHooks }).registerHooks;
  if (typeof registerHooks !== "function") {
    throw new Error(`Node.js ${process.version} cannot redirect module resolution (no module.registerHooks); run the action on node24`);
  }
  const main = createRequire(join(packageDir, "package.json")).resolve(packageDir);
  const url = pathToFileURL(main).href;
  registerHooks.call(module, {
    resolve: (specifier, context, nextResolve) =>
      specifier === name ? { url, format: "commonjs", shortCircuit: true } : nextResolve(specifier, context),
  });
  return main;
}
