/**
 * A static file server on 127.0.0.1 for the repository directory, as a CDN
 * would serve it: GET of a file under the root, 404 for anything else.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

export interface StaticServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function serveDirectory(root: string): Promise<StaticServer> {
  const server: Server = createServer((request, response) => {
    const pathname = decodeURIComponent(new URL(request.url ?? "/", "http://127.0.0.1").pathname);
    const file = path.join(root, pathname);
    if (request.method !== "GET" || !file.startsWith(root + path.sep)) {
      response.writeHead(404).end();
      return;
    }
    stat(file).then(
      (stats) => {
        if (!stats.isFile()) {
          response.writeHead(404).end();
          return;
        }
        response.writeHead(200, { "content-length": stats.size, "content-type": "application/octet-stream" });
        createReadStream(file).pipe(response);
      },
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}
