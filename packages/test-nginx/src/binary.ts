import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

/** The environment variable that names the nginx binary to use, before the usual places. */
export const NGINX_BINARY_ENV = "SLMOPS_NGINX";

const DEBIAN_PATH = "/usr/sbin/nginx";
const INSTALL_HINT = "apt-get install nginx";

/** nginx is not installed (or the binary named by SLMOPS_NGINX is not executable). */
export class NginxNotFoundError extends Error {
  override readonly name = "NginxNotFoundError";
  constructor(readonly looked: readonly string[]) {
    super(
      `nginx is not installed (looked for ${looked.join(", ")}). ` +
        `These tests run against Debian's nginx: \`sudo ${INSTALL_HINT}\` ` +
        `(.ci/run installs it), or set ${NGINX_BINARY_ENV} to an nginx binary.`,
    );
  }
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The nginx binary: `$SLMOPS_NGINX` when set (and then only that), else
 * /usr/sbin/nginx (where Debian puts it, often not on a non-root PATH), else
 * `nginx` on PATH. Throws {@link NginxNotFoundError} when there is none.
 */
export function findNginx(env: NodeJS.ProcessEnv = process.env): string {
  const named = env[NGINX_BINARY_ENV];
  if (named !== undefined && named !== "") {
    if (executable(named)) return named;
    throw new NginxNotFoundError([`${NGINX_BINARY_ENV}=${named}`]);
  }
  if (executable(DEBIAN_PATH)) return DEBIAN_PATH;
  const dirs = (env.PATH ?? "").split(delimiter).filter((dir) => dir !== "");
  for (const dir of dirs) {
    const candidate = join(dir, "nginx");
    if (executable(candidate)) return candidate;
  }
  throw new NginxNotFoundError([DEBIAN_PATH, "nginx on PATH"]);
}

/** Whether an nginx binary can be found (see {@link findNginx}). */
export function nginxAvailable(env: NodeJS.ProcessEnv = process.env): boolean {
  try {
    findNginx(env);
    return true;
  } catch (error) {
    if (error instanceof NginxNotFoundError) return false;
    throw error;
  }
}

/** CI=true (or any value but "", "0" and "false"), as GitHub Actions and .ci/run set it. */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = (env.CI ?? "").trim().toLowerCase();
  return value !== "" && value !== "0" && value !== "false";
}

let noted = false;

/**
 * The skip policy for tests that need nginx, for `describe.skipIf(skipWithoutNginx())`:
 *
 * - nginx found: false (run).
 * - nginx missing and CI: false (run, so that {@link startNginx} fails each
 *   test with the `apt-get install nginx` message; CI must never pass by skipping).
 * - nginx missing outside CI: true (skip), with a one-line note on stderr
 *   saying how to install it.
 */
export function skipWithoutNginx(env: NodeJS.ProcessEnv = process.env): boolean {
  if (nginxAvailable(env) || inCi(env)) return false;
  if (!noted) {
    noted = true;
    console.warn(`@slmops/test-nginx: nginx is not installed, so the tests that need it are skipped (\`sudo ${INSTALL_HINT}\` to run them; in CI they fail instead).`);
  }
  return true;
}
