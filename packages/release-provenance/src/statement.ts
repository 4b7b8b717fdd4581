import { ConfigurationError } from "@slmops/diagnostics";
import { ProvenanceVerificationError } from "./errors.js";

/** in-toto Statement v1: https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md */
export const IN_TOTO_STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
/** The predicate of a slmops release statement. */
export const RELEASE_PREDICATE_TYPE = "https://slmops.dev/provenance/release/v1";

const HEX64 = /^[0-9a-f]{64}$/;
const COMMIT = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
const CONTROL = /\p{Cc}/u;
const MAX_TEXT = 1024;

/** One released file: its name in the release, as the device fetches it, and its sha256. */
export interface ReleasedFile {
  readonly name: string;
  readonly sha256: string;
}

/** What the release is: the caller has already checked these against the manifest and the repository. */
export interface ReleaseFacts {
  /** The model's id in the manifest. */
  readonly model: string;
  /** The release's semantic version. */
  readonly version: string;
  /** The source commit the release was built from: 40 (SHA-1) or 64 (SHA-256) hex digits. */
  readonly sourceCommit: string;
  /** sha256 of the manifest file the release was built with, hex. */
  readonly manifestSha256: string;
}

export interface ReleaseStatement {
  readonly _type: typeof IN_TOTO_STATEMENT_TYPE;
  readonly subject: readonly { readonly name: string; readonly digest: { readonly sha256: string } }[];
  readonly predicateType: typeof RELEASE_PREDICATE_TYPE;
  readonly predicate: {
    readonly model: string;
    readonly version: string;
    readonly sourceCommit: string;
    readonly manifest: { readonly digest: { readonly sha256: string } };
  };
}

function text(what: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0) throw new ConfigurationError(`${what} must be a non-empty string`);
  if (value.length > MAX_TEXT) throw new ConfigurationError(`${what} must be at most ${MAX_TEXT} characters`);
  if (CONTROL.test(value)) throw new ConfigurationError(`${what} must not contain control characters`);
  return value;
}

function hex64(what: string, value: unknown): string {
  if (typeof value !== "string" || !HEX64.test(value)) throw new ConfigurationError(`${what} must be a sha256 digest: 64 lowercase hexadecimal characters`);
  return value;
}

/**
 * The statement of a release: every released file as a subject with its
 * sha256, sorted by name, and the release's facts as the predicate. Refuses
 * an empty list, a duplicate name, a malformed digest, with one
 * {@link ConfigurationError}.
 */
export function releaseStatement(files: readonly ReleasedFile[], facts: ReleaseFacts): ReleaseStatement {
  if (!Array.isArray(files) || files.length === 0) throw new ConfigurationError("a release statement needs at least one released file");
  const subject = files
    .map((file, i) => ({
      name: text(`released file ${i + 1}'s name`, file?.name),
      digest: { sha256: hex64(`released file ${JSON.stringify(file?.name)}'s sha256`, file?.sha256) },
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (let i = 1; i < subject.length; i++) {
    if (subject[i]?.name === subject[i - 1]?.name) {
      throw new ConfigurationError(`released file ${JSON.stringify(subject[i]?.name)} is listed twice`);
    }
  }
  const sourceCommit = facts?.sourceCommit;
  if (typeof sourceCommit !== "string" || !COMMIT.test(sourceCommit)) {
    throw new ConfigurationError("the source commit must be a full commit id: 40 or 64 lowercase hexadecimal characters");
  }
  return {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject,
    predicateType: RELEASE_PREDICATE_TYPE,
    predicate: {
      model: text("the model", facts.model),
      version: text("the release version", facts.version),
      sourceCommit,
      manifest: { digest: { sha256: hex64("the manifest's sha256", facts.manifestSha256) } },
    },
  };
}

/**
 * Reads a verified payload as a release statement, refusing anything that
 * is not one: the signature says who wrote it, not that it is well-formed.
 */
export function parseReleaseStatement(value: unknown): ReleaseStatement {
  const fail = (why: string): never => {
    throw new ProvenanceVerificationError("malformed-statement", `the provenance statement is not a slmops release statement: ${why}`);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) return fail("it is not a JSON object");
  const v = value as Record<string, unknown>;
  if (v._type !== IN_TOTO_STATEMENT_TYPE) return fail(`its _type is not ${IN_TOTO_STATEMENT_TYPE}`);
  if (v.predicateType !== RELEASE_PREDICATE_TYPE) return fail(`its predicateType is not ${RELEASE_PREDICATE_TYPE}`);
  if (!Array.isArray(v.subject)) return fail("it has no subject list");
  const p = v.predicate as Record<string, unknown> | null | undefined;
  const manifest = (p?.manifest as { digest?: { sha256?: unknown } } | undefined)?.digest?.sha256;
  try {
    return releaseStatement(
      v.subject.map((s: { name?: unknown; digest?: { sha256?: unknown } } | null) => ({ name: s?.name, sha256: s?.digest?.sha256 }) as ReleasedFile),
      { model: p?.model, version: p?.version, sourceCommit: p?.sourceCommit, manifestSha256: manifest } as ReleaseFacts,
    );
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
}
