/**
 * An artifact attestation of every released file (`@actions/attest`: SLSA
 * build provenance signed through Sigstore with the job's OIDC identity and
 * stored by GitHub), when the job may request an OIDC token
 * (`permissions: id-token: write, attestations: write`).
 */
import * as core from "@actions/core";
import { ConfigurationError } from "@slmops/action-kit";

export type AttestMode = "auto" | "true" | "false";

export interface AttestSubject {
  readonly name: string;
  readonly sha256: string;
}

export type AttestOutcome =
  | { readonly attested: true; readonly url?: string; readonly id?: string; readonly subjects: number }
  | { readonly attested: false; readonly reason: string };

export function attestMode(value: string): AttestMode {
  if (value === "auto" || value === "true" || value === "false") return value;
  throw new ConfigurationError(`Input \`attest\` must be \`auto\`, \`true\` or \`false\`; got \`${value}\`.`);
}

/** Whether the runner gave this job what requesting an OIDC token needs. */
export function canRequestIdToken(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.ACTIONS_ID_TOKEN_REQUEST_URL ?? "") !== "" && (env.ACTIONS_ID_TOKEN_REQUEST_TOKEN ?? "") !== "";
}

const NO_ID_TOKEN = "the job has no `id-token: write` permission";

export async function attestFiles(mode: AttestMode, subjects: readonly AttestSubject[], token: string, repository: { owner: string; repo: string }): Promise<AttestOutcome> {
  if (mode === "false") return { attested: false, reason: "`attest: false`" };
  if (subjects.length === 0) return { attested: false, reason: "nothing new was published" };
  if (!canRequestIdToken()) {
    if (mode === "true") {
      throw new ConfigurationError(
        `Input \`attest\` is \`true\` but ${NO_ID_TOKEN}: add \`permissions: { id-token: write, attestations: write, contents: write }\` to the job, or set \`attest: auto\`.`,
      );
    }
    return { attested: false, reason: NO_ID_TOKEN };
  }
  const { attestProvenance } = await import("@actions/attest");
  try {
    const attestation = await attestProvenance({ subjects: subjects.map((s) => ({ name: s.name, digest: { sha256: s.sha256 } })), token });
    const id = attestation.attestationID;
    const url = id ? `${process.env.GITHUB_SERVER_URL ?? "https://github.com"}/${repository.owner}/${repository.repo}/attestations/${id}` : undefined;
    return { attested: true, subjects: subjects.length, ...(id ? { id } : {}), ...(url ? { url } : {}) };
  } catch (error) {
    if (mode === "true") throw new Error("the artifact attestation failed", { cause: error });
    core.warning(`The artifact attestation failed; the release is published and signed without it: ${error instanceof Error ? error.message : String(error)}`);
    return { attested: false, reason: "the attestation failed (see the warning)" };
  }
}
