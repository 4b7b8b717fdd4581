import { createHash } from "node:crypto";
import { getOctokit } from "@actions/github";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startGitHubTestServer, type GitHubTestServer } from "./server.js";
import { githubAssetName } from "./state.js";

const owner = "acme";
const repo = "edge-models";
let server: GitHubTestServer;
let octokit: ReturnType<typeof getOctokit>;

beforeAll(async () => {
  server = await startGitHubTestServer({ token: "test-token" });
  octokit = getOctokit("test-token", { baseUrl: server.url });
});
afterAll(async () => {
  await server.close();
});

/** Violations recorded since the test began. */
let seen = 0;
function newViolations(): typeof server.violations {
  const fresh = server.violations.slice(seen);
  seen = server.violations.length;
  return fresh;
}
afterEach(() => {
  seen = server.violations.length;
});

/** `n` bytes of a fixed pseudo-random sequence (every byte value occurs). */
function binary(n: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

const sha256 = (bytes: Uint8Array): string => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

/** Byte equality, without vitest's element-by-element comparison (seconds for a MiB). */
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** Uploads as an action does: to the release's hypermedia `upload_url`, with the raw bytes and their type and length. */
function upload(release: { id: number; upload_url: string }, name: string, data: Uint8Array, contentType = "application/octet-stream", label?: string) {
  return octokit.rest.repos.uploadReleaseAsset({
    owner,
    repo,
    release_id: release.id,
    url: release.upload_url,
    name,
    ...(label !== undefined ? { label } : {}),
    // octokit types the body as a string; it sends any BodyInit as is.
    data: data as unknown as string,
    headers: { "content-type": contentType, "content-length": data.byteLength },
  });
}

describe("releases through octokit", () => {
  it("creates a release, finds it by tag, uploads, lists, downloads and deletes assets, and updates it, with no violations", async () => {
    const created = await octokit.rest.repos.createRelease({ owner, repo, tag_name: "v1.0.0", name: "Story LM 1.0.0", body: "first", target_commitish: "main" });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe(`${server.url}/repos/${owner}/${repo}/releases/${created.data.id}`);
    expect(created.data).toMatchObject({ tag_name: "v1.0.0", name: "Story LM 1.0.0", body: "first", draft: false, prerelease: false, assets: [] });
    expect(created.data.upload_url).toBe(`${server.url}/repos/${owner}/${repo}/releases/${created.data.id}/assets{?name,label}`);
    expect(created.data.published_at).not.toBeNull();

    const byTag = await octokit.rest.repos.getReleaseByTag({ owner, repo, tag: "v1.0.0" });
    expect(byTag.data.id).toBe(created.data.id);

    const model = binary(1024 * 1024 + 512 * 1024 + 3);
    const manifest = new TextEncoder().encode('{"variant":"int4"}');
    const first = await upload(byTag.data, "story-lm-int4.onnx", model);
    expect(first.status).toBe(201);
    expect(first.data).toMatchObject({ name: "story-lm-int4.onnx", label: null, state: "uploaded", content_type: "application/octet-stream", size: model.byteLength, digest: sha256(model), download_count: 0 });
    expect(first.data.uploader?.login).toBe("github-actions[bot]");
    const second = await upload(byTag.data, "manifest.json", manifest, "application/json", "Release manifest");
    expect(second.data).toMatchObject({ name: "manifest.json", label: "Release manifest", content_type: "application/json", size: manifest.byteLength });
    expect(server.requests.filter((r) => r.operationId === "repos/upload-release-asset").map((r) => [r.status, r.bodyBytes])).toEqual([
      [201, model.byteLength],
      [201, manifest.byteLength],
    ]);

    // The bytes come back as uploaded, through browser_download_url and through the API's 302.
    const downloaded = await fetch(first.data.browser_download_url);
    expect(downloaded.status).toBe(200);
    const bytes = new Uint8Array(await downloaded.arrayBuffer());
    expect(bytes.byteLength).toBe(model.byteLength);
    expect(sameBytes(bytes, model)).toBe(true);
    const viaApi = await octokit.rest.repos.getReleaseAsset({ owner, repo, asset_id: first.data.id, headers: { accept: "application/octet-stream" } });
    expect(sameBytes(new Uint8Array(viaApi.data as unknown as ArrayBuffer), model)).toBe(true);
    expect((await octokit.rest.repos.getReleaseAsset({ owner, repo, asset_id: first.data.id })).data.download_count).toBe(2);

    const page = await octokit.rest.repos.listReleaseAssets({ owner, repo, release_id: created.data.id, per_page: 1 });
    expect(page.data.map((a) => a.name)).toEqual(["story-lm-int4.onnx"]);
    expect(page.headers.link).toMatch(/rel="next".*rel="last"/);
    const assets = await octokit.paginate(octokit.rest.repos.listReleaseAssets, { owner, repo, release_id: created.data.id, per_page: 1 });
    expect(assets.map((a) => a.name)).toEqual(["story-lm-int4.onnx", "manifest.json"]);

    const deleted = await octokit.rest.repos.deleteReleaseAsset({ owner, repo, asset_id: second.data.id });
    expect(deleted.status).toBe(204);
    await expect(octokit.rest.repos.getReleaseAsset({ owner, repo, asset_id: second.data.id })).rejects.toMatchObject({ status: 404 });
    expect((await fetch(second.data.browser_download_url)).status).toBe(404);
    expect((await octokit.rest.repos.listReleaseAssets({ owner, repo, release_id: created.data.id })).data.map((a) => a.id)).toEqual([first.data.id]);

    const updated = await octokit.rest.repos.updateRelease({ owner, repo, release_id: created.data.id, name: "Story LM 1.0.0 (int4)", prerelease: true });
    expect(updated.data).toMatchObject({ id: created.data.id, tag_name: "v1.0.0", name: "Story LM 1.0.0 (int4)", body: "first", prerelease: true });
    expect(updated.data.assets.map((a) => a.name)).toEqual(["story-lm-int4.onnx"]);
    expect((await octokit.rest.repos.getRelease({ owner, repo, release_id: created.data.id })).data.name).toBe("Story LM 1.0.0 (int4)");

    const [release, ...others] = server.state.releases(owner, repo);
    expect(others).toEqual([]);
    expect(release).toMatchObject({ id: created.data.id, tagName: "v1.0.0", name: "Story LM 1.0.0 (int4)", prerelease: true, draft: false });
    expect(release!.assets.map((a) => [a.name, a.contentType, a.digest])).toEqual([["story-lm-int4.onnx", "application/octet-stream", sha256(model)]]);
    expect(sameBytes(release!.assets[0]!.data, model)).toBe(true);
    expect(newViolations(), server.describeViolations()).toEqual([]);
  });

  it("refuses a second published release of a tag with GitHub's already_exists error; drafts share a tag and are not found by it", async () => {
    const r = "dup-tags";
    await octokit.rest.repos.createRelease({ owner, repo: r, tag_name: "v2" });
    const again = octokit.rest.repos.createRelease({ owner, repo: r, tag_name: "v2", name: "again" });
    await expect(again).rejects.toMatchObject({ status: 422, response: { data: { message: "Validation Failed", errors: [{ resource: "Release", code: "already_exists", field: "tag_name" }] } } });
    expect(server.state.releases(owner, r).map((x) => x.tagName)).toEqual(["v2"]);

    const draftA = await octokit.rest.repos.createRelease({ owner, repo: r, tag_name: "v3", draft: true });
    const draftB = await octokit.rest.repos.createRelease({ owner, repo: r, tag_name: "v3", draft: true });
    expect(draftA.data).toMatchObject({ draft: true, published_at: null, tarball_url: null });
    expect(draftA.data.html_url).toMatch(/\/releases\/tag\/untagged-[0-9a-f]{20}$/);
    await expect(octokit.rest.repos.getReleaseByTag({ owner, repo: r, tag: "v3" })).rejects.toMatchObject({ status: 404 });

    // Publishing one draft gives it the tag; publishing the other then collides.
    const published = await octokit.rest.repos.updateRelease({ owner, repo: r, release_id: draftA.data.id, draft: false });
    expect(published.data.draft).toBe(false);
    expect(published.data.published_at).not.toBeNull();
    expect((await octokit.rest.repos.getReleaseByTag({ owner, repo: r, tag: "v3" })).data.id).toBe(draftA.data.id);
    await expect(octokit.rest.repos.updateRelease({ owner, repo: r, release_id: draftB.data.id, draft: false })).rejects.toMatchObject({ status: 422 });
    // Renaming a published release onto a taken tag collides as well.
    await expect(octokit.rest.repos.updateRelease({ owner, repo: r, release_id: draftA.data.id, tag_name: "v2" })).rejects.toMatchObject({ status: 422 });
    expect(server.state.release(owner, r, draftB.data.id)?.draft).toBe(true);
    expect(server.state.release(owner, r, draftA.data.id)?.tagName).toBe("v3");
    // GitHub's refusals of valid requests are answers, not violations.
    expect(newViolations(), server.describeViolations()).toEqual([]);
  });

  it("refuses an asset name the release already has (after GitHub's renaming), and keeps the first asset", async () => {
    const r = "dup-assets";
    const release = (await octokit.rest.repos.createRelease({ owner, repo: r, tag_name: "v1" })).data;
    const renamed = await upload(release, "story lm (int4).onnx", binary(10, 7));
    expect(renamed.data.name).toBe("story.lm.int4.onnx");
    const again = upload(release, "story.lm.int4.onnx", binary(20, 8));
    await expect(again).rejects.toMatchObject({ status: 422, response: { data: { errors: [{ resource: "ReleaseAsset", code: "already_exists", field: "name" }] } } });
    const [stored, ...rest] = server.state.release(owner, r, release.id)!.assets;
    expect(rest).toEqual([]);
    expect(stored!.data).toEqual(binary(10, 7));
    expect(newViolations(), server.describeViolations()).toEqual([]);
  });

  it("lists releases newest first with pagination, and finds a tag with a slash whether the slash is encoded or not", async () => {
    const r = "many-releases";
    for (const tag of ["v1", "v2", "edge/v3"]) await octokit.rest.repos.createRelease({ owner, repo: r, tag_name: tag });
    const first = await octokit.rest.repos.listReleases({ owner, repo: r, per_page: 2 });
    expect(first.data.map((x) => x.tag_name)).toEqual(["edge/v3", "v2"]);
    expect(first.headers.link).toMatch(/rel="next"/);
    expect((await octokit.paginate(octokit.rest.repos.listReleases, { owner, repo: r, per_page: 2 })).map((x) => x.tag_name)).toEqual(["edge/v3", "v2", "v1"]);

    const encoded = await octokit.rest.repos.getReleaseByTag({ owner, repo: r, tag: "edge/v3" });
    expect(encoded.data.tag_name).toBe("edge/v3");
    const literal = await octokit.request(`GET /repos/${owner}/${r}/releases/tags/edge/v3`);
    expect((literal.data as { id: number }).id).toBe(encoded.data.id);
    await expect(octokit.rest.repos.getReleaseByTag({ owner, repo: r, tag: "edge/v4" })).rejects.toMatchObject({ status: 404 });
    expect(newViolations(), server.describeViolations()).toEqual([]);
  });

  it("serves a seeded release and its assets", async () => {
    const seeded = server.state.addRelease(owner, "seeded", { tagName: "v0.9.0", name: "old", assets: [{ name: "model.onnx", data: binary(300, 3) }, { name: "notes.txt", data: "hello", contentType: "text/plain" }] });
    const release = (await octokit.rest.repos.getReleaseByTag({ owner, repo: "seeded", tag: "v0.9.0" })).data;
    expect(release.id).toBe(seeded.id);
    expect(release.assets.map((a) => [a.name, a.size, a.content_type])).toEqual([
      ["model.onnx", 300, "application/octet-stream"],
      ["notes.txt", 5, "text/plain"],
    ]);
    const notes = await fetch(release.assets[1]!.browser_download_url);
    expect(await notes.text()).toBe("hello");
    expect(seeded.assets[1]!.downloadCount).toBe(1);
    expect(newViolations(), server.describeViolations()).toEqual([]);
  });
});

describe("release requests that do not conform", () => {
  it("records an upload without a name as a violation and stores nothing", async () => {
    const r = "bad-uploads";
    const release = (await octokit.rest.repos.createRelease({ owner, repo: r, tag_name: "v1" })).data;
    const bytes = binary(64);
    const request = octokit.request({ method: "POST", url: release.upload_url.replace(/\{\?name,label\}$/, ""), data: bytes, headers: { "content-type": "application/octet-stream", "content-length": bytes.byteLength } });
    await expect(request).rejects.toMatchObject({ status: 422 });
    const [violation, ...rest] = newViolations();
    expect(rest).toEqual([]);
    expect(violation).toMatchObject({ kind: "invalid-request", operationId: "repos/upload-release-asset", problems: ['query parameter "name" is required'] });
    expect(server.state.release(owner, r, release.id)!.assets).toEqual([]);
  });

  it("records an upload without a content-type, and one sent in chunks without a content-length", async () => {
    const r = "bad-uploads-2";
    const release = (await octokit.rest.repos.createRelease({ owner, repo: r, tag_name: "v1" })).data;
    const target = `${server.url}/repos/${owner}/${r}/releases/${release.id}/assets?name=a.bin`;
    const untyped = await fetch(target, { method: "POST", headers: { authorization: "token test-token" }, body: binary(16) });
    expect(untyped.status).toBe(422);
    expect(newViolations().map((v) => v.problems)).toEqual([["a content-type header is required (application/octet-stream)"]]);

    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(binary(16));
        controller.close();
      },
    });
    const chunked = await fetch(target, { method: "POST", headers: { authorization: "token test-token", "content-type": "application/zip" }, body: stream, duplex: "half" } as RequestInit);
    expect(chunked.status).toBe(422);
    expect(newViolations().map((v) => v.problems)).toEqual([["a content-length header is required (the body was not sent with one)"]]);
    expect(server.state.release(owner, r, release.id)!.assets).toEqual([]);
  });

  it("takes uploads up to maxUploadBytes while JSON bodies keep their own limit", async () => {
    const small = await startGitHubTestServer({ maxBodyBytes: 100, maxUploadBytes: 4096 });
    try {
      const client = getOctokit("any", { baseUrl: small.url });
      const release = (await client.rest.repos.createRelease({ owner, repo, tag_name: "v1" })).data;
      const send = (data: Uint8Array, name: string) =>
        client.rest.repos.uploadReleaseAsset({ owner, repo, release_id: release.id, url: release.upload_url, name, data: data as unknown as string, headers: { "content-type": "application/octet-stream", "content-length": data.byteLength } });
      expect((await send(binary(4096), "fits.bin")).data.size).toBe(4096);
      await expect(send(binary(4097), "too-big.bin")).rejects.toMatchObject({ status: 413 });
      await expect(client.rest.repos.updateRelease({ owner, repo, release_id: release.id, body: "x".repeat(200) })).rejects.toMatchObject({ status: 413 });
      expect(small.violations.map((v) => [v.kind, v.operationId])).toEqual([
        ["request-too-large", "repos/upload-release-asset"],
        ["request-too-large", "repos/update-release"],
      ]);
      expect(small.state.release(owner, repo, release.id)!.assets.map((a) => a.name)).toEqual(["fits.bin"]);
    } finally {
      await small.close();
    }
  });

  it("stores a JSON-typed upload as its bytes, and records a body sent where none is taken", async () => {
    const r = "bad-uploads-3";
    const release = (await octokit.rest.repos.createRelease({ owner, repo: r, tag_name: "v1" })).data;
    // Without a content-type, octokit sends `data` as JSON's: the asset is stored as that type, as GitHub would.
    const asJson = await octokit.rest.repos.uploadReleaseAsset({ owner, repo: r, release_id: release.id, url: release.upload_url, name: "x.json", data: "{}" });
    expect(asJson.data).toMatchObject({ content_type: "application/json; charset=utf-8", size: 2 });
    await expect(octokit.request({ method: "DELETE", url: `/repos/${owner}/${r}/releases/assets/${asJson.data.id}`, data: "{}" })).rejects.toMatchObject({ status: 422 });
    expect(newViolations().map((v) => [v.operationId, v.problems])).toEqual([["repos/delete-release-asset", ["repos/delete-release-asset takes no request body"]]]);
  });
});

describe("asset names", () => {
  it("renames special characters as GitHub reports it does", () => {
    expect(githubAssetName("story-lm_int4.onnx")).toBe("story-lm_int4.onnx");
    expect(githubAssetName("pkg-1.1.0-1~buster_amd64.deb")).toBe("pkg-1.1.0-1.buster_amd64.deb");
    expect(githubAssetName("app(x64)_1.0.msi")).toBe("app.x64._1.0.msi");
    expect(githubAssetName("a5_ !#$%&'(),-.0123;=@Z[]^_`z{}~.txt")).toBe("a5_.-.0123.Z._.z.txt");
    expect(githubAssetName("..hidden.")).toBe("hidden");
    expect(githubAssetName("café.bin")).toBe("cafe.bin");
  });
});
