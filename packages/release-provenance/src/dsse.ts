/**
 * DSSE, the Dead Simple Signing Envelope, v1:
 * https://github.com/secure-systems-lab/dsse/blob/master/protocol.md and
 * envelope.md. The signature is over PAE(payloadType, payload), never over
 * the base64 or the JSON, so the payload type is authenticated too.
 */
import { createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { ConfigurationError } from "@slmops/diagnostics";
import { ProvenanceVerificationError } from "./errors.js";

/** The payload type of an in-toto statement in a DSSE envelope. */
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
/** The largest envelope read: checked before any parsing. */
export const MAX_ENVELOPE_BYTES = 1024 * 1024;

const KEY_ID = /^[0-9a-f]{2,128}$/;
const STANDARD_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const URL_BASE64 = /^[A-Za-z0-9_-]*={0,2}$/;

export interface DsseSignature {
  readonly keyid: string;
  readonly sig: string;
}

export interface DsseEnvelope {
  readonly payload: string;
  readonly payloadType: string;
  readonly signatures: readonly DsseSignature[];
}

/** Signs bytes with one key; its key id goes into the envelope. */
export interface DsseSigner {
  readonly keyId: string;
  sign(data: Buffer): Buffer;
}

/**
 * The pre-authentication encoding, exactly as the DSSE protocol defines it:
 *
 *     PAE(type, body) = "DSSEv1" + SP + LEN(type) + SP + type + SP + LEN(body) + SP + body
 *     SP     = ASCII space [0x20]
 *     LEN(s) = ASCII decimal encoding of the byte length of s, with no leading zeros
 *
 * with the type as its UTF-8 bytes.
 */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, "ascii"),
    type,
    Buffer.from(` ${payload.byteLength} `, "ascii"),
    payload,
  ]);
}

function checkKeyId(keyId: unknown): string {
  if (typeof keyId !== "string" || !KEY_ID.test(keyId) || keyId.length % 2 !== 0) {
    throw new ConfigurationError("a key id must be hexadecimal: an even number (2 to 128) of lowercase hex digits");
  }
  return keyId;
}

/** A signer for an ed25519 private key; refuses any other kind of key. */
export function ed25519Signer(privateKey: KeyObject, keyId: string): DsseSigner {
  if (typeof privateKey !== "object" || privateKey === null || privateKey.type !== "private" || privateKey.asymmetricKeyType !== "ed25519") {
    throw new ConfigurationError("the signing key must be an ed25519 private key");
  }
  const id = checkKeyId(keyId);
  return { keyId: id, sign: (data) => sign(null, data, privateKey) };
}

/** Signs `payload` of `payloadType` into an envelope with one signature. */
export function signEnvelope(payload: Uint8Array, payloadType: string, signer: DsseSigner): DsseEnvelope {
  const keyid = checkKeyId(signer.keyId);
  const sig = signer.sign(pae(payloadType, payload));
  return { payload: Buffer.from(payload).toString("base64"), payloadType, signatures: [{ keyid, sig: sig.toString("base64") }] };
}

/** The envelope as the file holds it: two-space JSON and a final newline. */
export function envelopeText(envelope: DsseEnvelope): string {
  return `${JSON.stringify(envelope, null, 2)}\n`;
}

function decodeBase64(text: unknown, what: string): Buffer {
  const bad = () => new ProvenanceVerificationError("malformed-base64", `the envelope's ${what} is not base64`);
  if (typeof text !== "string") throw bad();
  const standard = STANDARD_BASE64.test(text);
  if (!standard && !URL_BASE64.test(text)) throw bad();
  const unpadded = text.replace(/=+$/, "");
  if (unpadded.length % 4 === 1) throw bad();
  if (unpadded.length !== text.length && text.length % 4 !== 0) throw bad();
  const bytes = Buffer.from(unpadded, standard ? "base64" : "base64url");
  // Buffer skips what it cannot decode; a strict reading re-encodes to the same text.
  if (bytes.toString(standard ? "base64" : "base64url").replace(/=+$/, "") !== unpadded) throw bad();
  return bytes;
}

