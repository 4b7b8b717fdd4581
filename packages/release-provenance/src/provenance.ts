import type { KeyObject } from "node:crypto";
import { ProvenanceVerificationError } from "./errors.js";
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope, verifyEnvelope, type DsseEnvelope, type DsseSigner } from "./dsse.js";
import { parseReleaseStatement, type ReleaseStatement } from "./statement.js";

/** Signs a release statement: its JSON as the payload of an in-toto DSSE envelope. */
export function signReleaseStatement(statement: ReleaseStatement, signer: DsseSigner): DsseEnvelope {
  return signEnvelope(Buffer.from(JSON.stringify(statement), "utf8"), IN_TOTO_PAYLOAD_TYPE, signer);
}

/**
 * Verifies a release's provenance envelope with the targets key and returns
 * its statement; every refusal is a {@link ProvenanceVerificationError}.
 */
export function verifyReleaseProvenance(envelope: string | Uint8Array, key: { readonly publicKey: KeyObject; readonly keyId: string }): ReleaseStatement {
  const payload = verifyEnvelope(envelope, { ...key, payloadType: IN_TOTO_PAYLOAD_TYPE });
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
  } catch (cause) {
    throw new ProvenanceVerificationError("malformed-statement", "the provenance envelope's payload is not JSON", { cause });
  }
  return parseReleaseStatement(value);
}
