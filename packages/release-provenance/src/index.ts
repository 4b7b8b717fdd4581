/**
 * A release's provenance: an in-toto Statement v1 naming every released
 * file with its sha256 and describing the release (model, version, source
 * commit, manifest digest), signed as a DSSE envelope with the targets key.
 */
export { ProvenanceVerificationError, type ProvenanceProblem } from "./errors.js";
export {
  IN_TOTO_STATEMENT_TYPE,
  RELEASE_PREDICATE_TYPE,
  parseReleaseStatement,
  releaseStatement,
  type ReleasedFile,
  type ReleaseFacts,
  type ReleaseStatement,
} from "./statement.js";
export {
  IN_TOTO_PAYLOAD_TYPE,
  MAX_ENVELOPE_BYTES,
  ed25519Signer,
  envelopeText,
  pae,
  signEnvelope,
  verifyEnvelope,
  type DsseEnvelope,
  type DsseSignature,
  type DsseSigner,
  type VerifyEnvelopeOptions,
} from "./dsse.js";
export { signReleaseStatement, verifyReleaseProvenance } from "./provenance.js";
