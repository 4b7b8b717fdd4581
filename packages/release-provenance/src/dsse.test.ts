import { createHash, generateKeyPairSync, type KeyObject } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigurationError } from "@slmops/diagnostics";
import { ed25519Signer, MAX_ENVELOPE_BYTES, pae, ProvenanceVerificationError, signEnvelope, verifyEnvelope, type ProvenanceProblem } from "./index.js";

function keyPair(): { privateKey: KeyObject; publicKey: KeyObject; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const keyId = createHash("sha256").update(publicKey.export({ format: "der", type: "spki" })).digest("hex");
  return { privateKey, publicKey, keyId };
}

const TYPE = "application/vnd.in-toto+json";
const ours = keyPair();
const theirs = keyPair();

function refusal(run: () => unknown): ProvenanceVerificationError {
  try {
    run();
  } catch (error) {
    if (error instanceof ProvenanceVerificationError) return error;
    throw error;
  }
  throw new Error("expected a ProvenanceVerificationError");
}

function expectRefused(envelope: string, problem: ProvenanceProblem, message: string, payloadType = TYPE): void {
  const error = refusal(() => verifyEnvelope(envelope, { publicKey: ours.publicKey, keyId: ours.keyId, payloadType }));
  expect(error.problem).toBe(problem);
  expect(error.message).toContain(message);
}

const signed = signEnvelope(Buffer.from('{"hello":"world"}'), TYPE, ed25519Signer(ours.privateKey, ours.keyId));
const withFields = (fields: Record<string, unknown>) => JSON.stringify({ ...signed, ...fields });

