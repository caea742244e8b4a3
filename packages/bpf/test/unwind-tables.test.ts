/**
 * UnwindTables: the API the BPF loader uses (worker thread, dedupe, disk cache with LRU bound and
 * corruption checks, root prefix for containers, separate debug files with .debug_frame, vDSO) and
 * its answers for bad input.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { UnwindTables, defaultCacheDir } from '../src/unwind/tables.js';
import { DiskCache, decodeCacheFile, encodeCacheFile } from '../src/unwind/cache.js';
import { generateTable } from '../src/unwind/generate.js';
import { CFA_INVALID, CFA_STOP, ROW_SIZE, findRow, formatRule, readRow } from '../src/unwind/format.js';
import { expected, hasTool, parseFramesInterp } from './unwind-helpers.js';

const LIBC = existsSync('/lib/x86_64-linux-gnu/libc.so.6') ? realpathSync('/lib/x86_64-linux-gnu/libc.so.6') : undefined;
const LDSO = existsSync('/lib64/ld-linux-x86-64.so.2') ? realpathSync('/lib64/ld-linux-x86-64.so.2') : undefined;
const NO_LIBS = !LIBC || !LDSO ? 'needs glibc (libc.so.6 and ld.so) at the Debian paths' : false;
const NO_GCC =
  !hasTool('gcc') || !hasTool('objcopy') || !hasTool('readelf') ? 'needs gcc and binutils (objcopy, readelf): apt-get install gcc binutils' : false;

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'bpfscope-unwind-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function buildIdOf(path: string): string {
  const out = execFileSync('readelf', ['-n', path]).toString();
  const m = /Build ID: ([0-9a-f]+)/.exec(out);
  assert.ok(m, `no build-id in ${path}`);
  return m[1];
}

describe('UnwindTables API', () => {
  it('generates a table in the worker, shares concurrent requests and answers later ones from memory', { skip: NO_LIBS }, async () => {
    const u = new UnwindTables();
    try {
      const [a, b, c] = await Promise.all([u.get(LIBC!), u.get(LIBC!), u.get(LIBC!)]);
      assert.equal(a, b);
      assert.equal(a, c);
      assert.equal(u.stats.generated, 1);
      assert.equal(u.stats.deduped, 2);
      assert.ok(a.count > 1000, `libc: ${a.count} rows`);
      assert.equal(a.rows.byteLength, a.count * ROW_SIZE);
      assert.equal(a.source, 'eh_frame');
      assert.equal(a.error, undefined);
      if (hasTool('readelf')) assert.equal(a.buildId, buildIdOf(LIBC!));
      // same bytes as generating on this thread
      assert.deepEqual(Buffer.from(a.rows), Buffer.from(generateTable(LIBC!).rows));
      const again = await u.get(LIBC!);
      assert.equal(again, a);
      assert.equal(u.stats.memoryHits, 1);
    } finally {
      u.close();
    }
  });

  it("generation does not hold the caller's event loop (worker thread)", {
    skip: existsSync('/usr/bin/node') ? false : 'needs /usr/bin/node (a large .eh_frame)',
  }, async () => {
    const u = new UnwindTables();
    try {
      await u.get(LDSO ?? '/usr/bin/node'); // worker started
      let ticks = 0;
      const iv = setInterval(() => ticks++, 1);
      const t = await u.get(realpathSync('/usr/bin/node'));
      clearInterval(iv);
      assert.ok(t.count > 10000);
      // node's table takes a few hundred ms to make; in-thread, no timer could fire meanwhile
      assert.ok(ticks >= 5, `only ${ticks} timer ticks while the table was generated`);
    } finally {
      u.close();
    }
  });

  it('the memory cache is bounded (LRU by bytes); close() rejects what is pending', { skip: NO_LIBS }, async () => {
    const ld = generateTable(LDSO!);
    // room for ld.so's table only: libc's table does not fit and is not kept; ld.so stays
    const u = new UnwindTables({ maxMemoryBytes: ld.rows.byteLength + 1024 });
    try {
      await u.get(LDSO!);
      await u.get(LIBC!);
      await u.get(LDSO!);
      assert.equal(u.stats.memoryHits, 1);
      await u.get(LIBC!);
      assert.equal(u.stats.generated, 3, 'libc was made again: too large for the memory bound');
    } finally {
      u.close();
    }
    const u2 = new UnwindTables();
    const pending = u2.get(LIBC!);
    u2.close();
    await assert.rejects(pending, /closed/);
  });

  it('bad input resolves with an empty table and a reason, never a rejection', async () => {
    const d = tmp();
    writeFileSync(join(d, 'text'), 'not an ELF file at all\n');
    const u = new UnwindTables();
    try {
      const cases: Array<[string, RegExp]> = [
        [join(d, 'missing.so'), /ENOENT|no such file/i],
        [join(d, 'text'), /not an ELF file/],
        ['relative/lib.so', /not absolute/],
        [d, /not a regular file/],
      ];
      for (const [p, re] of cases) {
        const t = await u.get(p);
        assert.equal(t.count, 0, p);
        assert.match(t.error ?? '', re, `${p}: ${t.error}`);
        assert.ok(Object.keys(t.reasons).length > 0, `${p}: a reason is counted`);
      }
      if (LDSO) {
        // an ELF truncated inside its .eh_frame
        const eh = execFileSync('readelf', ['-SW', LDSO])
          .toString()
          .split('\n')
          .find((l) => /\s\.eh_frame\s/.test(l));
        assert.ok(eh);
        const off = parseInt(eh.trim().split(/\s+/)[4], 16);
        const whole = readFileSync(LDSO);
        writeFileSync(join(d, 'trunc.so'), whole.subarray(0, off + 100));
        const t = await u.get(join(d, 'trunc.so'));
        assert.equal(t.count, 0);
        assert.ok(t.error, 'the truncated object says why it has no table');
      }
    } finally {
      u.close();
    }
    await assert.rejects(u.get('/lib/x86_64-linux-gnu/libc.so.6'), /closed/);
  });

  it('reads objects through a root prefix (containers), with the same rows', { skip: NO_LIBS }, async () => {
    const root = tmp();
    mkdirSync(join(root, 'opt/app/lib'), { recursive: true });
    copyFileSync(LDSO!, join(root, 'opt/app/lib/ld.so'));
    const u = new UnwindTables();
    try {
      const t = await u.get('/opt/app/lib/ld.so', { root });
      assert.equal(t.error, undefined);
      assert.deepEqual(Buffer.from(t.rows), Buffer.from(generateTable(LDSO!).rows));
      // this process's own root, as the tracker passes it (/proc/PID/root)
      const own = await u.get('/lib/x86_64-linux-gnu/libc.so.6', { root: `/proc/${process.pid}/root` });
      assert.deepEqual(Buffer.from(own.rows), Buffer.from(generateTable(LIBC!).rows));
      const missing = await u.get(LDSO!, { root });
      assert.equal(missing.count, 0, 'the host path is not visible inside the root');
    } finally {
      u.close();
    }
  });

  it('objects without section headers: .eh_frame found through PT_GNU_EH_FRAME and .eh_frame_hdr', { skip: NO_LIBS }, async () => {
    const d = tmp();
    for (const lib of [LIBC!, LDSO!]) {
      const b = Buffer.from(readFileSync(lib));
      b.writeBigUInt64LE(0n, 40); // e_shoff
      b.writeUInt16LE(0, 60); // e_shnum
      b.writeUInt16LE(0, 62); // e_shstrndx
      const p = join(d, `noshdr-${lib.split('/').pop()}`);
      writeFileSync(p, b);
      const t = generateTable(p);
      assert.equal(t.error, undefined, t.error);
      assert.equal(t.reasons['eh-frame-via-program-header'], 1);
      assert.deepEqual(Buffer.from(t.rows), Buffer.from(generateTable(lib).rows), `${lib}: same rows as with section headers`);
    }
  });

  it('the vDSO of a process', async () => {
    const u = new UnwindTables();
    try {
      const t = await u.getVdso(process.pid);
      assert.equal(t.error, undefined);
      assert.ok(t.count > 0, 'the x86-64 vDSO has .eh_frame');
      const bad = await u.getVdso(-1);
      assert.match(bad.error ?? '', /invalid pid/);
    } finally {
      u.close();
    }
  });
});

describe('.debug_frame from a separate debug file (build-id and debuglink)', () => {
  const SRC = `
#include <stdio.h>
#include <stdlib.h>
__attribute__((noinline)) long leaf(long x) { volatile long a[64]; for (int i = 0; i < 64; i++) a[i] = x * i; return a[x & 63]; }
__attribute__((noinline)) long mid(long x) { return leaf(x) + leaf(x + 1); }
__attribute__((noinline)) long framed(long n) { volatile char *p = __builtin_alloca(n); p[0] = 1; p[n - 1] = 2; return mid(p[0] + p[n - 1]) + 1; }
int main(int argc, char **argv) { printf("%ld\\n", framed(argc * 16)); return 0; }
`;
  it('finds the debug file under <root>/usr/lib/debug/.build-id, and its rows agree with readelf', { skip: NO_GCC }, async () => {
    const root = tmp();
    const work = tmp();
    writeFileSync(join(work, 'p.c'), SRC);
    const full = join(work, 'p.full');
    // no .eh_frame: gcc puts the CFI in .debug_frame
    execFileSync('gcc', [
      '-O2',
      '-g',
      '-fno-asynchronous-unwind-tables',
      '-fno-unwind-tables',
      '-fno-omit-frame-pointer',
      '-Wl,--build-id',
      '-o',
      full,
      join(work, 'p.c'),
    ]);
    const sections = execFileSync('readelf', ['-SW', full]).toString();
    assert.match(sections, /\.debug_frame/);
    const id = buildIdOf(full);
    const dbgPath = join(root, 'usr/lib/debug/.build-id', id.slice(0, 2), `${id.slice(2)}.debug`);
    mkdirSync(dirname(dbgPath), { recursive: true });
    execFileSync('objcopy', ['--only-keep-debug', full, dbgPath]);
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    const stripped = join(root, 'usr/bin/p');
    execFileSync('objcopy', ['--strip-debug', full, stripped]);
    assert.doesNotMatch(execFileSync('readelf', ['-SW', stripped]).toString(), /\.debug_frame/);

    const u = new UnwindTables();
    try {
      const t = await u.get('/usr/bin/p', { root });
      assert.equal(t.error, undefined, t.error);
      // .eh_frame from the C runtime objects (_start...), .debug_frame for the code built here
      assert.equal(t.source, 'eh_frame+debug_frame');
      const direct = generateTable(full);
      assert.deepEqual(Buffer.from(t.rows), Buffer.from(direct.rows), 'same rows as from the unstripped binary');
      // every readelf row of every FDE
      const out = spawnSync('readelf', ['--debug-dump=frames-interp', full], { stdio: ['ignore', 'pipe', 'ignore'] });
      const fdes = parseFramesInterp(out.stdout.toString('latin1'));
      assert.ok(fdes.length >= 4, `${fdes.length} FDEs in the debug file`);
      let checked = 0;
      for (const f of fdes) {
        for (let ri = 0; ri < f.rows.length; ri++) {
          const r = f.rows[ri];
          const end = ri + 1 < f.rows.length ? f.rows[ri + 1].loc : f.end;
          for (const pc of [r.loc, end - 1]) {
            const got = readRow(t.rows, findRow(t.rows, pc));
            const e = expected(r, false);
            const where = `pc 0x${pc.toString(16)} readelf "${r.cfa} rbp=${r.rbp} ra=${r.ra}" got ${formatRule(got)}`;
            assert.ok(e.kinds.includes(got.cfaKind), where);
            if (e.off !== undefined) assert.equal(got.cfaOff, e.off, where);
            if (e.rbp) assert.ok(e.rbp.includes(got.rbpKind), where);
            if (e.rbpOff !== undefined) assert.equal(got.rbpOff, e.rbpOff, where);
            checked++;
          }
        }
      }
      assert.ok(checked > 10, `${checked} addresses checked`);
      // framed() keeps rbp: an rbp-based CFA row with rbp saved at CFA-16
      const sym = execFileSync('sh', ['-c', `readelf -sW ${full} | awk '$8 == "framed" { print $2 }'`])
        .toString()
        .trim();
      const framed = parseInt(sym, 16);
      const rows = [];
      for (let i = findRow(t.rows, framed); i < t.count && readRow(t.rows, i).pc < framed + 64; i++) rows.push(formatRule(readRow(t.rows, i)));
      assert.ok(rows.includes('rbp+16 rbp=c-16'), `framed(): ${rows.join(', ')}`);
    } finally {
      u.close();
    }
  });

  it('finds the debug file through .gnu_debuglink next to the object', { skip: NO_GCC }, async () => {
    const root = tmp();
    const work = tmp();
    writeFileSync(join(work, 'p.c'), SRC);
    const full = join(work, 'p.full');
    execFileSync('gcc', ['-O2', '-g', '-fno-asynchronous-unwind-tables', '-fno-unwind-tables', '-Wl,--build-id=none', '-o', full, join(work, 'p.c')]);
    mkdirSync(join(root, 'opt/x/.debug'), { recursive: true });
    execFileSync('objcopy', ['--only-keep-debug', full, join(root, 'opt/x/.debug/p.debug')]);
    execFileSync('objcopy', ['--strip-debug', `--add-gnu-debuglink=${join(root, 'opt/x/.debug/p.debug')}`, full, join(root, 'opt/x/p')]);
    const u = new UnwindTables();
    try {
      const t = await u.get('/opt/x/p', { root });
      assert.equal(t.source, 'eh_frame+debug_frame', `${t.source} ${t.error}`);
      assert.equal(t.buildId, undefined);
      assert.deepEqual(Buffer.from(t.rows), Buffer.from(generateTable(full).rows));
      // _start (from crt1.o's .eh_frame) is the outermost frame
      const kinds = Array.from({ length: t.count }, (_, i) => readRow(t.rows, i).cfaKind);
      assert.ok(kinds.includes(CFA_STOP), '_start: return address undefined → STOP');
      assert.equal(kinds[kinds.length - 1], CFA_INVALID, 'the table ends with an INVALID row');
    } finally {
      u.close();
    }
  });
});

describe('compressed .debug_frame in debug files', () => {
  it('SHF_COMPRESSED zlib and .zdebug_frame are read; zstd is reported, not misread', { skip: NO_GCC }, async () => {
    const work = tmp();
    // enough functions that compression pays (objcopy leaves a section alone when it would not shrink)
    let src = 'volatile long sink;\n__attribute__((noinline)) long f0(long x) { sink = x; return x; }\n';
    for (let i = 1; i < 200; i++)
      src += `__attribute__((noinline)) long f${i}(long x) { long a[${(i % 7) + 1}]; a[0] = x; sink = a[0]; return f${i - 1}(x + a[0]) * ${i}; }\n`;
    src += 'int main(int c, char **v) { (void)v; return (int)f199(c); }\n';
    writeFileSync(join(work, 'p.c'), src);
    const full = join(work, 'p.full');
    execFileSync('gcc', ['-O2', '-g', '-fno-asynchronous-unwind-tables', '-Wl,--build-id', '-o', full, join(work, 'p.c')]);
    const plain = generateTable(full);
    assert.equal(plain.source, 'eh_frame+debug_frame');
    const id = buildIdOf(full);
    for (const mode of ['zlib', 'zlib-gnu', 'zstd']) {
      const root = tmp();
      const dbg = join(root, 'usr/lib/debug/.build-id', id.slice(0, 2), `${id.slice(2)}.debug`);
      mkdirSync(dirname(dbg), { recursive: true });
      const made = spawnSync('objcopy', ['--only-keep-debug', `--compress-debug-sections=${mode}`, full, dbg]);
      if (made.status !== 0) {
        assert.equal(mode, 'zstd', `objcopy could not make ${mode}: ${made.stderr}`);
        continue; // older binutils without zstd
      }
      const secs =
        execFileSync('readelf', ['-SW', dbg])
          .toString()
          .split('\n')
          .find((l) => /debug_frame/.test(l)) ?? '';
      assert.ok(mode === 'zlib-gnu' ? /\.zdebug_frame/.test(secs) : /\.debug_frame\s.*\sC\s/.test(secs), `${mode}: the section is compressed: ${secs}`);
      mkdirSync(join(root, 'bin'), { recursive: true });
      execFileSync('objcopy', ['--strip-debug', full, join(root, 'bin/p')]);
      const t = generateTable('/bin/p', { root });
      if (mode === 'zstd') {
        assert.equal(t.reasons['compressed-zstd-unsupported'], 1, JSON.stringify(t.reasons));
        assert.equal(t.source, 'eh_frame', 'the .eh_frame rows are still there');
      } else {
        assert.equal(t.source, 'eh_frame+debug_frame', `${mode}: ${JSON.stringify(t.reasons)}`);
        assert.deepEqual(Buffer.from(t.rows), Buffer.from(plain.rows), mode);
      }
    }
  });
});

describe('unwind table disk cache', () => {
  it('a second UnwindTables answers from the disk cache with the same rows', { skip: NO_LIBS }, async () => {
    const cacheDir = join(tmp(), 'cache');
    const u1 = new UnwindTables({ cacheDir });
    const a = await u1.get(LIBC!);
    u1.close();
    assert.equal(readdirSync(cacheDir).filter((n) => n.endsWith('.uwt')).length, 1);
    const u2 = new UnwindTables({ cacheDir });
    try {
      const b = await u2.get(LIBC!);
      assert.equal(b.cached, true);
      assert.equal(u2.stats.generated, 0);
      assert.equal(u2.stats.diskHits, 1);
      assert.deepEqual(Buffer.from(b.rows), Buffer.from(a.rows));
      assert.equal(b.buildId, a.buildId);
      assert.deepEqual(b.reasons, a.reasons);
    } finally {
      u2.close();
    }
  });

  it('a corrupt or truncated cache file is ignored, removed and regenerated', { skip: NO_LIBS }, async () => {
    const cacheDir = join(tmp(), 'cache');
    const u1 = new UnwindTables({ cacheDir });
    const good = await u1.get(LDSO!);
    u1.close();
    const name = readdirSync(cacheDir).find((n) => n.endsWith('.uwt'))!;
    const file = join(cacheDir, name);
    const bytes = readFileSync(file);
    const damaged: Array<[string, Buffer]> = [
      ['flipped row byte', Buffer.from(bytes.map((x, i) => (i === bytes.length - 7 ? x ^ 0x40 : x)))],
      ['truncated', bytes.subarray(0, bytes.length - 5)],
      ['empty', Buffer.alloc(0)],
      ['bad magic', Buffer.concat([Buffer.from('XXXX'), bytes.subarray(4)])],
    ];
    for (const [what, data] of damaged) {
      writeFileSync(file, data);
      assert.equal(decodeCacheFile(data).table, undefined, what);
      const u = new UnwindTables({ cacheDir });
      try {
        const t = await u.get(LDSO!);
        assert.equal(t.cached, undefined, `${what}: not served from the damaged file`);
        assert.deepEqual(Buffer.from(t.rows), Buffer.from(good.rows), what);
        assert.equal(u.diskStats!.corrupt, 1, what);
      } finally {
        u.close();
      }
      assert.deepEqual(readFileSync(file), bytes, `${what}: rewritten with the good table`);
    }
  });

  it('stays within its byte bound, evicting the least recently used table', async () => {
    const dir = join(tmp(), 'lru');
    const mk = (n: number, fill: number) => {
      const rows = new Uint8Array(n * ROW_SIZE).fill(fill);
      return { rows, count: n, source: 'eh_frame', reasons: {} };
    };
    const one = encodeCacheFile(mk(1000, 1)).length;
    const c = new DiskCache(dir, Math.floor(one * 3.5));
    await c.put('b-aa', mk(1000, 1));
    await c.put('b-bb', mk(1000, 2));
    await c.put('b-cc', mk(1000, 3));
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(await c.get('b-aa'), 'aa is read: now the most recently used');
    await c.put('b-dd', mk(1000, 4));
    const names = readdirSync(dir).sort();
    assert.deepEqual(
      names,
      ['b-aa', 'b-cc', 'b-dd'].map((k) => DiskCache.fileName(k)),
      'bb (least recently used) was evicted',
    );
    assert.ok((await c.size()) <= Math.floor(one * 3.5));
    assert.equal(c.stats.evictions, 1);
    const total = names.reduce((s, n) => s + statSync(join(dir, n)).size, 0);
    assert.ok(total <= Math.floor(one * 3.5), `${total} bytes on disk`);
    // a new process sees the files already there and keeps the bound
    const c2 = new DiskCache(dir, Math.floor(one * 2.5));
    await c2.put('b-ee', mk(1000, 5));
    assert.equal(readdirSync(dir).length, 2);
    assert.ok(existsSync(join(dir, DiskCache.fileName('b-ee'))));
    // a table larger than the whole bound is not stored
    await c2.put('b-ff', mk(10000, 6));
    assert.ok(!existsSync(join(dir, DiskCache.fileName('b-ff'))));
  });

  it('default directory: BPFSCOPE_DATA_DIR, else ~/.cache/bpfscope for the CLI', () => {
    assert.equal(defaultCacheDir({ env: { BPFSCOPE_DATA_DIR: '/srv/bpfscope' } }), '/srv/bpfscope/unwind-cache');
    assert.equal(defaultCacheDir({ env: { HOME: '/h', XDG_CACHE_HOME: '/x' } }), '/x/bpfscope/unwind');
    assert.match(defaultCacheDir({ env: {} }), /\/\.cache\/bpfscope\/unwind$/);
    assert.match(defaultCacheDir({ env: {}, service: true }), /\/data\/unwind-cache$/);
  });
});
