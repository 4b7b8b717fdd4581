import { SlmopsError } from "@slmops/diagnostics";

export type ProvenanceProblem =
  | "too-large"
  | "malformed-json"
  | "malformed-envelope"
  | "malformed-base64"
  | "payload-type"
  | "no-signatures"
  | "signature"
  | "malformed-statement";

/**
 * A provenance envelope that does not verify: tampered with, signed by
 * another key, or not an envelope at all. `problem` says which.
 */
export class ProvenanceVerificationError extends SlmopsError {
  readonly problem: ProvenanceProblem;

  constructor(problem: ProvenanceProblem, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.problem = problem;
  }
}
