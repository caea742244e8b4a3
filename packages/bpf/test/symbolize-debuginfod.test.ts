/**
 * debuginfod: a stripped binary is named (functions, inline frames, lines) through a real elfutils
 * `debuginfod` server serving its debug file, and not without it; a slow, oversized or lying server
 * cannot stall the symbolizer nor leave files in the cache.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { createSymbolizer } from '../src/symbolize/index.js';
import { DebuginfodClient, debuginfodFromEnv } from '../src/symbolize/debuginfod.js';
import { ElfFile } from '../src/symbolize/elf.js';
import { loadLibDwError } from '../src/ffi/libdw.js';
import { ROOT_SKIP, run, tmpDir, sleep } from './helpers.js';
import { buildNoFp, useTestTables, profileCfi } from './unwind-walk-helpers.js';
import { INLINE_SRC } from './inline-workload.js';
import { freePort } from '../../../tests/support/net.js';

useTestTables();

const HAVE_SERVER = spawnSync('debuginfod', ['--version'], { stdio: 'ignore' }).status === 0;
const SERVER_SKIP = HAVE_SERVER ? false : "elfutils' debuginfod server is not installed (scripts/setup.sh --test, or apt-get install debuginfod)";
const LIBDW_SKIP = loadLibDwError() ? `elfutils libdw is not installed: ${loadLibDwError()!.message}` : false;

function get(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(2000, () => req.destroy());
  });
}

/** A stripped -O2 -g workload whose debug file (by build-id) sits in its own directory. */
function strippedWorkload(name: string): { bin: string; debugDir: string; buildId: string } {
  const bin = buildNoFp(name, INLINE_SRC, ['-Wl,--build-id=sha1']);
  const debugDir = fs.mkdtempSync(path.join(tmpDir(), `${name}-served-`));
  const dbg = path.join(debugDir, `${name}.debug`);
  execFileSync('objcopy', ['--only-keep-debug', bin, dbg]);
  execFileSync('strip', ['--strip-all', bin]);
  const e = ElfFile.open(bin);
  const buildId = e.buildId!;
  assert.ok(buildId && !e.hasSymtab, 'stripped, with a build-id');
  e.close();
  return { bin, debugDir, buildId };
}

