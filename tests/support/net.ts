/**
 * Network helpers shared by the tests, e2e specs and benchmarks of several workspaces.
 */
import type { ChildProcess } from 'node:child_process';
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

/**
 * The port a `bpfscope serve` child reports once it listens (its stdout line "… listening on
 * http://HOST:PORT"; started with `--port 0` it binds whatever is free). Rejects when the child
 * exits first or after `timeoutMs`, naming `what` and ending with the tail of `stderr()` if given.
 */
export function listeningPort(child: ChildProcess, opts: { what: string; timeoutMs: number; stderr?: () => string }): Promise<number> {
  const tail = () => (opts.stderr ? `; stderr:\n${opts.stderr().slice(-2000)}` : '');
  return new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${opts.what} did not start within ${opts.timeoutMs / 1000} s${tail()}`)), opts.timeoutMs);
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on http:\/\/[^\s]*:(\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${opts.what} exited with ${code}${tail()}`));
    });
  });
}
