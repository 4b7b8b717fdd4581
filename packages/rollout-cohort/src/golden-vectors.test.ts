import { hash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { GOLDEN_EDGE_PERCENTS, GOLDEN_PERCENTS, goldenVectorsText, type GoldenVectorsDocument } from "./golden-vectors.js";
import { cohortValue, inCohort } from "./index.js";

const fileUrl = new URL("../golden-vectors.json", import.meta.url);
const fileText = readFileSync(fileUrl, "utf8");
const document = JSON.parse(fileText) as GoldenVectorsDocument;

/**
 * The definition again, written apart from the implementation: the one-shot
 * `crypto.hash` instead of `createHash`, the salt and the id encoded here,
 * the 64 bits read from the hex digest, the percentage split by hand.
 */
function independentValue(salt: string, deviceId: string): { message: string; sha256: string; value: bigint } {
  const message = Buffer.concat([Buffer.from(salt, "hex"), new TextEncoder().encode(deviceId)]);
  const sha256 = hash("sha256", message, "hex");
  return { message: message.toString("hex"), sha256, value: BigInt(`0x${sha256.slice(0, 16)}`) };
}

function independentIn(value: bigint, percent: string): boolean {
  const [whole, fraction = ""] = percent.split(".");
  const numerator = BigInt(`${whole}${fraction}`);
  const scale = 10n ** BigInt(fraction.length);
  return value * 100n * scale < numerator * 2n ** 64n;
}

describe("golden-vectors.json", () => {
  it("is what the generator writes (regenerate with `pnpm run golden-vectors`)", () => {
    expect(fileText).toBe(goldenVectorsText());
  });

  it("agrees with an independent computation of every field", () => {
    expect(document.vectors.length).toBeGreaterThanOrEqual(30);
    for (const v of document.vectors) {
      const ours = independentValue(v.salt, v.deviceId);
      expect(v.message).toBe(ours.message);
      expect(v.sha256).toBe(ours.sha256);
      expect(v.value).toMatch(/^[0-9a-f]{16}$/);
      expect(BigInt(`0x${v.value}`)).toBe(ours.value);
      expect(v.membership.map((m) => m.percent)).toEqual([...GOLDEN_PERCENTS]);
      for (const m of v.membership) expect(m.in, `${v.deviceId} at ${m.percent}%`).toBe(independentIn(ours.value, m.percent));
    }
    for (const t of document.thresholds) {
      const [whole, fraction = ""] = t.percent.split(".");
      const exact = (BigInt(`${whole}${fraction}`) * 2n ** 64n) / (100n * 10n ** BigInt(fraction.length));
      const divides = exact * 100n * 10n ** BigInt(fraction.length) === BigInt(`${whole}${fraction}`) * 2n ** 64n;
      expect(BigInt(`0x${t.threshold}`), t.percent).toBe(divides ? exact : exact + 1n);
    }
  });

  it("agrees with the implementation", () => {
    for (const v of document.vectors) {
      expect(cohortValue(v.salt, v.deviceId).toString(16).padStart(16, "0")).toBe(v.value);
      for (const m of v.membership) expect(inCohort(v.salt, v.deviceId, m.percent)).toBe(m.in);
    }
  });

  it("matches answers computed by a third implementation (Python's hashlib)", () => {
    const byKey = new Map(document.vectors.map((v) => [`${v.salt}/${v.deviceId}`, v.value]));
    const counting = Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, "0")).join("");
    expect(byKey.get(`${"00".repeat(32)}/a`)).toBe("41a0370c3d9f4277");
    expect(byKey.get(`${counting}/device-0`)).toBe("0ca7c0711e86d3f5");
    expect(byKey.get(`${counting}/ünïcødé-設備-🚀`)).toBe("b91074e193fe8cb0");
  });

  it("has, at each edge percentage, a device just inside and one just outside", () => {
    for (const percent of GOLDEN_EDGE_PERCENTS) {
      const at = document.vectors.filter((v) => v.deviceId.startsWith("edge-")).map((v) => v.membership.find((m) => m.percent === percent)?.in);
      expect(at, percent).toContain(true);
      expect(at, percent).toContain(false);
    }
  });
});
