import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ProvenanceVerificationError, verifyReleaseProvenance } from "@slmops/release-provenance";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateSigningKey, provenancePath, publicKeyObjectOf, publishRelease } from "./index.js";
import { createFixture, MODEL, type Fixture } from "./test-support/fixtures.js";

let fx: Fixture;
beforeEach(async () => {
  fx = await createFixture();
});
afterEach(async () => {
  await fx.close();
});

/** What an auditor does: take the targets key from the device's trusted root, as TUF verified it. */
function targetsKeyFromRoot(rootJson: string): { publicKey: ReturnType<typeof publicKeyObjectOf>; keyId: string } {
  const root = JSON.parse(rootJson) as { signed: { keys: Record<string, { keyval: { public: string } }>; roles: { targets: { keyids: string[] } } } };
  const keyId = root.signed.roles.targets.keyids[0]!;
  return { publicKey: publicKeyObjectOf(root.signed.keys[keyId]!.keyval.public), keyId };
}

describe("a release's provenance", () => {
  it("is written beside the metadata, names every released file's sha256, and verifies with the targets key from root", async () => {
    const release = fx.release("1.0.0");
    const published = await publishRelease(fx.repo, release, { signers: fx.signers });
    expect(published.provenance).toBe("metadata/stable/tiny-llm/1.0.0.provenance.intoto.json");
    expect(provenancePath("stable", "tiny-llm", "1.0.0")).toBe(published.provenance);

    // The device's root, taken up over TUF.
    const dev = fx.device("a");
    const client = fx.updater(dev);
    await client.refresh();
    const key = targetsKeyFromRoot(readFileSync(join(dev.metadataDir, "root.json"), "utf8"));
    expect(key.keyId).toBe(fx.keys.targets.keyId);

    const response = await fetch(`${fx.server.url}/${published.provenance}`);
    expect(response.status).toBe(200);
    const envelope = Buffer.from(await response.arrayBuffer());
    const statement = verifyReleaseProvenance(envelope, key);
    const files = release.targets[0]!.identity.files;
    expect(statement.subject).toEqual([
      { name: MODEL, digest: { sha256: files[0]!.sha256 } },
      { name: `${MODEL}.data`, digest: { sha256: files[1]!.sha256 } },
    ]);
    expect(statement.predicate).toMatchObject({ model: "tiny-llm", version: "1.0.0", sourceCommit: release.sourceCommit, manifest: { digest: { sha256: release.manifestDigest } } });
    // The subjects are the hashes the signed targets metadata carries.
    for (const subject of statement.subject) expect((await client.getTargetInfo(subject.name))?.hashes["sha256"]).toBe(subject.digest.sha256);

    // Another key, even one claiming the targets key id, does not verify it.
    const other = generateSigningKey();
    for (const wrong of [{ publicKey: publicKeyObjectOf(other.publicKeyHex), keyId: key.keyId }, { publicKey: publicKeyObjectOf(fx.keys.rollout.publicKeyHex), keyId: fx.keys.rollout.keyId }]) {
      let error: unknown;
      try {
        verifyReleaseProvenance(envelope, wrong);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ProvenanceVerificationError);
      expect((error as ProvenanceVerificationError).problem).toBe("signature");
    }
    // Its text carries key ids, never key material.
    expect(envelope.toString("utf8")).not.toContain(fx.keys.targets.exportSecret());
  });

  it("is left as it was when the identical release is published again", async () => {
    const release = fx.release("1.0.0");
    const first = await publishRelease(fx.repo, release, { signers: fx.signers });
    const bytes = readFileSync(join(fx.repo, first.provenance));
    const again = await publishRelease(fx.repo, release, { signers: fx.signers });
    expect(again.changed).toBe(false);
    expect(readFileSync(join(fx.repo, again.provenance))).toEqual(bytes);
  });
});
