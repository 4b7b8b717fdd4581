import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import { ConfigurationError } from "@slmops/diagnostics";
import { readJson } from "./json.js";
import { bindingPath, PACKAGE, type RuntimePackage } from "./package.js";

/**
 * A preinstalled onnxruntime-node (offline or locked-down runners): `path` is
 * the package directory, or a directory holding `node_modules/onnxruntime-node`.
 * Checked: it is that package, and it carries the binding for this platform.
 * `input` names the action input the path came from, for the error message.
 */
export async function preinstalledRuntime(path: string, input = "onnxruntime-path"): Promise<RuntimePackage> {
  const nested = join(path, "node_modules", PACKAGE);
  const packageDir = existsSync(join(nested, "package.json")) ? nested : path;
  const where = `Input \`${input}\` (\`${path}\`)`;
  let manifest: { name?: unknown; version?: unknown };
  try {
    manifest = (await readJson(join(packageDir, "package.json"))) as typeof manifest;
  } catch (error) {
    throw new ConfigurationError(
      `${where} is not an ${PACKAGE} package: no readable package.json (${(error as Error).message}). ` +
        `Name the ${PACKAGE} directory, or a directory holding node_modules/${PACKAGE}.`,
    );
  }
  if (manifest.name !== PACKAGE || typeof manifest.version !== "string") {
    throw new ConfigurationError(`${where} holds \`${String(manifest.name)}\`, not ${PACKAGE}. Name the ${PACKAGE} directory.`);
  }
  if (!existsSync(bindingPath(packageDir))) {
    throw new ConfigurationError(
      `${where}: ${PACKAGE} ${manifest.version} has no binding for ${process.platform}/${process.arch} ` +
        `(looked for ${relative(packageDir, bindingPath(packageDir))}). Install ${PACKAGE} on this machine, or leave \`${input}\` empty to install it into the tool cache.`,
    );
  }
  return { packageDir, version: manifest.version, source: "preinstalled" };
}
