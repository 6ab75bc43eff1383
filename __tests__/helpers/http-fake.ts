/** Small HTTP fakes on loopback ports (metadata services, the Mesos masters' API) for programs the tests run. */
import { createServer, IncomingMessage, Server, ServerResponse } from "http";
import { AddressInfo } from "net";

/** Answers one request; `body` is the whole request body. */
export type FakeHandler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

const servers: Server[] = [];

/** Serves `handler` on a free loopback port and returns its base URL; {@link closeFakes} ends it. */
export async function serveFake(handler: FakeHandler): Promise<string> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => handler(req, body, res));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Ends every fake this test file started (its afterAll). */
export function closeFakes(): void {
  for (const server of servers.splice(0)) server.close();
}

/** A reply: a string as text/plain, anything else as JSON. */
export function reply(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { "content-type": typeof value === "string" ? "text/plain" : "application/json" });
  res.end(typeof value === "string" ? value : JSON.stringify(value));
}
