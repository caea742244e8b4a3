/**
 * Network helpers shared by the tests, e2e specs and benchmarks of several workspaces.
 */
import net from 'node:net';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago: the kernel picks one for a listener that is
 * closed at once. Another process may still take it before the caller binds it (the usual race of
 * this idiom), so callers start a server on it right away.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
