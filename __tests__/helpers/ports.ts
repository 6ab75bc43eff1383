/** Loopback ports for the tests' fakes and for programs the tests start. */
import { createServer } from "net";

/**
 * A loopback port free now: the kernel's choice for a listener on port 0,
 * closed again. For a program started next that binds it itself; a random
 * pick from a fixed range could be one another test (or the kernel, for an
 * outgoing connection) holds at that moment.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
