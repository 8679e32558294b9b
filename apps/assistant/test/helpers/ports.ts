// Loopback ports for tests that need one nobody listens on.
import { once } from 'node:events';
import { createServer } from 'node:net';

/**
 * A loopback port nothing listens on right now (bound by the OS, then released): connections to it are
 * refused, and a server started right after can take it.
 */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}
