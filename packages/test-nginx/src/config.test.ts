import { describe, expect, it } from "vitest";
import { READY_PATH, renderConfig, type NginxOptions } from "./config.js";
import { parseAccessLog } from "./access-log.js";
import { NginxNotFoundError, findNginx, inCi, skipWithoutNginx } from "./binary.js";

const context = { port: 18080, prefix: "/tmp/p", readyBody: "t:0", asRoot: false };
const render = (options: Partial<NginxOptions>, asRoot = false) => renderConfig({ root: "/srv/repo", ...options }, { ...context, asRoot });

describe("renderConfig", () => {
  it("listens on loopback only, serves the root, logs JSON lines into the prefix", () => {
    const conf = render({});
    expect(conf).toContain("listen 127.0.0.1:18080;");
    expect(conf).toContain('root "/srv/repo";');
    expect(conf).toContain('access_log "/tmp/p/logs/access.log" slmops_test;');
    expect(conf).toContain('error_log "/tmp/p/logs/error.log" info;');
    expect(conf).toContain('pid "/tmp/p/nginx.pid";');
    expect(conf).toContain(`location = ${READY_PATH} {`);
    expect(conf).not.toMatch(/max_ranges|limit_rate|add_header/);
  });

  it("runs workers as root only when the master is root (else nginx's default user nobody could not read a 0700 temp dir)", () => {
    expect(render({}, true)).toMatch(/^user root;$/m);
    expect(render({}, false)).not.toMatch(/^user /m);
  });

  it("writes the fault-injection options as nginx directives", () => {
    const conf = render({ ignoreRange: true, limitRate: 65536, limitRateAfter: 1000, headers: { "Cache-Control": "public, max-age=300" } });
    expect(conf).toContain("max_ranges 0;");
    expect(conf).toContain("limit_rate 65536;");
    expect(conf).toContain("limit_rate_after 1000;");
    expect(conf).toContain('add_header Cache-Control "public, max-age=300" always;');
  });

  it("repeats the server-wide headers in a location that adds its own (nginx would drop them), the location's value winning", () => {
    const conf = render({
      headers: { "Cache-Control": "max-age=300", "X-Cdn": "edge" },
      locations: [{ match: "/metadata/", headers: { "cache-control": "no-store" } }],
    });
    const block = conf.slice(conf.indexOf("location /metadata/"));
    expect(block).toContain('add_header cache-control "no-store" always;');
    expect(block).toContain('add_header X-Cdn "edge" always;');
    expect(block.slice(0, block.indexOf("}"))).not.toContain("max-age=300");
  });

  it("renders a status location, a redirect and raw directives", () => {
    const conf = render({
      locations: [
        { match: "= /metadata/timestamp.json", status: 503 },
        { match: "/broken/", status: 500, body: 'say "no"' },
        { match: "/old/", status: 302, body: "/new/" },
        { match: "/targets/", directives: "limit_rate 10;" },
      ],
    });
    expect(conf).toContain("location = /metadata/timestamp.json {\n      return 503;");
    expect(conf).toContain('return 500 "say \\"no\\"";');
    expect(conf).toContain('return 302 "/new/";');
    expect(conf).toContain("location /targets/ {\n      limit_rate 10;");
  });

  it("refuses what nginx would misread", () => {
    expect(() => render({ root: "relative/dir" })).toThrow(/absolute/);
    expect(() => render({ root: "/srv/$repo" })).toThrow(/variable/);
    expect(() => render({ headers: { "Bad Name": "x" } })).toThrow(/header name/);
    expect(() => render({ headers: { "X-A": "one\ntwo" } })).toThrow(/line break/);
    expect(() => render({ limitRate: -1 })).toThrow(/limitRate/);
    expect(() => render({ limitRate: 1.5 })).toThrow(/limitRate/);
    expect(() => render({ locations: [{ match: "/a/ { }" }] })).toThrow(/location match/);
    expect(() => render({ locations: [{ match: "/r/", status: 301 }] })).toThrow(/redirect URL/);
    expect(() => render({ locations: [{ match: "/r/", status: 42 }] })).toThrow(/HTTP status/);
    expect(() => render({ locations: [{ match: `= ${READY_PATH}` }] })).toThrow(/own location/);
    expect(() => render({ logHeaders: ["x y"] })).toThrow(/header name/);
  });

  it("logs the request headers asked for under their lower-case names", () => {
    expect(render({ logHeaders: ["X-Device-Id", "authorization"] })).toContain('"headers":{"x-device-id":"$http_x_device_id","authorization":"$http_authorization"}');
  });
});

describe("parseAccessLog", () => {
  it("reads the JSON lines, empty header fields as null, and leaves a line still being written", () => {
    const line = JSON.stringify({
      time: "2026-01-01T00:00:00+00:00", msec: 1767225600.123, method: "GET", uri: "/a?b=1", path: "/a", status: 206,
      bytesSent: 300, bodyBytesSent: 10, range: "bytes=0-9", ifRange: "", ifNoneMatch: "", userAgent: "", requestTime: 0.001,
      completion: "OK", connection: 3, connectionRequests: 1, headers: { "x-device-id": "d1", authorization: "" },
    });
    const [entry, ...rest] = parseAccessLog(`${line}\n${line.slice(0, 20)}`);
    expect(rest).toEqual([]);
    expect(entry).toMatchObject({ ms: 1767225600123, status: 206, range: "bytes=0-9", ifRange: null, userAgent: null, completed: true });
    expect(entry?.headers).toEqual({ "x-device-id": "d1", authorization: null });
  });
});

describe("finding nginx", () => {
  it("says how to install it when it is missing", () => {
    expect(() => findNginx({ SLMOPS_NGINX: "/nonexistent/nginx" })).toThrow(NginxNotFoundError);
    expect(() => findNginx({ SLMOPS_NGINX: "/nonexistent/nginx" })).toThrow(/apt-get install nginx/);
  });

  it("skips without nginx outside CI only; in CI the tests run and fail with that message", () => {
    const missing = { SLMOPS_NGINX: "/nonexistent/nginx" };
    expect(skipWithoutNginx({ ...missing, CI: "true" })).toBe(false);
    expect(skipWithoutNginx({ ...missing })).toBe(true);
    expect(skipWithoutNginx({ ...missing, CI: "false" })).toBe(true);
    expect(inCi({ CI: "1" })).toBe(true);
    expect(inCi({ CI: "0" })).toBe(false);
    expect(inCi({})).toBe(false);
  });
});