async function startDebuginfod(dir: string, buildId: string): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const db = path.join(fs.mkdtempSync(path.join(tmpDir(), 'debuginfod-db-')), 'db.sqlite');
  const env = { ...process.env };
  delete env.DEBUGINFOD_URLS; // no federation to other servers
  const proc = spawn('debuginfod', ['-F', '-p', String(port), '-d', db, '-t', '1', '-g', '0', '-c', '1', dir], { stdio: ['ignore', 'ignore', 'pipe'], env });
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => {
    err = (err + b.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  // it scans the directory in the background: wait until it serves the build-id
  for (let i = 0; i < 300; i++) {
    if (proc.exitCode !== null) throw new Error(`debuginfod exited (${proc.exitCode}): ${err}`);
    if ((await get(`${url}/buildid/${buildId}/debuginfo`)) === 200) return { url, proc };
    await sleep(100);
  }
  proc.kill('SIGKILL');
  throw new Error(`debuginfod did not serve ${buildId} within 30 s: ${err}`);
}

test('debuginfod: a stripped binary is named through a real debuginfod server, and not without it', {
  skip: ROOT_SKIP || SERVER_SKIP || LIBDW_SKIP,
  timeout: 120000,
}, async (t) => {
  const { bin, debugDir, buildId } = strippedWorkload('inl_stripped');
  const server = await startDebuginfod(debugDir, buildId);
  const cacheDir = fs.mkdtempSync(path.join(tmpDir(), 'dbginfod-cache-'));
  const sym = createSymbolizer({ debuginfod: { urls: [server.url], cacheDir, timeoutMs: 10_000 } });
  const bare = createSymbolizer({ debuginfod: false });
  const { child, done, go, ready } = run(bin, ['2500']);
  try {
    const { h, d } = await profileCfi({ child, ready, go, done }, sym, 997);
    try {
      let total = 0;
      let named = 0;
      let unnamed = 0;
      const seen = new Map<string, number>();
      for (const r of d.records) {
        if (r.pid !== child.pid) continue;
        total += r.value;
        const u = r.user.map((f) => `${f.name}${f.kind === 'inline' ? '[i]' : ''}`);
        const key = u.join(';');
        seen.set(key, (seen.get(key) ?? 0) + r.value);
        if (key.endsWith('main;il_outer;il_mid[i];il_leaf[i]') && r.user[r.user.length - 1].line !== undefined) named += r.value;
        if (u.some((n) => n.startsWith('inl_stripped+0x'))) unnamed += r.value;
      }
      const top = [...seen.entries()].sort((a, b) => b[1] - a[1]).slice(0, 4);
      t.diagnostic(`samples ${total}: named ${named}, not yet named ${unnamed}; top ${JSON.stringify(top)}; ${JSON.stringify(sym.stats().debuginfod)}`);
      assert.ok(total > 50, `samples of the workload: ${total}`);
      // the fetch runs while the capture goes on: names appear in later drains
      assert.ok(named > total * 0.5, `${named} of ${total} samples named main;il_outer;il_mid[i];il_leaf[i] with lines: ${JSON.stringify(top)}`);
      assert.equal(sym.stats().debuginfod!.fetched, 1);
      assert.ok(fs.statSync(path.join(cacheDir, buildId, 'debuginfo')).isFile(), 'cached in the standard client layout <cache>/<build-id>/debuginfo');
    } finally {
      h.close();
    }
  } finally {
    child.kill('SIGKILL');
    server.proc.kill('SIGTERM');
  }
  // the same addresses without debuginfod: the stripped binary's functions have no names
  const { child: c2, ready: r2 } = run(bin, ['100']);
  try {
    await r2;
    const maps = fs.readFileSync(`/proc/${c2.pid}/maps`, 'utf8').split('\n');
    const m = maps.find((l) => l.endsWith('inl_stripped') && l.split(/\s+/)[1].includes('x'))!;
    const start = parseInt(m.split('-')[0], 16);
    const f = bare.user(c2.pid!, [BigInt(start + 0x10)]);
    assert.equal(f.length, 1);
    assert.match(f[0].name, /^inl_stripped\+0x[0-9a-f]+$/, 'not named without debug info');
    assert.ok(!bare.stats().debuginfod);
  } finally {
    c2.kill('SIGKILL');
  }
});

/** A local server misbehaving in the ways the client must survive. */
async function hostileServer(): Promise<{ url: string; close: () => Promise<void>; hits: () => number }> {
  let hits = 0;
  const srv = http.createServer((req, res) => {
    hits++;
    const id = /\/buildid\/([0-9a-f]+)\//.exec(req.url ?? '')?.[1] ?? '';
    if (id.startsWith('51')) return; // slow: never answers
    if (id.startsWith('d1')) {
      // drips a byte every 100 ms: the whole-transfer timeout ends it
      res.writeHead(200);
      const t = setInterval(() => res.write('x'), 100);
      res.on('close', () => clearInterval(t));
      return;
    }
    if (id.startsWith('b1')) {
      // huge, no Content-Length: cut at the size limit
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      const pump = () => {
        while (res.write(chunk)) {
          if (res.destroyed) return;
        }
        res.once('drain', pump);
      };
      res.on('error', () => {});
      pump();
      return;
    }
    if (id.startsWith('c1')) {
      res.writeHead(200, { 'Content-Length': String(10 * 1024 * 1024 * 1024) });
      return res.end();
    }
    if (id.startsWith('e1')) {
      res.writeHead(200);
      return res.end('<html>not a debug file</html>');
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
  return {
    url,
    hits: () => hits,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

test('debuginfod: slow, dripping, oversized and lying servers time out or are cut, nothing stays in the cache, no retry storm', async () => {
  const srv = await hostileServer();
  const cacheDir = fs.mkdtempSync(path.join(tmpDir(), 'dbginfod-hostile-'));
  const c = new DebuginfodClient({ urls: [srv.url], cacheDir, timeoutMs: 800, maxBytes: 1 << 20, concurrency: 8 });
  try {
    const id = (p: string) => p + 'a'.repeat(38);
    const t0 = Date.now();
    // fetch() returns at once: the work is in the background
    const ps = ['51', 'd1', 'b1', 'c1', 'e1', 'f1'].map((p) => c.fetch(id(p)));
    assert.ok(Date.now() - t0 < 100, 'fetch() does not wait for the server');
    const rs = await Promise.all(ps);
    const took = Date.now() - t0;
    assert.deepEqual(rs, [undefined, undefined, undefined, undefined, undefined, undefined]);
    assert.ok(took < 5000, `all settled within the timeout (+ slack): ${took} ms`);
    assert.equal(c.stats.timeouts, 2, `slow and dripping servers time out: ${JSON.stringify(c.stats)}`);
    assert.equal(c.stats.tooLarge, 2, `the oversized answers are refused: ${JSON.stringify(c.stats)}`);
    assert.equal(c.stats.notFound, 1);
    assert.equal(c.stats.failed, 1, 'the non-ELF answer is refused');
    assert.ok(c.stats.bytes <= (1 << 20) + 256 * 1024, `transfer cut near the size limit: ${c.stats.bytes} bytes`);
    // nothing but empty build-id directories in the cache
    const left = fs.readdirSync(cacheDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    assert.deepEqual(
      left.map((e) => e.name),
      [],
      'no partial or rejected file is left in the cache',
    );
    // a miss is not asked again right away
    const hits = srv.hits();
    assert.equal(c.fetch(id('f1')), undefined);
    assert.equal(srv.hits(), hits);
  } finally {
    c.close();
    await srv.close();
  }
});

test('debuginfod: DEBUGINFOD_URLS (space-separated) and the standard cache path', () => {
  assert.equal(debuginfodFromEnv({}), undefined);
  const o = debuginfodFromEnv({ DEBUGINFOD_URLS: ' http://a:1  https://b/ ', DEBUGINFOD_TIMEOUT: '5', DEBUGINFOD_MAXSIZE: '1000' })!;
  assert.deepEqual(o, { urls: ['http://a:1', 'https://b/'], timeoutMs: 5000, maxBytes: 1000 });
  const c = new DebuginfodClient({ ...o, cacheDir: '/nonexistent-cache' });
  assert.deepEqual(c.urls, ['http://a:1', 'https://b']);
  assert.equal(c.fetch('not-a-build-id'), undefined, 'only hex build-ids are asked for');
  c.close();
});

test('debuginfod: settle(ms) waits for fetches under way, never longer than ms', async () => {
  const srv = await hostileServer();
  const cacheDir = fs.mkdtempSync(path.join(tmpDir(), 'dbginfod-settle-'));
  const sym = createSymbolizer({ debuginfod: { urls: [srv.url], cacheDir, timeoutMs: 30_000 } });
  const none = createSymbolizer({ debuginfod: false });
  try {
    const t0 = Date.now();
    await none.settle(5000);
    assert.ok(Date.now() - t0 < 100, 'nothing to wait for without debuginfod');
    // a fetch from the server that never answers (build-ids starting 51)
    const internal = sym as unknown as { debuginfod: DebuginfodClient };
    void internal.debuginfod.fetch(`51${'b'.repeat(38)}`);
    const t1 = Date.now();
    await sym.settle(300);
    const waited = Date.now() - t1;
    assert.ok(waited >= 250 && waited < 3000, `waited about 300 ms: ${waited}`);
  } finally {
    sym.close();
    await srv.close();
  }
});
