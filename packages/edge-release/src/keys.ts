/**
 * ed25519 signing keys for the repository's roles. A private key lives in a
 * {@link SigningKey} and nowhere else: the object prints, inspects and
 * serialises as its key id only, and every error about a key names the
 * environment variable that held it, never its value.
 *
 * The environment form is one line: the private key as PKCS#8 DER, base64
 * encoded (`openssl pkey -in key.pem -outform DER | base64 -w0`). One line,
 * because a CI system masks a secret line by line: a multi-line PEM would be
 * masked piecewise, its header lines in the clear, and `::add-mask::` takes a
 * single line.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { inspect } from "node:util";
import { canonicalize } from "@tufjs/canonical-json";
import { Key, Signature } from "@tufjs/models";
import { ConfigurationError } from "@slmops/diagnostics";
import type { DsseSigner } from "@slmops/release-provenance";

/** DER prefix of an ed25519 SubjectPublicKeyInfo (RFC 8410); the raw 32-byte key follows. */
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** The TUF key id of an ed25519 public key: sha256 of the canonical JSON of its key object. */
export function keyIdOf(publicKeyHex: string): string {
  const key = { keytype: "ed25519", scheme: "ed25519", keyval: { public: publicKeyHex } };
  return createHash("sha256").update(canonicalize(key)).digest("hex");
}

/** A raw ed25519 public key (hex, as TUF metadata carries it) as a `node:crypto` key, to verify with. */
export function publicKeyObjectOf(publicKeyHex: string): KeyObject {
  if (!/^[0-9a-f]{64}$/.test(publicKeyHex)) throw new ConfigurationError("an ed25519 public key must be 64 lowercase hex digits");
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(publicKeyHex, "hex")]), format: "der", type: "spki" });
}

function rawPublicKeyHex(privateKey: KeyObject): string {
  const der = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  if (der.length !== ED25519_SPKI_PREFIX.length + 32 || !der.subarray(0, ED25519_SPKI_PREFIX.length).equals(ED25519_SPKI_PREFIX)) {
    throw new Error("an ed25519 public key did not have the expected encoding");
  }
  return der.subarray(ED25519_SPKI_PREFIX.length).toString("hex");
}

/** A role's private key. Holds the secret; shows only its key id. */
export class SigningKey {
  /** TUF key id (hex sha256 of the canonical public key object). */
  readonly keyId: string;
  /** The raw ed25519 public key, hex, as TUF metadata carries it. */
  readonly publicKeyHex: string;
  readonly #privateKey: KeyObject;

  private constructor(privateKey: KeyObject) {
    this.#privateKey = privateKey;
    this.publicKeyHex = rawPublicKeyHex(privateKey);
    this.keyId = keyIdOf(this.publicKeyHex);
  }

  /** @internal */
  static fromKeyObject(privateKey: KeyObject): SigningKey {
    return new SigningKey(privateKey);
  }

  /** The public key as a TUF `Key`, for root metadata and delegations. */
  publicKey(): Key {
    return new Key({ keyID: this.keyId, keyType: "ed25519", scheme: "ed25519", keyVal: { public: this.publicKeyHex } });
  }

  /** Signs canonical bytes; the signer `Metadata.sign` expects. */
  readonly signer = (data: Buffer): Signature =>
    new Signature({ keyID: this.keyId, sig: sign(null, data, this.#privateKey).toString("hex") });

  /** Signs a DSSE envelope's pre-authentication encoding; the key id is the TUF key id. */
  dsseSigner(): DsseSigner {
    const privateKey = this.#privateKey;
    return { keyId: this.keyId, sign: (data: Buffer): Buffer => sign(null, data, privateKey) };
  }

  /**
   * The private key in its environment form (one line of base64 PKCS#8 DER).
   * Only for writing where the user asked — a secret store or a file of
   * mode 0600 — never for a log.
   */
  exportSecret(): string {
    return this.#privateKey.export({ format: "der", type: "pkcs8" }).toString("base64");
  }

  toString(): string {
    return `ed25519 key ${this.keyId}`;
  }

  toJSON(): { keyId: string } {
    return { keyId: this.keyId };
  }

  [inspect.custom](): string {
    return `SigningKey(${this.keyId})`;
  }
}

/** A new random ed25519 key. */
export function generateSigningKey(): SigningKey {
  const { privateKey } = generateKeyPairSync("ed25519");
  return SigningKey.fromKeyObject(privateKey);
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Reads the key held by environment variable `name` in its one-line form.
 * Every refusal is a {@link ConfigurationError} naming the variable only.
 */
export function signingKeyFromEnvironment(name: string, env: NodeJS.ProcessEnv = process.env): SigningKey {
  const value = env[name];
  if (value === undefined || value.trim() === "") {
    throw new ConfigurationError(`environment variable ${name} is not set; it must hold an ed25519 private key (base64 PKCS#8 DER, one line)`);
  }
  return signingKeyFromSecret(value, name);
}

/**
 * Parses a key in its one-line form; `origin` names where it came from in
 * error messages (an environment variable or secret name, never the value).
 */
export function signingKeyFromSecret(secret: string, origin: string): SigningKey {
  const text = secret.trim();
  if (text.startsWith("-----BEGIN")) {
    throw new ConfigurationError(
      `${origin} holds a PEM; store the key as one line of base64 PKCS#8 DER instead (openssl pkey -in key.pem -outform DER | base64 -w0), so that it is masked whole`,
    );
  }
  if (!BASE64.test(text)) {
    throw new ConfigurationError(`${origin} is not base64; it must hold an ed25519 private key as one line of base64 PKCS#8 DER`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(text, "base64"), format: "der", type: "pkcs8" });
  } catch {
    // The cause would quote parser internals about the secret's bytes: left out on purpose.
    throw new ConfigurationError(`${origin} is not a PKCS#8 private key; it must hold an ed25519 private key as one line of base64 PKCS#8 DER`);
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new ConfigurationError(`${origin} holds a ${key.asymmetricKeyType ?? "non-asymmetric"} key; the repository's roles sign with ed25519`);
  }
  return SigningKey.fromKeyObject(key);
}