export interface VerifyEnvelopeOptions {
  /** The ed25519 public key the envelope must be signed by (a private key is reduced to its public half). */
  readonly publicKey: KeyObject;
  /** Its key id: signatures naming another key id are not tried. */
  readonly keyId: string;
  /** The payload type the envelope must carry. */
  readonly payloadType: string;
}

/**
 * Verifies an envelope, given as the bytes or text of its file, and returns
 * the authenticated payload. Refuses, with a {@link ProvenanceVerificationError}:
 * more than {@link MAX_ENVELOPE_BYTES}, malformed JSON or envelope fields,
 * malformed base64, another payload type, no signatures, and no signature
 * by the key that verifies over PAE(payloadType, payload).
 */
export function verifyEnvelope(envelope: string | Uint8Array, options: VerifyEnvelopeOptions): Buffer {
  const keyId = checkKeyId(options.keyId);
  const key = options.publicKey;
  if (typeof key !== "object" || key === null || key.asymmetricKeyType !== "ed25519" || key.type === "secret") {
    throw new ConfigurationError("the verification key must be an ed25519 public key");
  }
  const publicKey = key.type === "private" ? createPublicKey(key) : key;

  const size = typeof envelope === "string" ? Buffer.byteLength(envelope, "utf8") : envelope.byteLength;
  if (size > MAX_ENVELOPE_BYTES) {
    throw new ProvenanceVerificationError("too-large", `the provenance envelope is ${size} bytes; at most ${MAX_ENVELOPE_BYTES} are read`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof envelope === "string" ? envelope : new TextDecoder("utf-8", { fatal: true }).decode(envelope));
  } catch (cause) {
    throw new ProvenanceVerificationError("malformed-json", "the provenance envelope is not JSON", { cause });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ProvenanceVerificationError("malformed-envelope", "the provenance envelope is not a JSON object");
  }
  const e = parsed as Record<string, unknown>;
  if (typeof e.payloadType !== "string") throw new ProvenanceVerificationError("malformed-envelope", "the provenance envelope has no payloadType string");
  if (!Array.isArray(e.signatures)) throw new ProvenanceVerificationError("malformed-envelope", "the provenance envelope has no signatures list");
  const payload = decodeBase64(e.payload, "payload");
  if (e.payloadType !== options.payloadType) {
    throw new ProvenanceVerificationError(
      "payload-type",
      `the provenance envelope's payload type is ${JSON.stringify(e.payloadType.slice(0, 100))}; expected ${options.payloadType}`,
    );
  }
  if (e.signatures.length === 0) throw new ProvenanceVerificationError("no-signatures", "the provenance envelope has no signatures");

  const message = pae(e.payloadType, payload);
  for (const [i, s] of e.signatures.entries()) {
    if (typeof s !== "object" || s === null || Array.isArray(s)) {
      throw new ProvenanceVerificationError("malformed-envelope", `the provenance envelope's signature ${i + 1} is not an object`);
    }
    const { keyid, sig } = s as { keyid?: unknown; sig?: unknown };
    if (keyid !== undefined && typeof keyid !== "string") {
      throw new ProvenanceVerificationError("malformed-envelope", `the provenance envelope's signature ${i + 1} has a keyid that is not a string`);
    }
    const signature = decodeBase64(sig, `signature ${i + 1}`);
    // keyid is unauthenticated: it only selects which signatures to try.
    if (keyid !== undefined && keyid !== "" && keyid !== keyId) continue;
    if (signature.length === 64 && verify(null, message, publicKey, signature)) return payload;
  }
  throw new ProvenanceVerificationError("signature", `no signature in the provenance envelope verifies with key ${keyId}`);
}
