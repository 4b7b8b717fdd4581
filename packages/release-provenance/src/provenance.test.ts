import { createHash, generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigurationError } from "@slmops/diagnostics";
import {
  ed25519Signer,
  envelopeText,
  IN_TOTO_PAYLOAD_TYPE,
  ProvenanceVerificationError,
  releaseStatement,
  signEnvelope,
  signReleaseStatement,
  verifyReleaseProvenance,
  type ReleaseFacts,
} from "./index.js";

const sha = (text: string) => createHash("sha256").update(text).digest("hex");
const FILES = [
  { name: "targets/model.onnx.data", sha256: sha("data") },
  { name: "targets/model.onnx", sha256: sha("model") },
  { name: "targets/health-check.json", sha256: sha("fixture") },
];
const FACTS: ReleaseFacts = { model: "tiny-chat", version: "1.4.0-rc.1", sourceCommit: "a".repeat(40), manifestSha256: sha("slmops.yaml") };

const { privateKey, publicKey } = generateKeyPairSync("ed25519");
const keyId = createHash("sha256").update(publicKey.export({ format: "der", type: "spki" })).digest("hex");
const signer = ed25519Signer(privateKey, keyId);

describe("releaseStatement", () => {
  it("is an in-toto Statement v1 with every file, sorted by name, and the release's facts", () => {
    expect(releaseStatement(FILES, FACTS)).toEqual({
      _type: "https://in-toto.io/Statement/v1",
      subject: [
        { name: "targets/health-check.json", digest: { sha256: sha("fixture") } },
        { name: "targets/model.onnx", digest: { sha256: sha("model") } },
        { name: "targets/model.onnx.data", digest: { sha256: sha("data") } },
      ],
      predicateType: "https://slmops.dev/provenance/release/v1",
      predicate: { model: "tiny-chat", version: "1.4.0-rc.1", sourceCommit: "a".repeat(40), manifest: { digest: { sha256: sha("slmops.yaml") } } },
    });
  });

  it.each([
    [[], FACTS, "at least one released file"],
    [[...FILES, { name: "targets/model.onnx", sha256: sha("other") }], FACTS, '"targets/model.onnx" is listed twice'],
    [[{ name: "m.onnx", sha256: sha("m").toUpperCase() }], FACTS, "64 lowercase hexadecimal"],
    [[{ name: "m\n.onnx", sha256: sha("m") }], FACTS, "control characters"],
    [[{ name: "", sha256: sha("m") }], FACTS, "non-empty"],
    [FILES, { ...FACTS, sourceCommit: "abc123" }, "full commit id"],
    [FILES, { ...FACTS, manifestSha256: "00" }, "the manifest's sha256"],
    [FILES, { ...FACTS, version: "" }, "the release version must be a non-empty string"],
  ])("refuses mistakes with one ConfigurationError (%#)", (files, facts, message) => {
    expect(() => releaseStatement(files, facts)).toThrow(ConfigurationError);
    expect(() => releaseStatement(files, facts)).toThrow(message);
  });
});

describe("signReleaseStatement and verifyReleaseProvenance", () => {
  const statement = releaseStatement(FILES, FACTS);
  const envelope = signReleaseStatement(statement, signer);

  it("signs an in-toto envelope the targets key verifies, from its file text", () => {
    expect(envelope.payloadType).toBe(IN_TOTO_PAYLOAD_TYPE);
    expect(JSON.parse(Buffer.from(envelope.payload, "base64").toString("utf8"))).toEqual(statement);
    expect(verifyReleaseProvenance(envelopeText(envelope), { publicKey, keyId })).toEqual(statement);
  });

  it("refuses a statement whose digest was changed after signing", () => {
    const forged = { ...statement, subject: statement.subject.map((s, i) => (i === 0 ? { ...s, digest: { sha256: sha("evil") } } : s)) };
    const text = JSON.stringify({ ...envelope, payload: Buffer.from(JSON.stringify(forged)).toString("base64") });
    expect(() => verifyReleaseProvenance(text, { publicKey, keyId })).toThrow(ProvenanceVerificationError);
    expect(() => verifyReleaseProvenance(text, { publicKey, keyId })).toThrow("no signature");
  });

  it("refuses a well-signed payload that is not a release statement", () => {
    for (const [payload, message] of [
      ["not json", "payload is not JSON"],
      ['{"_type":"https://in-toto.io/Statement/v0.1"}', "its _type is not https://in-toto.io/Statement/v1"],
      [JSON.stringify({ ...statement, predicateType: "https://slsa.dev/provenance/v1" }), "its predicateType"],
      [JSON.stringify({ ...statement, subject: [] }), "at least one released file"],
    ] as const) {
      const e = envelopeText(signEnvelope(Buffer.from(payload), IN_TOTO_PAYLOAD_TYPE, signer));
      let error: unknown;
      try {
        verifyReleaseProvenance(e, { publicKey, keyId });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ProvenanceVerificationError);
      expect((error as ProvenanceVerificationError).problem).toBe("malformed-statement");
      expect((error as Error).message).toContain(message);
    }
  });
});
