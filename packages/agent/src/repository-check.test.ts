import { appendFileSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { startNginx, type NginxServer } from "@slmops/test-nginx";
import { CHANNEL, createTestRepository, DEVICE_CLASS, MODEL, type TestRepository } from "@slmops/test-release-repository";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkRepository, RepositoryCheckError } from "./repository-check.js";

let repo: TestRepository;
let nginx: NginxServer;
let root: Buffer;

/** The stored (hash-prefixed) model file of `version`. */
function storedModel(version: string): string {
  const dir = join(repo.dir, "targets", CHANNEL, MODEL, version, DEVICE_CLASS);
  const name = readdirSync(dir).find((n) => n.endsWith(".model.onnx"));
  if (name === undefined) throw new Error(`no stored model in ${dir}`);
  return join(dir, name);
}

/** Runs `check` with the stored model of 1.0.0 replaced by `change`, then puts it back. */
async function withChangedModel<T>(change: (file: string) => void, check: () => Promise<T>): Promise<T> {
  const file = storedModel("1.0.0");
  const saved = `${file}.saved`;
  renameSync(file, saved);
  try {
    change(file);
    return await check();
  } finally {
    renameSync(saved, file);
  }
}

async function refusal(promise: Promise<unknown>): Promise<RepositoryCheckError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RepositoryCheckError);
  return error as RepositoryCheckError;
}

beforeAll(async () => {
  repo = await createTestRepository();
  await repo.publish("1.0.0");
  await repo.rollout("1.0.0", { stage: 0 });
  root = readFileSync(repo.root);
  nginx = await startNginx({ root: repo.dir });
}, 120_000);
afterAll(async () => {
  await nginx?.stop();
});

describe("checkRepository: a repository checked as a device sees it", { timeout: 120_000 }, () => {
  it("checks every target of a directory in place and of a URL by download, the same list both ways", async () => {
    const inPlace = await checkRepository({ repository: repo.dir, root });
    const served = await checkRepository({ repository: nginx.url, root });
    expect(inPlace.targets).toEqual(served.targets);
    expect(inPlace.targets.some((p) => p.endsWith(`/${DEVICE_CLASS}/model.onnx`))).toBe(true);
    expect(inPlace.targets.some((p) => p.startsWith(`rollout/${CHANNEL}/`))).toBe(true);
    const other = await refusal(checkRepository({ repository: repo.dir, root, channel: "nightly" }));
    expect(other.message).toContain("holds no target on channel nightly");
  });

  it("refuses a root that is not root metadata, and names a repository that answers with an HTTP error", async () => {
    for (const wrong of [readFileSync(join(repo.dir, "metadata", "timestamp.json")), Buffer.from("version: 1\n")]) {
      const error = await refusal(checkRepository({ repository: repo.dir, root: wrong }));
      expect(error.message).toMatch(/^the given root is not TUF root metadata \(.+\); give the repository's metadata\/1\.root\.json, or the root a device was installed with$/);
    }
    const missing = await refusal(checkRepository({ repository: `${nginx.url}/elsewhere`, root }));
    expect(missing.message).toMatch(/^the release repository http:\/\/127\.0\.0\.1:\d+\/elsewhere answered HTTP 404 Not Found for its metadata; check the repository URL/);
  });

  it("refuses, by the target's name, a stored model one byte different, one byte longer, or a link to a good copy", async () => {
    const model = storedModel("1.0.0");
    const good = () => readFileSync(`${model}.saved`);
    const flipped = (file: string) => {
      const bytes = good();
      bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 1;
      writeFileSync(file, bytes);
    };
    for (const repository of [repo.dir, nginx.url]) {
      const error = await refusal(withChangedModel(flipped, () => checkRepository({ repository, root })));
      expect(error.message).toMatch(new RegExp(`target ${CHANNEL}/${MODEL}/1\\.0\\.0/${DEVICE_CLASS}/model\\.onnx does not verify: .*is not the signed file`));
    }
    const longer = (file: string) => {
      writeFileSync(file, good());
      appendFileSync(file, "x");
    };
    for (const repository of [repo.dir, nginx.url]) {
      const error = await refusal(withChangedModel(longer, () => checkRepository({ repository, root })));
      expect(error.message).toContain("model.onnx does not verify");
    }
    // In place, nothing is followed out of the repository, even to the right bytes.
    const linked = (file: string) => symlinkSync(`${file}.saved`, file);
    const error = await refusal(withChangedModel(linked, () => checkRepository({ repository: repo.dir, root })));
    expect(error.message).toContain("symbolic link");
    // Nor through a directory that is a link.
    const classDir = dirname(model);
    renameSync(classDir, `${classDir}.real`);
    symlinkSync(`${classDir}.real`, classDir);
    try {
      const viaLink = await refusal(checkRepository({ repository: repo.dir, root }));
      expect(viaLink.message).toMatch(/model\.onnx does not verify: .*link/);
    } finally {
      rmSync(classDir);
      renameSync(`${classDir}.real`, classDir);
    }
  });

  it("checks the rollout state the delegated role signs: a stored rollout state changed is refused by name", async () => {
    const dir = join(repo.dir, "targets", "rollout", CHANNEL);
    const file = join(dir, readdirSync(dir).find((n) => n.endsWith(`.${MODEL}.json`)) ?? `${MODEL}.json`);
    const good = readFileSync(file, "utf8");
    writeFileSync(file, good.replace(/"halted":\s*false/, '"halted":true'));
    try {
      expect(readFileSync(file, "utf8")).not.toBe(good);
      const error = await refusal(checkRepository({ repository: repo.dir, root }));
      expect(error.message).toContain(`target rollout/${CHANNEL}/${MODEL}.json does not verify`);
    } finally {
      writeFileSync(file, good);
    }
  });

  it("refuses a repository that does not chain to the root it is given", async () => {
    const other = await createTestRepository();
    await other.publish("1.0.0");
    const error = await refusal(checkRepository({ repository: repo.dir, root: readFileSync(other.root) }));
    expect(error.message).toContain("does not verify from the given root");
  });
});
