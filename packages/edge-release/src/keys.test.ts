import { generateKeyPairSync } from "node:crypto";
import { inspect } from "node:util";
import { ConfigurationError } from "@slmops/diagnostics";
import { describe, expect, it } from "vitest";
import { generateSigningKey, keyIdOf, signingKeyFromEnvironment } from "./index.js";

describe("signing keys", () => {
  it("round-trips through the one-line environment form with the same TUF key id", () => {
    const key = generateSigningKey();
    const loaded = signingKeyFromEnvironment("SLMOPS_TARGETS_KEY", { SLMOPS_TARGETS_KEY: key.exportSecret() });
    expect(loaded.keyId).toBe(key.keyId);
    expect(key.keyId).toBe(keyIdOf(key.publicKeyHex));
    expect(key.keyId).toMatch(/^[0-9a-f]{64}$/);
  });

  it("never shows the secret when printed, inspected or serialised", () => {
    const key = generateSigningKey();
    const secret = key.exportSecret();
    for (const shown of [String(key), inspect(key, { showHidden: true, depth: 5 }), JSON.stringify({ key })]) {
      expect(shown).not.toContain(secret);
      expect(shown).toContain(key.keyId);
    }
  });

  it("refuses a missing variable, a PEM and a key of another type, naming the variable and not the value", () => {
    const pem = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ format: "der", type: "pkcs8" }).toString("base64");
    for (const value of [undefined, pem, rsa, "not base64!"]) {
      let error: unknown;
      try {
        signingKeyFromEnvironment("ROLLOUT_KEY", value === undefined ? {} : { ROLLOUT_KEY: value });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigurationError);
      const message = (error as Error).message;
      expect(message).toContain("ROLLOUT_KEY");
      if (value !== undefined) expect(message).not.toContain(value.length > 80 ? value.trim().slice(40, 80) : value);
      expect((error as Error).cause).toBeUndefined();
    }
  });
});
