/**
 * A loopback HTTP proxy that refuses everything and counts who tried. Handed to
 * a process as its proxy, it shows whether that process tried to reach the
 * network.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** A running trap. */
export interface NetworkTrap {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Request targets seen so far (`CONNECT host:443`, `GET http://…`). */
  readonly attempts: string[];
  close(): Promise<void>;
}

/** Starts a trap on an ephemeral loopback port. */
export async function startNetworkTrap(): Promise<NetworkTrap> {
  const attempts: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((request, response) => {
    attempts.push(`${request.method} ${request.url}`);
    response.writeHead(403).end();
  });
  server.on("connect", (request, socket: Socket) => {
    attempts.push(`CONNECT ${request.url}`);
    socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    attempts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
