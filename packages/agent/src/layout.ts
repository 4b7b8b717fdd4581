/**
 * Where the agent keeps things, under its install directory:
 *
 *     <install-dir>/
 *       active -> versions/1.4.0-3f2a9c1e0b7d   the model the application loads (a link, replaced by rename)
 *       versions/
 *         1.4.0-3f2a9c1e0b7d/                  an installed version: its files and release.json
 *         1.3.2-90ab11c2d4e5/                  the previous one, kept for rollback
 *         .1.5.0-77aa….installing-<random>/    an install in progress (removed on recovery)
 *       state/
 *         journal.json                         what the agent was doing (atomic)
 *         trusted/                             the TUF metadata the device trusts (each file atomic)
 *         work/                                tuf-js's scratch copy of it during a check
 *         downloads/                           partial downloads, resumed on the next attempt
 *         outbox/                              reports waiting for the collector
 *         field/                               the application's field figures, waiting for the agent
 */
import { join } from "node:path";

export interface AgentLayout {
  readonly root: string;
  readonly active: string;
  readonly versions: string;
  readonly state: string;
  readonly journal: string;
  readonly trusted: string;
  readonly work: string;
  readonly downloads: string;
  readonly outbox: string;
  /** Where the application's `FieldRecorder` leaves its figures for the agent to report. */
  readonly field: string;
}

export function agentLayout(installDir: string): AgentLayout {
  const state = join(installDir, "state");
  return {
    root: installDir,
    active: join(installDir, "active"),
    versions: join(installDir, "versions"),
    state,
    journal: join(state, "journal.json"),
    trusted: join(state, "trusted"),
    work: join(state, "work"),
    downloads: join(state, "downloads"),
    outbox: join(state, "outbox"),
    field: join(state, "field"),
  };
}

/** The file in every installed version that says what it is. */
export const RELEASE_RECORD = "release.json";

/** An installed version's directory name: its version and the first 12 hex digits of its variant digest. */
export function versionDirName(version: string, digest: string): string {
  return `${version}-${digest.slice(0, 12)}`;
}

const VERSION_DIR = /^(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)-([0-9a-f]{12})$/;

/** The version a directory name holds, or undefined for a name the agent did not make. */
export function parseVersionDirName(name: string): { version: string; digestPrefix: string } | undefined {
  const m = VERSION_DIR.exec(name);
  return m?.[1] && m[2] ? { version: m[1], digestPrefix: m[2] } : undefined;
}