describe("pae", () => {
  // The DSSE protocol (protocol.md) defines
  //   PAE(type, body) = "DSSEv1" + SP + LEN(type) + SP + type + SP + LEN(body) + SP + body
  // with SP an ASCII space and LEN the ASCII decimal byte length, no leading
  // zeros. Its example: type "http://example.com/HelloWorld" (29 bytes) and
  // body "hello world" (11 bytes). By hand: "DSSEv1", " ", "29", " ", the
  // type, " ", "11", " ", the body.
  it("encodes the DSSE specification's example", () => {
    const expected = Buffer.concat([
      Buffer.from([0x44, 0x53, 0x53, 0x45, 0x76, 0x31]), // "DSSEv1"
      Buffer.from(" 29 http://example.com/HelloWorld 11 hello world", "ascii"),
    ]);
    expect(pae("http://example.com/HelloWorld", Buffer.from("hello world"))).toEqual(expected);
    expect(expected.toString("ascii")).toBe("DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  });

  it("counts bytes, not characters, and handles an empty body", () => {
    expect(pae("t", Buffer.from("é", "utf8"))).toEqual(Buffer.from("DSSEv1 1 t 2 é", "utf8"));
    expect(pae("類", Buffer.alloc(0))).toEqual(Buffer.from("DSSEv1 3 類 0 ", "utf8"));
  });
});

describe("signEnvelope and verifyEnvelope", () => {
  it("round-trips with a real ed25519 key, from text or bytes", () => {
    expect(signed.payloadType).toBe(TYPE);
    expect(signed.signatures).toHaveLength(1);
    expect(signed.signatures[0]?.keyid).toBe(ours.keyId);
    const text = JSON.stringify(signed);
    const options = { publicKey: ours.publicKey, keyId: ours.keyId, payloadType: TYPE };
    expect(verifyEnvelope(text, options).toString()).toBe('{"hello":"world"}');
    expect(verifyEnvelope(Buffer.from(text), options).toString()).toBe('{"hello":"world"}');
  });

  it("accepts URL-safe base64 and a signature with no key id, as DSSE allows", () => {
    const payload = Buffer.from([0xfb, 0xff, 0xfe]); // standard base64 "+//+"
    const e = signEnvelope(payload, TYPE, ed25519Signer(ours.privateKey, ours.keyId));
    const sig = Buffer.from(e.signatures[0]?.sig ?? "", "base64").toString("base64url");
    const text = JSON.stringify({ payload: payload.toString("base64url"), payloadType: TYPE, signatures: [{ sig }] });
    expect(verifyEnvelope(text, { publicKey: ours.publicKey, keyId: ours.keyId, payloadType: TYPE })).toEqual(payload);
  });

  it("finds our signature among others", () => {
    const other = signEnvelope(Buffer.from('{"hello":"world"}'), TYPE, ed25519Signer(theirs.privateKey, theirs.keyId));
    const text = JSON.stringify({ ...signed, signatures: [...other.signatures, ...signed.signatures] });
    expect(verifyEnvelope(text, { publicKey: ours.publicKey, keyId: ours.keyId, payloadType: TYPE }).toString()).toBe('{"hello":"world"}');
  });

  it("refuses a changed payload", () => {
    expectRefused(withFields({ payload: Buffer.from('{"hello":"World"}').toString("base64") }), "signature", `verifies with key ${ours.keyId}`);
  });

  it("refuses a changed payload type, even when the verifier expects the new type", () => {
    expectRefused(withFields({ payloadType: "application/json" }), "payload-type", "expected application/vnd.in-toto+json");
    // The type is inside PAE: the signature does not carry over to another type.
    expectRefused(withFields({ payloadType: "application/json" }), "signature", "verifies", "application/json");
  });

  it("refuses a signature by another key, also when it claims our key id", () => {
    const other = signEnvelope(Buffer.from('{"hello":"world"}'), TYPE, ed25519Signer(theirs.privateKey, theirs.keyId));
    expectRefused(JSON.stringify(other), "signature", "verifies");
    expectRefused(JSON.stringify({ ...other, signatures: [{ keyid: ours.keyId, sig: other.signatures[0]?.sig }] }), "signature", "verifies");
  });

  it("refuses an envelope with no signatures", () => {
    expectRefused(withFields({ signatures: [] }), "no-signatures", "has no signatures");
  });

  it("refuses malformed base64 in the payload and in a signature", () => {
    expectRefused(withFields({ payload: "not base64!" }), "malformed-base64", "payload is not base64");
    expectRefused(withFields({ payload: "eyJ" + "=" }), "malformed-base64", "payload is not base64");
    expectRefused(withFields({ payload: "YQ=a" }), "malformed-base64", "payload is not base64");
    expectRefused(withFields({ payload: "YR==" }), "malformed-base64", "payload is not base64"); // stray bits: not canonical
    expectRefused(withFields({ payload: 12 }), "malformed-base64", "payload is not base64");
    expectRefused(withFields({ signatures: [{ keyid: ours.keyId, sig: "%%%" }] }), "malformed-base64", "signature 1 is not base64");
  });

  it("refuses malformed JSON and malformed envelope fields", () => {
    expectRefused('{"payload": ', "malformed-json", "not JSON");
    expectRefused("[]", "malformed-envelope", "not a JSON object");
    expectRefused(withFields({ payloadType: undefined }), "malformed-envelope", "no payloadType");
    expectRefused(withFields({ signatures: "sig" }), "malformed-envelope", "no signatures list");
    expectRefused(withFields({ signatures: ["sig"] }), "malformed-envelope", "signature 1 is not an object");
    expectRefused(withFields({ signatures: [{ keyid: 7, sig: signed.signatures[0]?.sig }] }), "malformed-envelope", "keyid that is not a string");
    const error = refusal(() =>
      verifyEnvelope(Buffer.from([0x7b, 0xff, 0x7d]), { publicKey: ours.publicKey, keyId: ours.keyId, payloadType: TYPE }),
    );
    expect(error.problem).toBe("malformed-json");
  });

  it("bounds the envelope before parsing it", () => {
    // Valid JSON one byte over the bound: refused for its size, not parsed.
    const big = JSON.stringify({ ...signed, padding: "x".repeat(MAX_ENVELOPE_BYTES) });
    expectRefused(big, "too-large", `at most ${MAX_ENVELOPE_BYTES}`);
    const justOver = "x".repeat(MAX_ENVELOPE_BYTES + 1);
    expectRefused(justOver, "too-large", `${MAX_ENVELOPE_BYTES + 1} bytes`);
  });

  it("refuses keys that are not ed25519 and key ids that are not hex, as configuration errors", () => {
    const { privateKey: ecKey, publicKey: ecPublic } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    expect(() => ed25519Signer(ecKey, ours.keyId)).toThrow(ConfigurationError);
    expect(() => ed25519Signer(ours.publicKey, ours.keyId)).toThrow("ed25519 private key");
    expect(() => ed25519Signer(ours.privateKey, "KEY")).toThrow("hexadecimal");
    expect(() => verifyEnvelope(JSON.stringify(signed), { publicKey: ecPublic, keyId: ours.keyId, payloadType: TYPE })).toThrow(
      "ed25519 public key",
    );
  });

  it("reduces a private key given for verification to its public half", () => {
    expect(verifyEnvelope(JSON.stringify(signed), { publicKey: ours.privateKey, keyId: ours.keyId, payloadType: TYPE }).length).toBe(17);
  });
});
